//! The audit vocabulary: what can happen (typed actions with stable dotted names, shared by the
//! audit page, `/v1/audit-events`, the exports and the webhook event types), who did it, to
//! what, and how an event reads in plain words.

use std::fmt;

use serde_json::{Map, Value};

use super::ids::{AgencyId, ApiKeyId, TeamId, UserId};

/// Days a team keeps its audit events unless it chooses otherwise (the column default of the
/// `2026-12-02-000005_audit_log` migration says the same).
pub const DEFAULT_RETENTION_DAYS: i32 = 365;

/// The retention a team may choose, in days.
pub const RETENTION_DAYS: std::ops::RangeInclusive<i32> = 30..=3650;

/// Days agency-level events and account security events are kept.
pub const FIXED_RETENTION_DAYS: i64 = 365;

/// Whose log an action belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogOf {
    /// A team's (or agency client's) own log.
    Team,
    /// An agency's log: these events outlive a deleted client.
    Agency,
}

macro_rules! actions {
    ($($variant:ident = $name:literal, $label:literal, $log:ident;)*) => {
        /// Every change Latchkey records. The dotted name is a stable API: never rename one.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $(#[doc = $label] $variant,)*
        }

        impl AuditAction {
            /// Every action, in the order the filter lists them.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            /// The stable dotted name, e.g. `api_key.rotated`.
            pub fn as_str(self) -> &'static str {
                match self { $(AuditAction::$variant => $name,)* }
            }

            /// The name in a filter list, e.g. "Key rotated".
            pub fn label(self) -> &'static str {
                match self { $(AuditAction::$variant => $label,)* }
            }

            /// Whose log it goes to.
            pub fn log(self) -> LogOf {
                match self { $(AuditAction::$variant => LogOf::$log,)* }
            }

            /// The action with this dotted name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(AuditAction::$variant),)* _ => None }
            }
        }
    };
}

