//! Team roles and what each may do.

/// A member's role in a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Everything, including deleting the team.
    Owner,
    /// Members (except owners), keys, settings.
    Admin,
    /// Reads everything; key management arrives with the members issue.
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

    /// May create, edit, rotate and delete the team's keys.
    pub fn can_manage_keys(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }
}
