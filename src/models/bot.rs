//! Bots.

use diesel::prelude::*;

use crate::api::auth::Tenant;
use crate::db::DbConnection;
use crate::db::schema::bots;

/// A bot row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bots)]
pub struct Bot {
    /// Id.
    pub id: String,
    /// Team.
    pub team_id: String,
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

impl Bot {
    /// A page of the tenant's bots, newest first, after `cursor` (created_at, id).
    pub fn list(
        conn: &mut DbConnection,
        t: &Tenant,
        cursor: Option<(i64, String)>,
        limit: i64,
    ) -> QueryResult<Vec<Bot>> {
        let mut q = bots::table
            .filter(bots::team_id.eq(t.team.as_str()))
            .filter(bots::mode.eq(t.mode.as_str()))
            .into_boxed();
        if let Some((at, id)) = cursor {
            q = q.filter(
                bots::created_at
                    .lt(at)
                    .or(bots::created_at.eq(at).and(bots::id.lt(id))),
            );
        }
        q.order((bots::created_at.desc(), bots::id.desc()))
            .limit(limit + 1)
            .select(Bot::as_select())
            .load(conn)
    }

    /// One of the tenant's bots.
    pub fn find(conn: &mut DbConnection, t: &Tenant, id: &str) -> QueryResult<Option<Bot>> {
        bots::table
            .filter(bots::id.eq(id))
            .filter(bots::team_id.eq(t.team.as_str()))
            .filter(bots::mode.eq(t.mode.as_str()))
            .select(Bot::as_select())
            .first(conn)
            .optional()
    }

    /// Inserts a bot.
    pub fn insert(conn: &mut DbConnection, bot: &Bot) -> QueryResult<()> {
        diesel::insert_into(bots::table)
            .values((
                bots::id.eq(&bot.id),
                bots::team_id.eq(&bot.team_id),
                bots::mode.eq(&bot.mode),
                bots::name.eq(&bot.name),
                bots::description.eq(&bot.description),
                bots::created_at.eq(bot.created_at),
                bots::updated_at.eq(bot.updated_at),
            ))
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

    /// Deletes one of the tenant's bots; false if there was none.
    pub fn delete(conn: &mut DbConnection, t: &Tenant, id: &str) -> QueryResult<bool> {
        diesel::delete(
            bots::table
                .filter(bots::id.eq(id))
                .filter(bots::team_id.eq(t.team.as_str()))
                .filter(bots::mode.eq(t.mode.as_str())),
        )
        .execute(conn)
        .map(|n| n == 1)
    }
}