actions! {
    ApiKeyCreated = "api_key.created", "Key created", Team;
    ApiKeyUpdated = "api_key.updated", "Key updated", Team;
    ApiKeyRotated = "api_key.rotated", "Key rotated", Team;
    ApiKeyDeleted = "api_key.deleted", "Key deleted", Team;
    ApiKeyGraceEnded = "api_key.grace_ended", "Key grace period ended", Team;
    ApiKeyLeaked = "api_key.leaked", "Key reported leaked", Team;
    ApiKeyExpiring = "api_key.expiring", "Key expiring soon", Team;
    ApiKeyExpired = "api_key.expired", "Key expired", Team;
    ApiKeyNewAddress = "api_key.new_address", "Key used from a new address", Team;
    MemberInvited = "member.invited", "Member invited", Team;
    InvitationRevoked = "member.invitation_revoked", "Invitation revoked", Team;
    MemberJoined = "member.joined", "Member joined", Team;
    MemberRoleChanged = "member.role_changed", "Member role changed", Team;
    MemberRemoved = "member.removed", "Member removed", Team;
    MemberLeft = "member.left", "Member left", Team;
    TeamCreated = "team.created", "Team created", Team;
    TeamUpdated = "team.updated", "Team settings updated", Team;
    OwnershipTransferred = "team.ownership_transferred", "Ownership transferred", Team;
    TeamTwoFactorRequired = "team.two_factor_required", "Two-factor sign-in required of members", Team;
    TeamTwoFactorOptional = "team.two_factor_optional", "Two-factor sign-in no longer required", Team;
    BotCreated = "bot.created", "Bot created", Team;
    BotUpdated = "bot.updated", "Bot updated", Team;
    BotDeleted = "bot.deleted", "Bot deleted", Team;
    ChannelCreated = "channel.created", "Channel created", Team;
    ChannelUpdated = "channel.updated", "Channel updated", Team;
    ChannelDeleted = "channel.deleted", "Channel deleted", Team;
    IntegrationCreated = "integration.created", "Integration created", Team;
    IntegrationUpdated = "integration.updated", "Integration updated", Team;
    IntegrationDeleted = "integration.deleted", "Integration deleted", Team;
    IntegrationCredentialReplaced = "integration.credential_replaced", "Integration credential replaced", Team;
    IntegrationTested = "integration.tested", "Integration connection tested", Team;
    IntegrationTestFailed = "integration.test_failed", "Integration connection test failed", Team;
    IntegrationCredentialDiscarded = "integration.credential_discarded", "Integration credential discarded", Team;
    IntegrationConnected = "integration.connected", "Integration connected", Team;
    IntegrationDisconnected = "integration.disconnected", "Integration disconnected", Team;
    ConversationCreated = "conversation.created", "Conversation created", Team;
    ConversationDeleted = "conversation.deleted", "Conversation deleted", Team;
    AgentLoopCreated = "agent_loop.created", "Agent loop created", Team;
    AgentLoopRunQueued = "agent_loop.run_queued", "Agent loop run queued", Team;
    AgentLoopRunStarted = "agent_loop.run.started", "Agent loop run started", Team;
    AgentLoopRunFinished = "agent_loop.run.finished", "Agent loop run finished", Team;
    WebhookEndpointCreated = "webhook_endpoint.created", "Webhook endpoint added", Team;
    WebhookEndpointUpdated = "webhook_endpoint.updated", "Webhook endpoint updated", Team;
    WebhookEndpointDeleted = "webhook_endpoint.deleted", "Webhook endpoint deleted", Team;
    WebhookSecretRotated = "webhook_endpoint.secret_rotated", "Webhook signing secret rotated", Team;
    WebhookEndpointTested = "webhook_endpoint.tested", "Webhook test event sent", Team;
    WebhookEndpointDisabled = "webhook_endpoint.disabled", "Webhook endpoint disabled", Team;
    WebhookDeliveriesReplayed = "webhook_endpoint.replayed", "Webhook deliveries replayed", Team;
    AgencyCreated = "agency.created", "Agency created", Agency;
    ClientCreated = "client.created", "Client created", Agency;
    ClientSuspended = "client.suspended", "Client suspended", Agency;
    ClientResumed = "client.resumed", "Client resumed", Agency;
    ClientDeleted = "client.deleted", "Client deleted", Agency;
    BrandUpdated = "brand.updated", "Brand updated", Agency;
    OperatorInvited = "operator.invited", "Operator invited", Agency;
    OperatorJoined = "operator.joined", "Operator joined", Agency;
    OperatorRemoved = "operator.removed", "Operator removed", Agency;
    AgencyTwoFactorRequired = "agency.two_factor_required", "Two-factor sign-in required of operators", Agency;
    AgencyTwoFactorOptional = "agency.two_factor_optional", "Two-factor sign-in no longer required", Agency;
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who acted. Names are kept as they were, so an event reads right after the user or key is
/// gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// A signed-in member of the team (or of the agency, for agency-level events).
    User {
        /// The user.
        id: UserId,
        /// Their display name at the time.
        name: String,
    },
    /// An agency operator acting inside a client: "operator X of agency Y".
    Operator {
        /// The user.
        id: UserId,
        /// Their display name at the time.
        name: String,
        /// The agency they act for.
        agency: AgencyId,
    },
    /// An API key, through `/v1` (including a leak report, where holding the key is the
    /// authority).
    Key {
        /// The key.
        id: ApiKeyId,
        /// Its name at the time.
        name: String,
    },
    /// Latchkey itself (demo data, jobs).
    System,
}

impl Who {
    /// `user`, `operator`, `api_key` or `system` (the stored `actor_kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            Who::User { .. } => "user",
            Who::Operator { .. } => "operator",
            Who::Key { .. } => "api_key",
            Who::System => "system",
        }
    }

    /// The name shown for the actor.
    pub fn label(&self) -> &str {
        match self {
            Who::User { name, .. } | Who::Operator { name, .. } | Who::Key { name, .. } => name,
            Who::System => "Latchkey",
        }
    }

    /// The acting user, if a person acted.
    pub fn user(&self) -> Option<&UserId> {
        match self {
            Who::User { id, .. } | Who::Operator { id, .. } => Some(id),
            Who::Key { .. } | Who::System => None,
        }
    }
}

