//! Where a credential goes on a request, and the headers a bot flow may not set.

/// How the credential is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: Basic base64(<username>:<password>)`.
    Basic,
    /// `<name>: <prefix><token>`.
    Header {
        /// The header's name.
        name: String,
        /// Text before the token (`Zoho-oauthtoken `), usually empty.
        prefix: String,
    },
    /// `?<name>=<token>`.
    Query {
        /// The parameter's name.
        name: String,
    },
}

impl Placement {
    /// The stored `auth_type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Placement::Bearer => "bearer",
            Placement::Basic => "basic",
            Placement::Header { .. } => "header",
            Placement::Query { .. } => "query",
        }
    }

    /// The header or parameter name, if the placement has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Placement::Header { name, .. } | Placement::Query { name } => Some(name),
            _ => None,
        }
    }

    /// The text before the token in a header placement.
    pub fn prefix(&self) -> &str {
        match self {
            Placement::Header { prefix, .. } => prefix,
            _ => "",
        }
    }

    /// From the stored columns (an unknown kind or a missing name falls back to bearer).
    pub fn from_storage(kind: &str, name: Option<&str>, prefix: &str) -> Placement {
        match (kind, name) {
            ("basic", _) => Placement::Basic,
            ("header", Some(n)) => Placement::Header {
                name: n.to_owned(),
                prefix: prefix.to_owned(),
            },
            ("query", Some(n)) => Placement::Query { name: n.to_owned() },
            _ => Placement::Bearer,
        }
    }

    /// From the custom form or API: `bearer`, `basic`, `header` + name, `query` + name. The
    /// error names the field at fault.
    pub fn parse(kind: &str, name: &str) -> Result<Placement, (&'static str, &'static str)> {
        let name = name.trim();
        let need_name = |valid: fn(&str) -> bool| {
            if name.is_empty() {
                Err(("credential_name", "Enter the header or parameter name."))
            } else if !valid(name) {
                Err((
                    "credential_name",
                    "Use letters, digits and - _ . only (at most 64).",
                ))
            } else {
                Ok(name.to_owned())
            }
        };
        match kind {
            "bearer" => Ok(Placement::Bearer),
            "basic" => Ok(Placement::Basic),
            "header" => {
                let name = need_name(valid_header_name)?;
                if is_reserved_header(&name) && !name.eq_ignore_ascii_case("authorization") {
                    return Err((
                        "credential_name",
                        "That header is set by HTTP itself; choose another.",
                    ));
                }
                Ok(Placement::Header {
                    name,
                    prefix: String::new(),
                })
            }
            "query" => Ok(Placement::Query {
                name: need_name(valid_header_name)?,
            }),
            _ => Err((
                "credential_placement",
                "Choose bearer, basic, header or query.",
            )),
        }
    }

    /// Words for the page: "Bearer token", "Header X-Shopify-Access-Token".
    pub fn describe(&self) -> String {
        match self {
            Placement::Bearer => "Authorization: Bearer".into(),
            Placement::Basic => "Basic auth".into(),
            Placement::Header { name, prefix } if !prefix.is_empty() => {
                format!("{name}: {}…", prefix)
            }
            Placement::Header { name, .. } => format!("Header {name}"),
            Placement::Query { name } => format!("Query parameter {name}"),
        }
    }
}

/// A header or parameter name: a token of letters, digits, `-`, `_`, `.`.
fn valid_header_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Headers a caller may not set on an integration request: the credential's own places and
/// the ones HTTP and the connection own.
pub fn is_reserved_header(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "authorization",
        "proxy-authorization",
        "cookie",
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-real-ip",
    ];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
}
