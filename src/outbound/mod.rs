//! The one guarded HTTP client for calls to the outside (DESIGN §9): integration requests,
//! "Test connection" and webhook deliveries all go through [`Outbound::send`].
//!
//! The guard: `https` only (plain `http` only to allowlisted addresses); IP-literal hosts are
//! checked before anything is sent (the URL parser has already turned `2130706433` and `0x7f.1`
//! into `127.0.0.1`); names are resolved by our own resolver, which hands the connector only
//! the addresses the policy admits, so a name that resolves to 127.0.0.1 (or changes its answer
//! between a check and the connect) never reaches a private address; no redirects; no proxy;
//! connect and total timeouts; response bodies read only up to a cap.

pub mod policy;
pub mod single_flight;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

pub use policy::{Policy, Scheme};

/// Timeouts and fixed names of the client.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The targets it may reach.
    pub policy: Policy,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for the whole exchange, body included.
    pub total_timeout: Duration,
    /// Names answered without DNS (still vetted like any answer): tests use it for "a name
    /// that resolves to 127.0.0.1".
    pub fixed_names: HashMap<String, Vec<IpAddr>>,
}

impl Settings {
    /// The production timeouts (connect 5 s, total 15 s) for `policy`.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(15),
            fixed_names: HashMap::new(),
        }
    }
}

/// The guarded client (cheap to clone).
#[derive(Clone)]
pub struct Outbound {
    https: reqwest::Client,
    http: reqwest::Client,
    policy: Arc<Policy>,
    fixed: Arc<HashMap<String, Vec<IpAddr>>>,
    timeout_secs: u64,
}

/// A request to send.
#[derive(Debug)]
pub struct Request {
    /// Method.
    pub method: reqwest::Method,
    /// Absolute URL.
    pub url: Url,
    /// Headers (the caller has already dropped what it must not pass on).
    pub headers: reqwest::header::HeaderMap,
    /// Body bytes (empty for none).
    pub body: Vec<u8>,
    /// Read at most this many bytes of the response body.
    pub response_cap: usize,
}

/// What came back.
#[derive(Debug)]
pub struct Response {
    /// Status code (a redirect is returned as it is, never followed).
    pub status: u16,
    /// Response headers, hop-by-hop ones removed, in order.
    pub headers: Vec<(String, String)>,
    /// The body, at most the request's cap.
    pub body: Vec<u8>,
    /// Whether the body was longer than the cap (and cut).
    pub truncated: bool,
    /// From sending to the end of the body.
    pub elapsed: Duration,
}

/// Why a request was not made or did not complete. The messages are safe to show users.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OutboundError {
    /// Not `https` (or `http` to an allowlisted address), or credentials in the URL.
    #[error("only https:// URLs are allowed (http:// only to addresses the operator allowlisted)")]
    Scheme,
    /// The host is, or resolves only to, addresses the policy refuses.
    #[error(
        "{0} is a private, loopback or reserved address; Latchkey only calls public addresses \
         unless the operator allowlists the range (LATCHKEY_OUTBOUND_ALLOW_CIDRS)"
    )]
    Blocked(String),
    /// The name does not resolve.
    #[error("{0} does not resolve")]
    Unresolved(String),
    /// No connection could be made.
    #[error("could not connect to {0}")]
    Connect(String),
    /// The peer did not answer in time.
    #[error("the peer did not answer within {0} seconds")]
    Timeout(u64),
    /// The exchange failed after connecting.
    #[error("the peer's answer was not valid HTTP")]
    Protocol,
}

/// The resolver's refusal, found again in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
enum ResolveError {
    #[error("blocked address")]
    Blocked(String),
    #[error("does not resolve")]
    Unresolved(String),
}

/// Resolves names, then keeps only the addresses the policy admits for its scheme.
struct VettingResolver {
    policy: Arc<Policy>,
    scheme: Scheme,
    fixed: Arc<HashMap<String, Vec<IpAddr>>>,
}

impl Resolve for VettingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let scheme = self.scheme;
        let fixed = self.fixed.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = lookup(&fixed, &host).await;
            if found.is_empty() {
                return Err(ResolveError::Unresolved(host).into());
            }
            let vetted: Vec<SocketAddr> = found
                .into_iter()
                .filter(|ip| policy.admits(scheme, *ip))
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if vetted.is_empty() {
                return Err(ResolveError::Blocked(host).into());
            }
            let addrs: Addrs = Box::new(vetted.into_iter());
            Ok(addrs)
        })
    }
}