/// Who acts, from where and when: everything an event needs besides what happened.
#[derive(Clone, Debug)]
pub struct Actor {
    /// Who.
    pub who: Who,
    /// The client's address.
    pub ip: Option<String>,
    /// When (Unix seconds).
    pub at: i64,
}

/// Whose log an event is written to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A team's log.
    Team(TeamId),
    /// An agency's log.
    Agency(AgencyId),
}

impl Owner {
    /// The team's or agency's id.
    pub fn id(&self) -> &str {
        match self {
            Self::Team(t) => t.as_str(),
            Self::Agency(a) => a.as_str(),
        }
    }

    /// The payload field that names it: `team_id` or `agency_id`.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Team(_) => "team_id",
            Self::Agency(_) => "agency_id",
        }
    }
}

/// What an event is about: kind (`api_key`, `member`, `team`, `client`…), id and the name it
/// had.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// Object kind.
    pub kind: &'static str,
    /// Its id.
    pub id: String,
    /// Its name (or e-mail) at the time.
    pub label: String,
}

impl Target {
    /// A target of `kind` with `id` and `label`.
    pub fn new(kind: &'static str, id: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            label: label.into(),
        }
    }
}

/// One change as the operation describes it: written as the audit event and the outbox event.
/// `detail` holds small facts (never a secret): names, scopes, roles, instants as Unix seconds.
#[derive(Clone, Debug)]
pub struct Change {
    /// What happened.
    pub action: AuditAction,
    /// To what.
    pub target: Target,
    /// Facts that make the event readable on its own.
    pub detail: Map<String, Value>,
}

impl Change {
    /// A change with no details yet.
    pub fn new(action: AuditAction, target: Target) -> Self {
        Self {
            action,
            target,
            detail: Map::new(),
        }
    }

    /// Adds one detail.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.detail.insert(key.to_owned(), value.into());
        self
    }
}

