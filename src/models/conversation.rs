//! Conversations and their messages.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{conversations, messages};
use crate::domain::ids::{BotId, ConversationId, MessageId, TeamId};

/// Message roles.
pub const ROLES: &[&str] = &["user", "assistant", "system"];

/// A conversation row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = conversations)]
pub struct Conversation {
    /// Id.
    pub id: ConversationId,
    /// Team.
    pub team_id: TeamId,
    /// `live` / `test`.
    pub mode: String,
    /// The bot that held it, if known.
    pub bot_id: Option<BotId>,
    /// Title.
    pub title: String,
    /// Unix seconds.
    pub created_at: i64,
}

crate::tenant_row!(Conversation, conversations);

/// A message row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = messages)]
pub struct Message {
    /// Id.
    pub id: MessageId,
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Order within the conversation, from 0.
    pub position: i32,
    /// One of [`ROLES`].
    pub role: String,
    /// Text.
    pub content: String,
    /// Unix seconds.
    pub created_at: i64,
}

impl Conversation {
    /// Inserts a conversation with its messages.
    pub fn insert(
        conn: &mut DbConnection,
        conv: &Conversation,
        msgs: &[Message],
    ) -> QueryResult<()> {
        diesel::insert_into(conversations::table)
            .values(conv)
            .execute(conn)?;
        for m in msgs {
            diesel::insert_into(messages::table)
                .values(m)
                .execute(conn)?;
        }
        Ok(())
    }

    /// The conversation's messages in order.
    pub fn messages(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<Message>> {
        messages::table
            .filter(messages::conversation_id.eq(id))
            .order(messages::position.asc())
            .select(Message::as_select())
            .load(conn)
    }
}