/// The addresses `host` resolves to (none when it does not resolve within 5 s).
async fn lookup(fixed: &HashMap<String, Vec<IpAddr>>, host: &str) -> Vec<IpAddr> {
    if let Some(ips) = fixed.get(host.trim_end_matches('.')) {
        return ips.clone();
    }
    let query = tokio::net::lookup_host((host, 0));
    match tokio::time::timeout(Duration::from_secs(5), query).await {
        Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
        _ => Vec::new(),
    }
}

/// Headers that describe one connection, not the message: never passed on either way.
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

impl Outbound {
    /// Builds the client.
    pub fn new(settings: Settings) -> Result<Self, String> {
        let policy = Arc::new(settings.policy);
        let fixed = Arc::new(settings.fixed_names);
        let names = fixed.clone();
        let build = |scheme| {
            reqwest::Client::builder()
                .dns_resolver(Arc::new(VettingResolver {
                    policy: policy.clone(),
                    scheme,
                    fixed: fixed.clone(),
                }))
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .connect_timeout(settings.connect_timeout)
                .timeout(settings.total_timeout)
                .user_agent(concat!("Latchkey/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("cannot build the outbound HTTP client: {e}"))
        };
        Ok(Self {
            https: build(Scheme::Https)?,
            http: build(Scheme::Http)?,
            policy,
            fixed: names,
            timeout_secs: settings.total_timeout.as_secs(),
        })
    }

    /// Whether `url` is a target Latchkey may call, checked when it is saved: [`check_url`]
    /// and, for a name, every address it resolves to now (a name that does not resolve yet is
    /// accepted over `https`; sending re-checks everything).
    ///
    /// [`check_url`]: Self::check_url
    pub async fn vet(&self, url: &Url) -> Result<(), OutboundError> {
        let scheme = self.check_url(url)?;
        let Some(Host::Domain(name)) = url.host() else {
            return Ok(());
        };
        let found = lookup(&self.fixed, name).await;
        if found.is_empty() {
            return match scheme {
                Scheme::Https => Ok(()),
                Scheme::Http => Err(OutboundError::Unresolved(name.to_owned())),
            };
        }
        for ip in found {
            self.refusal(scheme, ip, name)?;
        }
        Ok(())
    }

    /// Why `ip` (of `host`) may not be called over `scheme`: plain http to a public address is
    /// a scheme problem; anything else refused is a blocked address.
    fn refusal(&self, scheme: Scheme, ip: IpAddr, host: &str) -> Result<(), OutboundError> {
        if self.policy.admits(scheme, ip) {
            Ok(())
        } else if scheme == Scheme::Http && policy::is_public(ip) {
            Err(OutboundError::Scheme)
        } else {
            Err(OutboundError::Blocked(host.to_owned()))
        }
    }

    /// Whether `url` may be called at all, before any DNS: scheme, no credentials, and an
    /// IP-literal host checked against the policy. Names are vetted again at connect time.
    pub fn check_url(&self, url: &Url) -> Result<Scheme, OutboundError> {
        let scheme = match url.scheme() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            _ => return Err(OutboundError::Scheme),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OutboundError::Scheme);
        }
        let literal = match url.host() {
            Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(Host::Domain(_)) => None,
            None => return Err(OutboundError::Scheme),
        };
        if let Some(ip) = literal {
            self.refusal(scheme, ip, &ip.to_string())?;
        }
        Ok(scheme)
    }

    /// Sends `req` through the guard and reads the answer up to the request's cap.
    pub async fn send(&self, req: Request) -> Result<Response, OutboundError> {
        let scheme = self.check_url(&req.url)?;
        let host = req.url.host_str().unwrap_or_default().to_owned();
        let client = match scheme {
            Scheme::Https => &self.https,
            Scheme::Http => &self.http,
        };
        let started = Instant::now();
        let mut builder = client.request(req.method, req.url).headers(req.headers);
        if !req.body.is_empty() {
            builder = builder.body(req.body);
        }
        let mut resp = builder.send().await.map_err(|e| self.classify(&e, &host))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.classify(&e, &host))? {
            let room = req.response_cap.saturating_sub(body.len());
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
            truncated,
            elapsed: started.elapsed(),
        })
    }

    /// Maps reqwest's error to ours, finding the resolver's refusal in the cause chain.
    fn classify(&self, e: &reqwest::Error, host: &str) -> OutboundError {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = source {
            if let Some(r) = err.downcast_ref::<ResolveError>() {
                return match r {
                    ResolveError::Blocked(h) => OutboundError::Blocked(h.clone()),
                    ResolveError::Unresolved(h) => OutboundError::Unresolved(h.clone()),
                };
            }
            source = err.source();
        }
        if e.is_timeout() {
            OutboundError::Timeout(self.timeout_secs)
        } else if e.is_connect() {
            OutboundError::Connect(host.to_owned())
        } else {
            OutboundError::Protocol
        }
    }
}
