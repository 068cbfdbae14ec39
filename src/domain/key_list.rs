//! What a list of keys is asked for: search, filters and order, as typed (query parameters,
//! kept to redraw the form and build links) and parsed. The dashboard's keys page and
//! `GET /v1/api-keys` read the same parameters.

use super::api_key_secret::{ApiKeySecret, KeyMode};
use super::ids::{ApiKeyId, UserId};

/// Longest search text accepted.
pub const SEARCH_MAX: usize = 100;

/// Keys per page of the dashboard's list.
pub const PAGE_SIZE: i64 = 50;

/// The choice whose parameter value is `v`, of a list of (choice, value, label).
fn choose<T: Copy>(all: &[(T, &'static str, &'static str)], v: &str) -> Option<T> {
    all.iter().find(|(_, s, _)| *s == v).map(|(k, _, _)| *k)
}

/// The order of a list. Every order ends with the key id, so keys created in the same second
/// keep their places from one page to the next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeySort {
    /// Newest first (the default).
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
    /// By name, A to Z, ignoring case.
    Name,
    /// Most recently used first; never-used keys last.
    LastUsed,
    /// Expiring soonest first; keys without expiry last.
    Expires,
}

impl KeySort {
    /// Every order with its parameter value and label, as the form offers them.
    pub const ALL: [(KeySort, &'static str, &'static str); 5] = [
        (KeySort::Newest, "newest", "Newest first"),
        (KeySort::Oldest, "oldest", "Oldest first"),
        (KeySort::Name, "name", "Name (A–Z)"),
        (KeySort::LastUsed, "last-used", "Recently used"),
        (KeySort::Expires, "expires", "Expiring soonest"),
    ];

    fn parse(v: &str) -> Option<Self> {
        choose(&Self::ALL, v)
    }
}

/// A status to filter by (the badge's slug).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    /// Works and expires later than a week from now, or never.
    Active,
    /// Works and expires within a week.
    Expiring,
    /// Past its expiry.
    Expired,
    /// Replaced by a rotation, in its grace period.
    Retiring,
    /// Revoked by a leak report (shown for 30 days).
    Leaked,
}

impl StatusFilter {
    /// Every status with its parameter value and label.
    pub const ALL: [(StatusFilter, &'static str, &'static str); 5] = [
        (StatusFilter::Active, "active", "Active"),
        (StatusFilter::Expiring, "expiring", "Expiring soon"),
        (StatusFilter::Expired, "expired", "Expired"),
        (StatusFilter::Retiring, "retiring", "Retiring"),
        (StatusFilter::Leaked, "leaked", "Reported leaked"),
    ];

    fn parse(v: &str) -> Option<Self> {
        choose(&Self::ALL, v)
    }
}

/// A hygiene filter (see `key_hygiene`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HintFilter {
    /// Any hint that needs attention.
    Attention,
    /// Older than 90 days.
    Old,
    /// Unused for 30 days.
    Unused,
    /// Never expires.
    NoExpiry,
    /// Has the `admin` scope.
    Admin,
}

impl HintFilter {
    /// Every hygiene filter with its parameter value and label.
    pub const ALL: [(HintFilter, &'static str, &'static str); 5] = [
        (HintFilter::Attention, "attention", "Needs attention"),
        (HintFilter::Old, "old", "Older than 90 days"),
        (HintFilter::Unused, "unused", "Unused for 30 days"),
        (HintFilter::NoExpiry, "no-expiry", "No expiry"),
        (HintFilter::Admin, "admin", "Full access (admin)"),
    ];

    fn parse(v: &str) -> Option<Self> {
        choose(&Self::ALL, v)
    }
}

/// Who made the keys to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreatorFilter {
    /// This person.
    User(UserId),
    /// Made through the API (by another key).
    Api,
}

/// What the search text matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Search {
    /// Part of the name (any case), the environment label, or the first or last four
    /// characters of the key's body.
    Text {
        /// As typed (the four-character parts are case-sensitive).
        raw: String,
        /// Lower case, for the name and label.
        lower: String,
    },
    /// The start of a key as it is shown: `sk_live_prod_AbCd`.
    Prefix(String),
    /// A masked key as it is shown, `sk_live_AbCd…wxYz`: its start and its last four.
    Masked {
        /// `sk_live_AbCd`.
        start: String,
        /// `wxYz`.
        tail: String,
    },
}

