//! Newtype ids, so a `TeamId` is never passed where a `UserId` belongs. Ids are generated in
//! Rust (portable across backends): a short type prefix and 20 base62 characters.

use std::fmt;

use super::base62;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(
            Clone,
            Debug,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            diesel::FromSqlRow,
            diesel::AsExpression,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this type starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A new random id.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, base62::random(20)))
            }

            /// A new id that sorts after every id this process made before (a keyset cursor
            /// that stays "newest first" within one second).
            pub fn generate_ordered() -> Self {
                Self(format!("{}{}", $prefix, base62::ordered(20)))
            }

            /// Parses an id from untrusted input (a URL segment); `None` when malformed.
            pub fn parse(s: &str) -> Option<Self> {
                let rest = s.strip_prefix($prefix)?;
                (rest.len() == 20 && base62::is_base62(rest)).then(|| Self(s.to_owned()))
            }

            /// Wraps a value read from our own database.
            pub fn from_db(s: String) -> Self {
                Self(s)
            }

            /// The id as stored.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        // Reads as the string it is wherever a `&str` is wanted (JSON, URLs, comparisons); it
        // still cannot be passed where another id type is expected.
        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl From<$name> for serde_json::Value {
            fn from(id: $name) -> serde_json::Value {
                serde_json::Value::String(id.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A user account.
    UserId, "usr_"
);
id_type!(
    /// A team (the tenant that owns keys).
    TeamId, "team_"
);
id_type!(
    /// An API key record (not the secret).
    ApiKeyId, "key_"
);
id_type!(
    /// An audit event.
    AuditEventId, "aud_"
);
id_type!(
    /// A bot.
    BotId, "bot_"
);
id_type!(
    /// A bot's channel (web, WhatsApp, Telegram…).
    ChannelId, "chn_"
);
id_type!(
    /// An integration (third-party service metadata).
    IntegrationId, "int_"
);
id_type!(
    /// A conversation.
    ConversationId, "conv_"
);
id_type!(
    /// A message in a conversation.
    MessageId, "msg_"
);
id_type!(
    /// An agent loop.
    AgentLoopId, "loop_"
);
id_type!(
    /// A run request of an agent loop.
    AgentLoopRunId, "run_"
);
id_type!(
    /// An agency (owner of client teams and of a brand).
    AgencyId, "agc_"
);
id_type!(
    /// An invitation to a team or an agency.
    InvitationId, "inv_"
);
id_type!(
    /// An outbox event: the durable record a webhook delivers (its `webhook-id`).
    OutboxEventId, "evt_"
);
id_type!(
    /// A webhook endpoint.
    WebhookEndpointId, "whe_"
);
id_type!(
    /// One event's delivery to one endpoint.
    DeliveryId, "whd_"
);
id_type!(
    /// One attempt of a delivery.
    AttemptId, "wha_"
);
id_type!(
    /// An account's security event (sign-in, sign-out, failures).
    SecurityEventId, "sec_"
);
id_type!(
    /// A queued e-mail.
    MailId, "mail_"
);
id_type!(
    /// A passkey of an account.
    PasskeyId, "pk_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let id = ApiKeyId::generate();
        assert_eq!(ApiKeyId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(ApiKeyId::parse("key_short"), None);
        assert_eq!(ApiKeyId::parse("usr_AAAAAAAAAAAAAAAAAAAA"), None);
        assert_eq!(ApiKeyId::parse("key_AAAAAAAAAAAAAAAAAA-A"), None);
        assert_eq!(ApiKeyId::parse("key_AAAAAAAAAAAAAAAAAAAAA"), None);
    }
}
