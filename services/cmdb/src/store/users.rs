//! `users`: who may sign requests.

use diesel::prelude::*;
use kit::db::{last_insert_id, DbConn};
use wire::cmdb as w;

use super::schema::users;
use super::to_seconds;
use chrono::NaiveDateTime;

#[derive(Debug, Clone, Queryable)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub api_key: String,
    pub secret: String,
    pub is_admin: bool,
}

/// The columns of [`UserRow`].
type UserColumns = (
    users::id,
    users::username,
    users::api_key,
    users::secret,
    users::is_admin,
);
const USER_COLUMNS: UserColumns = (
    users::id,
    users::username,
    users::api_key,
    users::secret,
    users::is_admin,
);

impl UserRow {
    pub fn to_wire(&self) -> w::User {
        w::User {
            user_id: self.id,
            username: self.username.clone(),
            api_key: self.api_key.clone(),
            secret: self.secret.clone(),
            is_admin: self.is_admin,
        }
    }
}

pub fn user_by_key(conn: &mut DbConn, key: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::api_key.eq(key))
        .select(USER_COLUMNS)
        .get_result(conn)
        .optional()
}

pub fn user_by_name(conn: &mut DbConn, name: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(name))
        .select(USER_COLUMNS)
        .get_result(conn)
        .optional()
}

pub fn insert_user(
    conn: &mut DbConn,
    name: &str,
    key: &str,
    secret: &str,
    is_admin: bool,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    let at = to_seconds(&at);
    diesel::insert_into(users::table)
        .values((
            users::username.eq(name),
            users::api_key.eq(key),
            users::secret.eq(secret),
            users::is_admin.eq(is_admin),
            users::created_at.eq(at),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn set_user_keys(conn: &mut DbConn, id: i64, key: &str, secret: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::api_key.eq(key),
            users::secret.eq(secret),
            users::is_admin.eq(true),
        ))
        .execute(conn)
}
