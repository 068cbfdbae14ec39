//! Whose data a request may touch.

use super::api_key_secret::KeyMode;
use super::ids::TeamId;

/// The data a key may touch: one team, one mode (live and test data are separate).
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Team.
    pub team: TeamId,
    /// `live` or `test`.
    pub mode: KeyMode,
}
