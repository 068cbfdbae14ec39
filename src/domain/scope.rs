//! The API scopes of seed 004, with their exact wire names. `X:write` implies `X:read`;
//! `admin` implies everything.

use std::fmt;

/// One permission a key can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// View bots.
    BotsRead,
    /// Create/update bots.
    BotsWrite,
    /// View integrations.
    IntegrationsRead,
    /// Create/update integrations.
    IntegrationsWrite,
    /// View channels.
    ChannelsRead,
    /// Create/update channels.
    ChannelsWrite,
    /// View conversations.
    ConversationsRead,
    /// Delete conversations.
    ConversationsWrite,
    /// View agent loops.
    AgentLoopsRead,
    /// Create/run agent loops.
    AgentLoopsWrite,
    /// Full access to everything.
    Admin,
}

impl Scope {
    /// Every scope, in the order of the seed's table.
    pub const ALL: [Scope; 11] = [
        Self::BotsRead,
        Self::BotsWrite,
        Self::IntegrationsRead,
        Self::IntegrationsWrite,
        Self::ChannelsRead,
        Self::ChannelsWrite,
        Self::ConversationsRead,
        Self::ConversationsWrite,
        Self::AgentLoopsRead,
        Self::AgentLoopsWrite,
        Self::Admin,
    ];

    /// The wire name, e.g. `bots:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BotsRead => "bots:read",
            Self::BotsWrite => "bots:write",
            Self::IntegrationsRead => "integrations:read",
            Self::IntegrationsWrite => "integrations:write",
            Self::ChannelsRead => "channels:read",
            Self::ChannelsWrite => "channels:write",
            Self::ConversationsRead => "conversations:read",
            Self::ConversationsWrite => "conversations:write",
            Self::AgentLoopsRead => "agent-loops:read",
            Self::AgentLoopsWrite => "agent-loops:write",
            Self::Admin => "admin",
        }
    }

    /// The seed's one-line description.
    pub fn description(self) -> &'static str {
        match self {
            Self::BotsRead => "View bots",
            Self::BotsWrite => "Create/update bots",
            Self::IntegrationsRead => "View integrations",
            Self::IntegrationsWrite => "Create/update integrations",
            Self::ChannelsRead => "View channels",
            Self::ChannelsWrite => "Create/update channels",
            Self::ConversationsRead => "View conversations",
            Self::ConversationsWrite => "Delete conversations",
            Self::AgentLoopsRead => "View agent loops",
            Self::AgentLoopsWrite => "Create/run agent loops",
            Self::Admin => "Full access to everything",
        }
    }

    /// Parses a wire name exactly (case-sensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// The read scope a write scope implies.
    fn implied_read(self) -> Option<Scope> {
        match self {
            Self::BotsWrite => Some(Self::BotsRead),
            Self::IntegrationsWrite => Some(Self::IntegrationsRead),
            Self::ChannelsWrite => Some(Self::ChannelsRead),
            Self::ConversationsWrite => Some(Self::ConversationsRead),
            Self::AgentLoopsWrite => Some(Self::AgentLoopsRead),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of granted scopes (as chosen; implications are applied when checking).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, diesel::FromSqlRow)]
pub struct ScopeSet(u16);

impl ScopeSet {
    /// Every scope: the default for a new key.
    pub fn all() -> Self {
        Self::ALL_BITS
    }

    const ALL_BITS: ScopeSet = ScopeSet((1 << 11) - 1);

    /// No scope.
    pub fn empty() -> Self {
        Self(0)
    }

    /// Adds a scope.
    pub fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }

    /// Removes a scope.
    pub fn remove(&mut self, scope: Scope) {
        self.0 &= !scope.bit();
    }

    /// True when `scope` was chosen explicitly.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// True when no scope is chosen.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether a key with these scopes may use something that requires `required`.
    pub fn grants(self, required: Scope) -> bool {
        self.contains(Scope::Admin)
            || self.contains(required)
            || Scope::ALL
                .into_iter()
                .any(|s| self.contains(s) && s.implied_read() == Some(required))
    }

    /// The chosen scopes in table order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// Number of chosen scopes.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Space-separated wire names, as stored.
    pub fn to_storage(self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }

    /// Reads the stored form; unknown names (from a newer version) are ignored, never granted.
    pub fn from_storage(s: &str) -> Self {
        let mut set = Self::empty();
        for scope in s.split_whitespace().filter_map(Scope::parse) {
            set.insert(scope);
        }
        set
    }

    /// A short human summary for tables: "All scopes", "Full access (admin)", "3 scopes".
    pub fn summary(self) -> String {
        if self == Self::all() {
            "All scopes".to_owned()
        } else if self.contains(Scope::Admin) {
            "Full access (admin)".to_owned()
        } else if self.len() == 1 {
            "1 scope".to_owned()
        } else {
            format!("{} scopes", self.len())
        }
    }
}

/// A resource row of the scope picker: label, read scope, write scope.
pub struct ScopeGroup {
    /// "Bots", "Agent loops"…
    pub label: &'static str,
    /// The `:read` scope.
    pub read: Scope,
    /// The `:write` scope.
    pub write: Scope,
}

/// The picker's rows, in seed order; `admin` is shown apart.
pub const SCOPE_GROUPS: [ScopeGroup; 5] = [
    ScopeGroup {
        label: "Bots",
        read: Scope::BotsRead,
        write: Scope::BotsWrite,
    },
    ScopeGroup {
        label: "Integrations",
        read: Scope::IntegrationsRead,
        write: Scope::IntegrationsWrite,
    },
    ScopeGroup {
        label: "Channels",
        read: Scope::ChannelsRead,
        write: Scope::ChannelsWrite,
    },
    ScopeGroup {
        label: "Conversations",
        read: Scope::ConversationsRead,
        write: Scope::ConversationsWrite,
    },
    ScopeGroup {
        label: "Agent loops",
        read: Scope::AgentLoopsRead,
        write: Scope::AgentLoopsWrite,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(Scope::parse("Bots:read"), None);
        assert_eq!(Scope::parse("bots:delete"), None);
    }

    #[test]
    fn write_implies_read_and_admin_implies_everything() {
        let mut set = ScopeSet::empty();
        set.insert(Scope::BotsWrite);
        assert!(set.grants(Scope::BotsRead));
        assert!(set.grants(Scope::BotsWrite));
        assert!(!set.grants(Scope::ChannelsRead));
        let mut admin = ScopeSet::empty();
        admin.insert(Scope::Admin);
        assert!(Scope::ALL.into_iter().all(|s| admin.grants(s)));
    }

    #[test]
    fn storage_round_trips_in_table_order() {
        let set = ScopeSet::from_storage("conversations:read bots:read nonsense");
        assert_eq!(set.to_storage(), "bots:read conversations:read");
        assert_eq!(ScopeSet::all().len(), 11);
    }
}