/// An event in plain words: "Rotated key Production Server — the old key works until
/// 2 Dec, 10:00 UTC". `human_time` formats a Unix instant for people.
pub fn describe(
    action: Option<AuditAction>,
    raw_action: &str,
    target: &str,
    detail: &Map<String, Value>,
    human_time: impl Fn(i64) -> String,
) -> String {
    let text = |k: &str| detail.get(k).and_then(Value::as_str).unwrap_or_default();
    let int = |k: &str| detail.get(k).and_then(Value::as_i64);
    let Some(action) = action else {
        return format!("{raw_action} {target}").trim().to_owned();
    };
    use AuditAction as A;
    match action {
        A::ApiKeyCreated => format!("Created key {target}"),
        A::ApiKeyUpdated => format!("Updated key {target}"),
        A::ApiKeyRotated => match int("old_key_works_until") {
            Some(until) if int("grace_seconds").unwrap_or(0) > 0 => format!(
                "Rotated key {target} — the old key works until {}",
                human_time(until)
            ),
            _ => format!("Rotated key {target} — the old key stopped working at once"),
        },
        A::ApiKeyDeleted => format!("Deleted key {target}"),
        A::ApiKeyGraceEnded => format!("Ended the grace period of the old key {target}"),
        A::ApiKeyLeaked => format!("Revoked key {target} after a leak report"),
        A::MemberInvited => format!("Invited {target} as {}", text("role")),
        A::InvitationRevoked => format!("Revoked the invitation of {target}"),
        A::MemberJoined => format!("{target} joined as {}", text("role")),
        A::MemberRoleChanged => format!(
            "Changed the role of {target} from {} to {}",
            text("from"),
            text("to")
        ),
        A::MemberRemoved => format!("Removed {target} from the team"),
        A::MemberLeft => format!("{target} left the team"),
        A::TeamCreated => format!("Created the team {target}"),
        A::TeamUpdated => "Updated the team settings".to_owned(),
        A::OwnershipTransferred => format!("Transferred ownership to {target}"),
        A::AgencyCreated => format!("Created the agency {target}"),
        A::ClientCreated => format!("Created client {target}"),
        A::ClientSuspended => format!("Suspended client {target}"),
        A::ClientResumed => format!("Resumed client {target}"),
        A::ClientDeleted => format!("Deleted client {target}"),
        A::BrandUpdated => "Updated the brand".to_owned(),
        A::OperatorInvited => format!("Invited operator {target}"),
        A::OperatorJoined => format!("{target} joined as an operator"),
        A::OperatorRemoved => format!("Removed operator {target}"),
        A::IntegrationCredentialReplaced => {
            format!("Replaced the credential of integration {target}")
        }
        A::IntegrationCredentialDiscarded => {
            format!("Discarded the credential of integration {target}: its master key was lost")
        }
        A::IntegrationConnected => format!("Connected integration {target} with OAuth"),
        // Without a reason, a person disconnected it (and the provider may have revoked it).
        A::IntegrationDisconnected if text("reason").is_empty() => {
            match detail.get("revoked_at_provider").and_then(Value::as_bool) {
                Some(true) => {
                    format!("Disconnected integration {target}; its provider revoked the grant")
                }
                _ => format!("Disconnected integration {target}"),
            }
        }
        A::IntegrationDisconnected => format!(
            "Integration {target} needs reconnecting: its provider refused the grant ({})",
            text("reason")
        ),
        A::IntegrationTested => match int("status") {
            Some(status) => format!("Tested integration {target}: {status} OK"),
            None => format!("Tested integration {target}"),
        },
        A::IntegrationTestFailed => match int("status") {
            Some(status) => format!("Tested integration {target}: failed with {status}"),
            None => format!("Tested integration {target}: {}", text("error")),
        },
        A::ApiKeyExpiring => match int("days") {
            Some(1) => format!("Key {target} expires within a day"),
            Some(d) => format!("Key {target} expires within {d} days"),
            None => format!("Key {target} expires soon"),
        },
        A::ApiKeyExpired => format!("Key {target} expired"),
        A::ApiKeyNewAddress => format!("Key {target} was used from a new address, {}", text("ip")),
        A::AgentLoopRunStarted => format!("A run of agent loop {target} started"),
        A::AgentLoopRunFinished => format!("A run of agent loop {target} {}", text("status")),
        A::WebhookDeliveriesReplayed => match int("count") {
            Some(1) => format!("Replayed 1 delivery to webhook endpoint {target}"),
            Some(n) => format!("Replayed {n} deliveries to webhook endpoint {target}"),
            None => format!("Replayed deliveries to webhook endpoint {target}"),
        },
        A::WebhookSecretRotated => {
            format!("Rotated the signing secret of webhook endpoint {target}")
        }
        A::WebhookEndpointTested => format!("Sent a test event to webhook endpoint {target}"),
        A::WebhookEndpointDisabled => match text("reason") {
            "" => format!("Disabled webhook endpoint {target}"),
            r => format!("Disabled webhook endpoint {target}: {r}"),
        },
        other => {
            // Platform objects: "Bot created" → "Created bot Support".
            let (object, verb) = other
                .as_str()
                .split_once('.')
                .unwrap_or(("object", "changed"));
            let verb = match verb {
                "run_queued" => "Queued a run of",
                "created" => "Created",
                "updated" => "Updated",
                "deleted" => "Deleted",
                // Never a raw action name in the log: an action without words of its own
                // reads as its label.
                _ => {
                    return format!("{}: {target}", other.label())
                        .trim_end_matches([':', ' '])
                        .to_owned();
                }
            };
            format!("{verb} {} {target}", object.replace('_', " "))
                .trim()
                .to_owned()
        }
    }
}

/// What a log view narrows to; every part is optional and they combine with AND. The same
/// filter drives the audit page, its exports and `GET /v1/audit-events`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// One action.
    pub action: Option<AuditAction>,
    /// Who: a user or key id (events that user or key performed), or words found in the
    /// actor's name.
    pub actor: Option<Match>,
    /// Which key: its id, or words found in its name (any of its rotations), or its last four.
    pub target: Option<Match>,
    /// From this instant (inclusive, Unix seconds): 00:00 UTC of the `from` date.
    pub from: Option<i64>,
    /// Before this instant (exclusive): the end of the `to` date.
    pub until: Option<i64>,
}

