//! The `api_tokens` table: what is kept of each API token (never the token itself).

use diesel::prelude::*;
use kit::db::DbConn;

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        jti -> Text,
        owner -> Text,
        name -> Text,
        token_hash -> Text,
        roles -> Text,
        created_ms -> BigInt,
        expires_ms -> BigInt,
        last_used_ms -> Nullable<BigInt>,
        revoked_ms -> Nullable<BigInt>,
        revoked_by -> Nullable<Text>,
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken {
    pub jti: String,
    pub owner: String,
    pub name: String,
    pub token_hash: String,
    /// Platform role names, comma-separated.
    pub roles: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiTokenRow {
    pub id: i64,
    pub jti: String,
    pub owner: String,
    pub name: String,
    pub token_hash: String,
    pub roles: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub last_used_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
    pub revoked_by: Option<String>,
}

pub fn insert(conn: &mut DbConn, token: &NewApiToken) -> QueryResult<ApiTokenRow> {
    diesel::insert_into(api_tokens::table)
        .values(token)
        .execute(conn)?;
    api_tokens::table
        .filter(api_tokens::jti.eq(&token.jti))
        .select(ApiTokenRow::as_select())
        .first(conn)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<ApiTokenRow>> {
    api_tokens::table
        .find(id)
        .select(ApiTokenRow::as_select())
        .first(conn)
        .optional()
}

/// The tokens of `owner`, or everyone's; newest first.
pub fn list(conn: &mut DbConn, owner: Option<&str>) -> QueryResult<Vec<ApiTokenRow>> {
    let mut query = api_tokens::table.into_boxed();
    if let Some(owner) = owner {
        query = query.filter(api_tokens::owner.eq(owner.to_string()));
    }
    query
        .order(api_tokens::id.desc())
        .select(ApiTokenRow::as_select())
        .load(conn)
}

pub fn revoke(conn: &mut DbConn, id: i64, by: &str, now_ms: i64) -> QueryResult<usize> {
    diesel::update(
        api_tokens::table
            .find(id)
            .filter(api_tokens::revoked_ms.is_null()),
    )
    .set((
        api_tokens::revoked_ms.eq(now_ms),
        api_tokens::revoked_by.eq(by),
    ))
    .execute(conn)
}

/// The ids of the revoked tokens that have not expired yet (an expired one is refused anyway).
pub fn revoked_ids(conn: &mut DbConn, now_ms: i64) -> QueryResult<Vec<String>> {
    api_tokens::table
        .filter(api_tokens::revoked_ms.is_not_null())
        .filter(api_tokens::expires_ms.gt(now_ms))
        .select(api_tokens::jti)
        .load(conn)
}

/// Marks the tokens `jtis` as used at `now_ms`.
pub fn mark_used(conn: &mut DbConn, jtis: &[String], now_ms: i64) -> QueryResult<usize> {
    diesel::update(api_tokens::table.filter(api_tokens::jti.eq_any(jtis)))
        .set(api_tokens::last_used_ms.eq(now_ms))
        .execute(conn)
}
