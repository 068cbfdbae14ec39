//! An account's passkeys: webauthn-rs's stored credential (a public key and its counter, as
//! JSON: nothing secret), its credential id (unique across accounts) and the host name it was
//! registered on.

use std::collections::HashSet;

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::passkeys;
use crate::domain::ids::{PasskeyId, UserId};

/// One passkey as the account page lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = passkeys)]
pub struct Listed {
    /// Id.
    pub id: PasskeyId,
    /// The name its owner gave it.
    pub name: String,
    /// The host name it works on.
    pub rp_id: String,
    /// Added, Unix seconds.
    pub created_at: i64,
    /// Last used to sign in.
    pub last_used_at: Option<i64>,
}

/// A passkey for a ceremony: its id, its owner and the stored credential.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = passkeys)]
pub struct Stored {
    /// Id.
    pub id: PasskeyId,
    /// Owner.
    pub user_id: UserId,
    /// webauthn-rs's JSON.
    pub credential: String,
}

/// `user`'s passkeys, oldest first.
pub fn of_user(conn: &mut DbConnection, user: &UserId) -> QueryResult<Vec<Listed>> {
    passkeys::table
        .filter(passkeys::user_id.eq(user.as_str()))
        .order(passkeys::created_at.asc())
        .select(Listed::as_select())
        .load(conn)
}

/// `user`'s passkeys registered on `rp_id` (the ones a browser there can use).
pub fn usable_by(conn: &mut DbConnection, user: &UserId, rp_id: &str) -> QueryResult<Vec<Stored>> {
    passkeys::table
        .filter(passkeys::user_id.eq(user.as_str()))
        .filter(passkeys::rp_id.eq(rp_id))
        .select(Stored::as_select())
        .load(conn)
}

/// The passkey with `credential_id` registered on `rp_id`.
pub fn by_credential(
    conn: &mut DbConnection,
    credential_id: &str,
    rp_id: &str,
) -> QueryResult<Option<Stored>> {
    passkeys::table
        .filter(passkeys::credential_id.eq(credential_id))
        .filter(passkeys::rp_id.eq(rp_id))
        .select(Stored::as_select())
        .first(conn)
        .optional()
}

/// Whether `user` has any passkey.
pub fn any(conn: &mut DbConnection, user: &UserId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        passkeys::table.filter(passkeys::user_id.eq(user.as_str())),
    ))
    .get_result(conn)
}

/// Which of `users` have a passkey.
pub fn among(conn: &mut DbConnection, users: &[String]) -> QueryResult<HashSet<String>> {
    Ok(passkeys::table
        .filter(passkeys::user_id.eq_any(users))
        .select(passkeys::user_id)
        .distinct()
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// What a new passkey is stored with.
pub struct NewPasskey<'a> {
    /// Owner.
    pub user: &'a UserId,
    /// Its name.
    pub name: &'a str,
    /// base64url credential id.
    pub credential_id: &'a str,
    /// webauthn-rs's JSON.
    pub credential: &'a str,
    /// The host name it was registered on.
    pub rp_id: &'a str,
    /// Now.
    pub at: i64,
}

/// Stores a new passkey; false when its credential is registered already (to any account).
pub fn insert(conn: &mut DbConnection, new: &NewPasskey<'_>) -> QueryResult<bool> {
    let taken: bool = diesel::select(diesel::dsl::exists(
        passkeys::table.filter(passkeys::credential_id.eq(new.credential_id)),
    ))
    .get_result(conn)?;
    if taken {
        return Ok(false);
    }
    diesel::insert_into(passkeys::table)
        .values((
            passkeys::id.eq(PasskeyId::generate().as_str()),
            passkeys::user_id.eq(new.user.as_str()),
            passkeys::name.eq(new.name),
            passkeys::credential_id.eq(new.credential_id),
            passkeys::credential.eq(new.credential),
            passkeys::rp_id.eq(new.rp_id),
            passkeys::created_at.eq(new.at),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Records a use: the credential as updated (its counter) and when.
pub fn used(
    conn: &mut DbConnection,
    id: &PasskeyId,
    credential: &str,
    now: i64,
) -> QueryResult<()> {
    diesel::update(passkeys::table.find(id.as_str()))
        .set((
            passkeys::credential.eq(credential),
            passkeys::last_used_at.eq(Some(now)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The name of `user`'s passkey `id`, or `None` when the account has no such passkey.
pub fn name_of(
    conn: &mut DbConnection,
    user: &UserId,
    id: &PasskeyId,
) -> QueryResult<Option<String>> {
    passkeys::table
        .find(id.as_str())
        .filter(passkeys::user_id.eq(user.as_str()))
        .select(passkeys::name)
        .first(conn)
        .optional()
}

/// Renames `user`'s passkey `id`; false when the account has no such passkey.
pub fn rename(
    conn: &mut DbConnection,
    user: &UserId,
    id: &PasskeyId,
    name: &str,
) -> QueryResult<bool> {
    diesel::update(
        passkeys::table
            .find(id.as_str())
            .filter(passkeys::user_id.eq(user.as_str())),
    )
    .set(passkeys::name.eq(name))
    .execute(conn)
    .map(|rows| rows == 1)
}

/// Removes `user`'s passkey `id`: its name, or `None` when the account has no such passkey.
pub fn remove(
    conn: &mut DbConnection,
    user: &UserId,
    id: &PasskeyId,
) -> QueryResult<Option<String>> {
    let name = name_of(conn, user, id)?;
    if name.is_some() {
        diesel::delete(passkeys::table.find(id.as_str())).execute(conn)?;
    }
    Ok(name)
}
