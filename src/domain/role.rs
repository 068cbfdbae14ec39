//! Team roles and what each may do.

/// A member's role in a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Everything, including transferring ownership.
    Owner,
    /// Members (except owners), keys, settings.
    Admin,
    /// Creates keys without `admin` scope; rotates, edits and deletes the keys they created;
    /// reads everything else.
    Developer,
    /// Read-only.
    Viewer,
}

impl Role {
    /// The stored / displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Developer => "developer",
            Self::Viewer => "viewer",
        }
    }

    /// Parses a stored role name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "owner" => Self::Owner,
            "admin" => Self::Admin,
            "developer" => Self::Developer,
            "viewer" => Self::Viewer,
            _ => return None,
        })
    }

    /// Every role, most powerful first (the order of role pickers).
    pub const ALL: [Role; 4] = [Self::Owner, Self::Admin, Self::Developer, Self::Viewer];

    /// One line for role pickers and the permission table.
    pub fn description(self) -> &'static str {
        match self {
            Self::Owner => "Everything, including transferring ownership.",
            Self::Admin => "Members (except owners), all keys and settings.",
            Self::Developer => {
                "Creates keys without admin scope and manages the keys they created."
            }
            Self::Viewer => "Read-only: sees masked keys, members and settings.",
        }
    }

    /// May create, edit, rotate and delete every key of the team.
    pub fn can_manage_keys(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }

    /// May create keys at all (developers: without `admin` scope).
    pub fn can_create_keys(self) -> bool {
        matches!(self, Self::Owner | Self::Admin | Self::Developer)
    }

    /// May give a key the `admin` scope.
    pub fn can_grant_admin_scope(self) -> bool {
        self.can_manage_keys()
    }

    /// May edit, rotate or delete a key; `own` = the user created it.
    pub fn can_manage_key(self, own: bool) -> bool {
        self.can_manage_keys() || (self == Self::Developer && own)
    }

    /// May change the team's settings.
    pub fn can_edit_settings(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }

    /// May invite members and change or remove members holding `other`.
    pub fn can_manage_member(self, other: Role) -> bool {
        match self {
            Self::Owner => true,
            Self::Admin => other != Self::Owner,
            Self::Developer | Self::Viewer => false,
        }
    }

    /// May give someone the role `role` by invitation or role change (ownership moves only by
    /// transfer).
    pub fn can_assign(self, role: Role) -> bool {
        role != Self::Owner && self.can_manage_member(role)
    }

    /// May transfer ownership or delete the team.
    pub fn is_owner(self) -> bool {
        self == Self::Owner
    }
}

/// A member's role in an agency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgencyRole {
    /// Everything: brand, host names, operators, deleting clients.
    Owner,
    /// Manages every client (acting as admin inside each), creates and suspends clients.
    Operator,
}

impl AgencyRole {
    /// The stored / displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Operator => "operator",
        }
    }

    /// Parses a stored role name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Self::Owner),
            "operator" => Some(Self::Operator),
            _ => None,
        }
    }
}
