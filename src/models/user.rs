//! Users.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::users;
use crate::domain::ids::UserId;

/// A user row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Normalised e-mail.
    pub email: String,
    /// Display name.
    pub name: String,
    /// PHC string (argon2id).
    pub password_hash: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// Insert shape.
#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Id.
    pub id: &'a str,
    /// Normalised e-mail.
    pub email: &'a str,
    /// Display name.
    pub name: &'a str,
    /// PHC string.
    pub password_hash: &'a str,
    /// Unix seconds.
    pub created_at: i64,
}

impl User {
    /// Typed id.
    pub fn user_id(&self) -> UserId {
        self.id.clone()
    }

    /// Loads by id.
    pub fn find(conn: &mut DbConnection, id: &UserId) -> QueryResult<Option<User>> {
        users::table
            .find(id.as_str())
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// Loads by normalised e-mail.
    pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::email.eq(email))
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// True when any account exists (set-up is then closed).
    pub fn any_exist(conn: &mut DbConnection) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(users::table.select(users::id))).get_result(conn)
    }

    /// Sets the password hash.
    pub fn set_password(conn: &mut DbConnection, id: &UserId, hash: &str) -> QueryResult<()> {
        diesel::update(users::table.find(id.as_str()))
            .set(users::password_hash.eq(hash))
            .execute(conn)
            .map(|_| ())
    }

    /// Sets the e-mail address (sign-in name); false when another account has it.
    pub fn set_email(conn: &mut DbConnection, id: &UserId, email: &str) -> QueryResult<bool> {
        let taken: bool = diesel::select(diesel::dsl::exists(
            users::table
                .filter(users::email.eq(email))
                .filter(users::id.ne(id.as_str())),
        ))
        .get_result(conn)?;
        if taken {
            return Ok(false);
        }
        diesel::update(users::table.find(id.as_str()))
            .set(users::email.eq(email))
            .execute(conn)
            .map(|n| n == 1)
    }

    /// Sets the display name.
    pub fn set_name(conn: &mut DbConnection, id: &UserId, name: &str) -> QueryResult<()> {
        diesel::update(users::table.find(id.as_str()))
            .set(users::name.eq(name))
            .execute(conn)
            .map(|_| ())
    }

    /// Inserts a user.
    pub fn insert(conn: &mut DbConnection, new: &NewUser<'_>) -> QueryResult<()> {
        diesel::insert_into(users::table)
            .values(new)
            .execute(conn)
            .map(|_| ())
    }
}