/// What a filter field asks for: one object by id (the links from a key's page, exports), or a
/// search typed into the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Match {
    /// This id exactly.
    Id(String),
    /// Text as typed (for the four case-sensitive characters of a key) and in lower case.
    Text {
        /// As typed.
        raw: String,
        /// Lower case, for names.
        lower: String,
    },
}

/// Longest search text of the actor and key fields.
pub const MATCH_MAX: usize = 100;

impl Match {
    /// `value` as an id when `is_id` accepts it, else as search text; `None` for empty text and
    /// `Err` for text over [`MATCH_MAX`].
    fn read(value: &str, is_id: impl Fn(&str) -> bool) -> Result<Option<Self>, ()> {
        if value.is_empty() {
            Ok(None)
        } else if is_id(value) {
            Ok(Some(Match::Id(value.to_owned())))
        } else if value.chars().count() > MATCH_MAX {
            Err(())
        } else {
            Ok(Some(Match::Text {
                raw: value.to_owned(),
                lower: value.to_lowercase(),
            }))
        }
    }
}

/// A filter as it was typed (query parameters), kept to show the form again and to build
/// links (next page, exports) that carry the same filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterInput {
    /// `action`: a dotted action name.
    pub action: String,
    /// `actor`: a user id (`usr_…`) or key id (`key_…`), or words of the actor's name.
    pub actor: String,
    /// `key`: a key id, words of a key's name, or its last four characters.
    pub key: String,
    /// `from`: `YYYY-MM-DD`.
    pub from: String,
    /// `to`: `YYYY-MM-DD`.
    pub to: String,
}

/// A filter field that did not parse, with the message for it.
pub type FilterError = (&'static str, &'static str);

impl FilterInput {
    /// The query parameters a filter is read from.
    pub const FIELDS: [&'static str; 5] = ["action", "actor", "key", "from", "to"];

    /// Reads the filter from query parameters (`get` gives a parameter's value), trimmed.
    pub fn read<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        let field = |k: &str| get(k).map(str::trim).unwrap_or_default().to_owned();
        Self {
            action: field("action"),
            actor: field("actor"),
            key: field("key"),
            from: field("from"),
            to: field("to"),
        }
    }

    /// The query-string pairs of the filter's non-empty fields, in a fixed order.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let values = [&self.action, &self.actor, &self.key, &self.from, &self.to];
        Self::FIELDS
            .into_iter()
            .zip(values.map(String::as_str))
            .filter(|(_, v)| !v.is_empty())
            .collect()
    }

    /// Parses every field; all the fields that are wrong are reported, each with its message.
    pub fn parse(&self) -> Result<AuditFilter, Vec<FilterError>> {
        let mut errors = vec![];
        let action = match self.action.as_str() {
            "" => None,
            name => AuditAction::parse(name).or_else(|| {
                errors.push(("action", "Choose an action from the list."));
                None
            }),
        };
        let actor = Match::read(&self.actor, |v| {
            super::ids::UserId::parse(v).is_some() || super::ids::ApiKeyId::parse(v).is_some()
        })
        .unwrap_or_else(|()| {
            errors.push(("actor", "Search with at most 100 characters."));
            None
        });
        let target = Match::read(&self.key, |v| super::ids::ApiKeyId::parse(v).is_some())
            .unwrap_or_else(|()| {
                errors.push(("key", "Search with at most 100 characters."));
                None
            });
        let day = |raw: &str, field: &'static str, errors: &mut Vec<FilterError>| {
            if raw.is_empty() {
                return None;
            }
            let format = time::macros::format_description!("[year]-[month]-[day]");
            match time::Date::parse(raw, format) {
                Ok(d) => Some(d.midnight().assume_utc().unix_timestamp()),
                Err(_) => {
                    errors.push((field, "Enter a date as YYYY-MM-DD."));
                    None
                }
            }
        };
        let from = day(&self.from, "from", &mut errors);
        let until = day(&self.to, "to", &mut errors).map(|d| d + 86_400);
        if let (Some(f), Some(u)) = (from, until)
            && u <= f
        {
            errors.push(("to", "Choose a date on or after the start date."));
        }
        if errors.is_empty() {
            Ok(AuditFilter {
                action,
                actor,
                target,
                from,
                until,
            })
        } else {
            Err(errors)
        }
    }
}

