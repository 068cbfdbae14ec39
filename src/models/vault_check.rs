//! The vault's check values: one known value sealed under each master key in use.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::vault_checks;

/// Every stored check: (master key id, sealed value).
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    vault_checks::table
        .select((vault_checks::key_id, vault_checks::sealed))
        .order(vault_checks::key_id.asc())
        .load(conn)
}

/// Stores the check of a master key unless one is stored already (another node starting at
/// the same moment may have stored it first): true when this call stored it.
pub fn insert(conn: &mut DbConnection, key_id: &str, sealed: &str, at: i64) -> QueryResult<bool> {
    let row = (
        vault_checks::key_id.eq(key_id),
        vault_checks::sealed.eq(sealed),
        vault_checks::created_at.eq(at),
    );
    let inserted = match conn {
        DbConnection::Postgres(c) => diesel::insert_into(vault_checks::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        // One node: nobody else stores checks meanwhile.
        DbConnection::Sqlite(c) => diesel::insert_into(vault_checks::table)
            .values(row)
            .execute(c)?,
    };
    Ok(inserted == 1)
}

/// Forgets the check of a master key (the key is lost; its values were discarded).
pub fn delete(conn: &mut DbConnection, key_id: &str) -> QueryResult<usize> {
    diesel::delete(vault_checks::table.filter(vault_checks::key_id.eq(key_id))).execute(conn)
}