impl Search {
    fn parse(q: &str) -> Self {
        for dots in ["…", "..."] {
            if let Some((start, tail)) = q.split_once(dots)
                && start.starts_with("sk_")
            {
                return Search::Masked {
                    start: start.to_owned(),
                    tail: tail.to_owned(),
                };
            }
        }
        if q.starts_with("sk_") {
            return Search::Prefix(q.to_owned());
        }
        Search::Text {
            raw: q.to_owned(),
            lower: q.to_lowercase(),
        }
    }
}

/// A parsed list query.
#[derive(Clone, Debug, Default)]
pub struct KeyFilter {
    /// Search text.
    pub search: Option<Search>,
    /// Mode.
    pub mode: Option<KeyMode>,
    /// Status.
    pub status: Option<StatusFilter>,
    /// Hygiene.
    pub hint: Option<HintFilter>,
    /// Creator.
    pub creator: Option<CreatorFilter>,
    /// Order.
    pub sort: KeySort,
    /// Continue after this key (keyset pagination).
    pub after: Option<ApiKeyId>,
    /// A retiring key is listed beneath its successor rather than on its own (the dashboard's
    /// unfiltered list; a search or filter lists every matching key on its own).
    pub grouped: bool,
}

/// A field that did not parse, with the message for it.
pub type FieldError = (&'static str, &'static str);

/// The query as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyListInput {
    /// `q`: search text.
    pub q: String,
    /// `mode`: live / test.
    pub mode: String,
    /// `status`: a status slug.
    pub status: String,
    /// `hint`: a hygiene filter.
    pub hint: String,
    /// `creator`: a user id, or `api`.
    pub creator: String,
    /// `sort`: an order.
    pub sort: String,
    /// `after`: the last key id of the previous page.
    pub after: String,
}

impl KeyListInput {
    /// The filter parameters (without `after`), in the order links carry them.
    pub const FIELDS: [&'static str; 6] = ["q", "mode", "status", "hint", "creator", "sort"];

    /// Reads the query from parameters (`get` gives a parameter's value), trimmed.
    pub fn read<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        let field = |k: &str| get(k).map(str::trim).unwrap_or_default().to_owned();
        Self {
            q: field("q"),
            mode: field("mode"),
            status: field("status"),
            hint: field("hint"),
            creator: field("creator"),
            sort: field("sort"),
            after: field("after"),
        }
    }

