//! Channels: where a bot talks (web widget, WhatsApp, Telegram…).

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::channels;
use crate::domain::ids::{BotId, ChannelId, TeamId};

/// Channel kinds the platform connects.
pub const KINDS: &[&str] = &[
    "web",
    "whatsapp",
    "telegram",
    "facebook",
    "instagram",
    "microsoft_teams",
    "slack",
    "sms",
];

/// A channel row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = channels)]
pub struct Channel {
    /// Id.
    pub id: ChannelId,
    /// Team.
    pub team_id: TeamId,
    /// `live` / `test`.
    pub mode: String,
    /// The bot it belongs to (same tenant).
    pub bot_id: BotId,
    /// One of [`KINDS`].
    pub kind: String,
    /// Name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

crate::tenant_row!(Channel, channels);

impl Channel {
    /// Inserts a channel.
    pub fn insert(conn: &mut DbConnection, ch: &Channel) -> QueryResult<()> {
        diesel::insert_into(channels::table)
            .values(ch)
            .execute(conn)
            .map(|_| ())
    }

    /// Saves kind and name.
    pub fn update(conn: &mut DbConnection, ch: &Channel) -> QueryResult<()> {
        diesel::update(channels::table.find(&ch.id))
            .set((
                channels::kind.eq(&ch.kind),
                channels::name.eq(&ch.name),
                channels::updated_at.eq(ch.updated_at),
            ))
            .execute(conn)
            .map(|_| ())
    }
}
