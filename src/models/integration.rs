//! Integrations: metadata of third-party services (credentials arrive with the vault issue).

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::integrations;

/// An integration row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = integrations)]
pub struct Integration {
    /// Id.
    pub id: String,
    /// Team.
    pub team_id: String,
    /// `live` / `test`.
    pub mode: String,
    /// Provider slug, e.g. `shopify`.
    pub provider: String,
    /// Name.
    pub name: String,
    /// Base URL of the provider's API.
    pub base_url: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

crate::tenant_row!(Integration, integrations);

impl Integration {
    /// Inserts an integration.
    pub fn insert(conn: &mut DbConnection, i: &Integration) -> QueryResult<()> {
        diesel::insert_into(integrations::table)
            .values(i)
            .execute(conn)
            .map(|_| ())
    }

    /// Saves provider, name and base URL.
    pub fn update(conn: &mut DbConnection, i: &Integration) -> QueryResult<()> {
        diesel::update(integrations::table.find(&i.id))
            .set((
                integrations::provider.eq(&i.provider),
                integrations::name.eq(&i.name),
                integrations::base_url.eq(&i.base_url),
                integrations::updated_at.eq(i.updated_at),
            ))
            .execute(conn)
            .map(|_| ())
    }
}