    /// The non-empty filter parameters (not `after`), in a fixed order; `sort` only when it is
    /// not the default.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let values = [
            &self.q,
            &self.mode,
            &self.status,
            &self.hint,
            &self.creator,
            &self.sort,
        ];
        Self::FIELDS
            .into_iter()
            .zip(values.map(String::as_str))
            .filter(|(k, v)| !(v.is_empty() || (*k == "sort" && *v == "newest")))
            .collect()
    }

    /// Any filter or search is set (the order alone does not count).
    pub fn is_filtered(&self) -> bool {
        self.pairs().iter().any(|(k, _)| *k != "sort")
    }

    /// A whole secret key typed into the search: it is not searched for, echoed or kept in a
    /// link (it would end up in browser history and logs).
    pub fn holds_secret(&self) -> bool {
        ApiKeySecret::parse(&self.q).is_ok()
    }

    /// Parses every field; all the wrong ones are reported, each with its message.
    pub fn parse(&self) -> Result<KeyFilter, Vec<FieldError>> {
        let mut errors = vec![];
        let search = if self.q.is_empty() {
            None
        } else if self.holds_secret() {
            errors.push((
                "q",
                "That is a whole secret key. Search by the key's name or its last four \
                 characters instead.",
            ));
            None
        } else if self.q.chars().count() > SEARCH_MAX {
            errors.push(("q", "Search with at most 100 characters."));
            None
        } else {
            Some(Search::parse(&self.q))
        };
        let mut pick =
            |raw: &str, field: &'static str, msg: &'static str, parse: &dyn Fn(&str) -> bool| {
                if !raw.is_empty() && !parse(raw) {
                    errors.push((field, msg));
                }
            };
        pick(&self.mode, "mode", "Choose live or test.", &|v| {
            KeyMode::parse(v).is_some()
        });
        pick(
            &self.status,
            "status",
            "Choose a status from the list.",
            &|v| StatusFilter::parse(v).is_some(),
        );
        pick(
            &self.hint,
            "hint",
            "Choose a hygiene filter from the list.",
            &|v| HintFilter::parse(v).is_some(),
        );
        pick(
            &self.creator,
            "creator",
            "Choose a person from the list.",
            &|v| v == "api" || UserId::parse(v).is_some(),
        );
        pick(&self.sort, "sort", "Choose an order from the list.", &|v| {
            KeySort::parse(v).is_some()
        });
        pick(&self.after, "after", "No such key in this list.", &|v| {
            ApiKeyId::parse(v).is_some()
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(KeyFilter {
            mode: KeyMode::parse(&self.mode),
            status: StatusFilter::parse(&self.status),
            hint: HintFilter::parse(&self.hint),
            creator: match self.creator.as_str() {
                "" => None,
                "api" => Some(CreatorFilter::Api),
                id => UserId::parse(id).map(CreatorFilter::User),
            },
            sort: KeySort::parse(&self.sort).unwrap_or_default(),
            after: ApiKeyId::parse(&self.after),
            grouped: search.is_none()
                && self.status.is_empty()
                && self.hint.is_empty()
                && self.creator.is_empty(),
            search,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, &str)]) -> KeyListInput {
        KeyListInput::read(|k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v))
    }

    #[test]
    fn an_empty_query_is_everything_newest_first() {
        let f = input(&[]).parse().expect("parses");
        assert!(f.search.is_none() && f.status.is_none() && f.hint.is_none());
        assert_eq!(f.sort, KeySort::Newest);
        assert!(f.grouped);
        assert!(!input(&[("q", "x")]).parse().expect("parses").grouped);
    }

    #[test]
    fn search_text_reads_masked_keys_prefixes_and_plain_words() {
        let s = |q: &str| input(&[("q", q)]).parse().expect("parses").search;
        assert_eq!(
            s("sk_live_prod_AbCd…wxYz"),
            Some(Search::Masked {
                start: "sk_live_prod_AbCd".into(),
                tail: "wxYz".into()
            })
        );
        assert_eq!(
            s("sk_test_Ab...wx"),
            Some(Search::Masked {
                start: "sk_test_Ab".into(),
                tail: "wx".into()
            })
        );
        assert_eq!(s("sk_live_"), Some(Search::Prefix("sk_live_".into())));
        assert_eq!(
            s("  Billing "),
            Some(Search::Text {
                raw: "Billing".into(),
                lower: "billing".into()
            })
        );
    }

    #[test]
    fn a_whole_secret_is_refused_and_never_searched_for() {
        let secret = ApiKeySecret::generate(KeyMode::Live, None);
        let i = input(&[("q", secret.expose())]);
        assert!(i.holds_secret());
        let errors = i.parse().expect_err("refused");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "q");
    }

    #[test]
    fn every_wrong_field_is_reported() {
        let errors = input(&[
            ("mode", "prod"),
            ("status", "gone"),
            ("hint", "x"),
            ("creator", "bob"),
            ("sort", "random"),
            ("after", "1; drop table"),
            ("q", &"x".repeat(101)),
        ])
        .parse()
        .expect_err("refused");
        let fields: Vec<&str> = errors.iter().map(|e| e.0).collect();
        assert_eq!(
            fields,
            vec!["q", "mode", "status", "hint", "creator", "sort", "after"]
        );
    }

    #[test]
    fn links_carry_the_filters_but_not_the_default_order_or_the_cursor() {
        let i = input(&[
            ("q", "bill"),
            ("sort", "newest"),
            ("status", "active"),
            ("after", "key_x"),
        ]);
        assert_eq!(i.pairs(), vec![("q", "bill"), ("status", "active")]);
        assert!(i.is_filtered());
        assert!(!input(&[("sort", "name")]).is_filtered());
    }
}
