//! Bots.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::bots;
use crate::domain::ids::{BotId, TeamId};

/// A bot row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bots)]
pub struct Bot {
    /// Id.
    pub id: BotId,
    /// Team.
    pub team_id: TeamId,
    /// `live` / `test`.
    pub mode: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

crate::tenant_row!(Bot, bots);

impl Bot {
    /// Inserts a bot.
    pub fn insert(conn: &mut DbConnection, bot: &Bot) -> QueryResult<()> {
        diesel::insert_into(bots::table)
            .values(bot)
            .execute(conn)
            .map(|_| ())
    }

    /// Saves name and description.
    pub fn update(conn: &mut DbConnection, bot: &Bot) -> QueryResult<()> {
        diesel::update(bots::table.find(&bot.id))
            .set((
                bots::name.eq(&bot.name),
                bots::description.eq(&bot.description),
                bots::updated_at.eq(bot.updated_at),
            ))
            .execute(conn)
            .map(|_| ())
    }
}
