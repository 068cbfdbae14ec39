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

/// Stores the check of a master key.
pub fn insert(conn: &mut DbConnection, key_id: &str, sealed: &str, at: i64) -> QueryResult<()> {
    diesel::insert_into(vault_checks::table)
        .values((
            vault_checks::key_id.eq(key_id),
            vault_checks::sealed.eq(sealed),
            vault_checks::created_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Forgets the check of a master key (the key is lost; its values were discarded).
pub fn delete(conn: &mut DbConnection, key_id: &str) -> QueryResult<usize> {
    diesel::delete(vault_checks::table.filter(vault_checks::key_id.eq(key_id))).execute(conn)
}