macro_rules! security_actions {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $text:literal, $warn:literal;)*) => {
        /// Security activity of one account (the "Your account" page); not part of any team's
        /// log.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum SecurityAction {
            $($(#[$doc])* $variant,)*
        }

        impl SecurityAction {
            /// Every action.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The stable dotted name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            /// The action with this name.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($name => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// In plain words.
            pub fn describe(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }

            /// Worth a second look (shown in amber).
            pub fn is_warning(self) -> bool {
                match self {
                    $(Self::$variant => $warn,)*
                }
            }
        }
    };
}

// One row per action: its name, its words on the account page, and whether it is a warning.
security_actions! {
    /// Signed in.
    SignedIn = "account.signed_in", "Signed in", false;
    /// Signed out.
    SignedOut = "account.signed_out", "Signed out", false;
    /// A wrong password was given for this account.
    SignInFailed = "account.sign_in_failed", "Failed sign-in (wrong password)", true;
    /// Sign-in was refused for a while after too many failures.
    SignInThrottled = "account.sign_in_throttled", "Sign-in blocked after too many failures", true;
    /// The name was changed.
    NameChanged = "account.name_changed", "Name changed", false;
    /// The password was changed; every other session ended.
    PasswordChanged = "account.password_changed", "Password changed; other sessions signed out", false;
    /// A password change was refused: the current password was wrong.
    PasswordChangeRefused = "account.password_change_refused", "Password change refused (wrong current password)", true;
    /// One of the account's other sessions was signed out.
    SessionEnded = "account.session_ended", "Another session signed out", false;
    /// Every other session was signed out.
    OtherSessionsEnded = "account.other_sessions_ended", "Signed out everywhere else", false;
    /// A password reset link was made (e-mailed, or printed for the operator).
    PasswordResetRequested = "account.password_reset_requested", "Password reset link requested", true;
    /// The password was reset with a link; every session ended.
    PasswordReset = "account.password_reset", "Password reset with a link; every session signed out", false;
    /// Two-factor sign-in was turned on.
    TwoFactorEnabled = "account.two_factor_enabled", "Two-factor sign-in turned on", false;
    /// Two-factor sign-in was turned off.
    TwoFactorDisabled = "account.two_factor_disabled", "Two-factor sign-in turned off", true;
    /// A wrong authenticator or recovery code was given.
    TwoFactorFailed = "account.two_factor_failed", "Wrong two-factor code", true;
    /// A recovery code was used.
    RecoveryCodeUsed = "account.recovery_code_used", "Recovery code used", true;
    /// A change of e-mail address was asked for; a link went to the new address.
    EmailChangeRequested = "account.email_change_requested", "E-mail change asked for (link sent to the new address)", true;
    /// The e-mail address (sign-in name) changed.
    EmailChanged = "account.email_changed", "E-mail address changed", true;
    /// An e-mail change was refused: the password was wrong.
    EmailChangeRefused = "account.email_change_refused", "E-mail change refused (wrong password)", true;
    /// A passkey was added.
    PasskeyAdded = "account.passkey_added", "Passkey added", false;
    /// A passkey was removed.
    PasskeyRemoved = "account.passkey_removed", "Passkey removed", true;
    /// A passkey was renamed.
    PasskeyRenamed = "account.passkey_renamed", "Passkey renamed", false;
    /// Signed in with a passkey.
    SignedInWithPasskey = "account.signed_in_passkey", "Signed in with a passkey", false;
    /// The password (and second factor) was given again for a sensitive action.
    Reconfirmed = "account.reconfirmed", "Confirmed it was you for a sensitive action", false;
    /// A wrong password was given when confirming a sensitive action.
    ReconfirmFailed = "account.reconfirm_failed", "Confirmation for a sensitive action refused (wrong password)", true;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_name_parses_back_and_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(*a));
            assert!(seen.insert(a.as_str()), "{a} twice");
            assert!(a.as_str().contains('.'));
        }
        assert_eq!(AuditAction::parse("api_key.exploded"), None);
        let mut seen = std::collections::HashSet::new();
        for a in SecurityAction::ALL {
            assert_eq!(SecurityAction::parse(a.as_str()), Some(*a));
            assert!(seen.insert(a.as_str()), "{} twice", a.as_str());
        }
    }

    #[test]
    fn filters_parse_every_field_and_report_every_mistake() {
        let input = FilterInput {
            action: "api_key.rotated".into(),
            from: "2026-12-01".into(),
            to: "2026-12-01".into(),
            ..FilterInput::default()
        };
        let f = input.parse().expect("valid");
        assert_eq!(f.action, Some(AuditAction::ApiKeyRotated));
        assert_eq!(f.until.zip(f.from).map(|(u, f)| u - f), Some(86_400));
        let bad = FilterInput {
            action: "api_key.exploded".into(),
            actor: "b".repeat(101),
            key: "k".repeat(101),
            from: "1 Dec".into(),
            to: "2026-13-01".into(),
        };
        let fields: Vec<&str> = bad.parse().unwrap_err().iter().map(|e| e.0).collect();
        assert_eq!(fields, ["action", "actor", "key", "from", "to"]);
    }

    #[test]
    fn the_actor_and_key_fields_take_an_id_or_search_text() {
        let parse = |actor: &str, key: &str| {
            FilterInput {
                actor: actor.into(),
                key: key.into(),
                ..FilterInput::default()
            }
            .parse()
            .expect("valid")
        };
        let f = parse("usr_00000000000000000000", "key_00000000000000000000");
        assert_eq!(f.actor, Some(Match::Id("usr_00000000000000000000".into())));
        assert_eq!(f.target, Some(Match::Id("key_00000000000000000000".into())));
        let f = parse("Ada OWNER", "wxYz");
        assert_eq!(
            f.actor,
            Some(Match::Text {
                raw: "Ada OWNER".into(),
                lower: "ada owner".into()
            })
        );
        assert_eq!(
            f.target,
            Some(Match::Text {
                raw: "wxYz".into(),
                lower: "wxyz".into()
            })
        );
        // A user id is not a key: in the key field it is text (it matches no key name).
        assert!(matches!(
            parse("", "usr_00000000000000000000").target,
            Some(Match::Text { .. })
        ));
        assert_eq!(parse("", "").actor, None);
    }

    #[test]
    fn every_action_reads_as_words_never_as_its_raw_name() {
        for a in AuditAction::ALL {
            let text = describe(Some(*a), a.as_str(), "Target", &Map::new(), |t| {
                t.to_string()
            });
            // "secret_rotated webhook endpoint …" and "tested webhook endpoint …" were shown.
            assert!(
                text.starts_with(|c: char| c.is_uppercase()) && !text.contains('_'),
                "{a}: {text:?} shows the raw action name"
            );
        }
        let tested = AuditAction::WebhookEndpointTested;
        assert_eq!(
            describe(
                Some(tested),
                tested.as_str(),
                "https://hooks.example.com",
                &Map::new(),
                |t| t.to_string()
            ),
            "Sent a test event to webhook endpoint https://hooks.example.com"
        );
    }

    #[test]
    fn a_rotation_reads_with_its_grace_period() {
        let detail = Change::new(AuditAction::ApiKeyRotated, Target::default())
            .with("grace_seconds", 3600)
            .with("old_key_works_until", 7200)
            .detail;
        let text = describe(
            Some(AuditAction::ApiKeyRotated),
            "api_key.rotated",
            "Production Server",
            &detail,
            |t| format!("T{t}"),
        );
        assert_eq!(
            text,
            "Rotated key Production Server — the old key works until T7200"
        );
        let platform = describe(
            Some(AuditAction::AgentLoopRunQueued),
            "agent_loop.run_queued",
            "Nightly",
            &Map::new(),
            |t| t.to_string(),
        );
        assert_eq!(platform, "Queued a run of agent loop Nightly");
    }
}
