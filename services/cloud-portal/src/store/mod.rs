//! The queries of cloud-portal, written once for SQLite and MySQL over `kit::db::DbConn`.
//! Functions here run inside `Db::read` / `Db::write`, on the blocking pool.

pub mod schema;
pub mod tokens;

use diesel::prelude::*;
use kit::db::{last_insert_id, DbConn};
use wire::cloud_portal as w;

use schema::{grants, hosts, images, instances, refresh_tokens, sessions, users};

// Single-row lookups use `get_result`, not `first`: `first` binds `LIMIT ?`, and SQLite
// re-prepares a statement whenever a bound LIMIT is rebound (a re-parse on every call).

#[derive(Debug, Clone, Queryable)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub created_ms: i64,
}

impl UserRow {
    pub fn to_wire(&self) -> w::User {
        w::User {
            id: self.id,
            username: self.username.clone(),
            role: self.role.clone(),
        }
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct SessionRow {
    pub key_hash: String,
    pub user_id: i64,
    pub created_ms: i64,
    pub last_seen_ms: i64,
}

#[derive(Debug, Clone, Queryable)]
pub struct ImageRow {
    pub id: i64,
    pub name: String,
    pub summary: Option<String>,
    pub created_ms: i64,
}

impl ImageRow {
    pub fn to_wire(&self) -> w::Image {
        w::Image {
            id: self.id,
            name: self.name.clone(),
            summary: self.summary.clone(),
        }
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct HostRow {
    pub id: i64,
    pub address: String,
    pub ssh_port: i32,
    pub capacity: i32,
    pub used: i32,
    pub created_ms: i64,
}

impl HostRow {
    pub fn to_wire(&self) -> w::Host {
        w::Host {
            id: self.id,
            address: self.address.clone(),
            ssh_port: self.ssh_port,
            capacity: self.capacity,
            used: self.used,
        }
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct InstanceRow {
    pub id: i64,
    pub user_id: i64,
    pub image_id: i64,
    pub name: String,
    pub summary: Option<String>,
    pub status: i32,
    pub host_id: Option<i64>,
    pub host_address: Option<String>,
    pub vdi_port: Option<i32>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl InstanceRow {
    pub fn to_wire(&self) -> w::Instance {
        w::Instance {
            id: self.id,
            name: self.name.clone(),
            summary: self.summary.clone(),
            owner_id: self.user_id,
            image_id: self.image_id,
            status: self.status,
            status_string: w::status_string(self.status).to_string(),
            host: self.host_address.clone(),
            host_id: self.host_id,
            port: self.vdi_port,
        }
    }

    pub fn to_listed(&self) -> w::ListedInstance {
        w::ListedInstance {
            id: self.id,
            name: self.name.clone(),
            summary: self.summary.clone(),
            status: self.status,
            status_string: w::status_string(self.status).to_string(),
        }
    }
}

/// A role a user holds on one cluster, with the name of its holder.
#[derive(Debug, Clone, Queryable)]
pub struct GrantRow {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub cluster_id: i64,
    pub granted_by: String,
    pub created_ms: i64,
}

/// The columns of a [`GrantRow`], its holder's name joined in.
type GrantColumns = (
    grants::id,
    users::username,
    grants::role,
    grants::cluster_id,
    grants::granted_by,
    grants::created_ms,
);

const GRANT_COLUMNS: GrantColumns = (
    grants::id,
    users::username,
    grants::role,
    grants::cluster_id,
    grants::granted_by,
    grants::created_ms,
);

// ---- users ----

pub fn find_user_by_name(conn: &mut DbConn, username: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(username))
        .get_result(conn)
        .optional()
}

pub fn find_user(conn: &mut DbConn, id: i64) -> QueryResult<Option<UserRow>> {
    users::table.find(id).get_result(conn).optional()
}

/// Makes user `id` a service account with this password hash.
pub fn set_service_account(conn: &mut DbConn, id: i64, password_hash: &str) -> QueryResult<()> {
    diesel::update(users::table.filter(users::id.eq(id)))
        .set((
            users::password_hash.eq(password_hash),
            users::role.eq(w::ROLE_SERVICE),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_user(
    conn: &mut DbConn,
    username: &str,
    password_hash: &str,
    role: &str,
    now_ms: i64,
) -> QueryResult<UserRow> {
    diesel::insert_into(users::table)
        .values((
            users::username.eq(username),
            users::password_hash.eq(password_hash),
            users::role.eq(role),
            users::created_ms.eq(now_ms),
        ))
        .execute(conn)?;
    let id = last_insert_id(conn)?;
    users::table.find(id).get_result(conn)
}

pub fn list_users(conn: &mut DbConn) -> QueryResult<Vec<UserRow>> {
    users::table.order(users::id).load(conn)
}

// ---- sessions ----

pub fn insert_session(
    conn: &mut DbConn,
    key_hash: &str,
    user_id: i64,
    now_ms: i64,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::key_hash.eq(key_hash),
            sessions::user_id.eq(user_id),
            sessions::created_ms.eq(now_ms),
            sessions::last_seen_ms.eq(now_ms),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn find_session(conn: &mut DbConn, key_hash: &str) -> QueryResult<Option<SessionRow>> {
    sessions::table.find(key_hash).get_result(conn).optional()
}

pub fn touch_session(conn: &mut DbConn, key_hash: &str, now_ms: i64) -> QueryResult<()> {
    diesel::update(sessions::table.find(key_hash))
        .set(sessions::last_seen_ms.eq(now_ms))
        .execute(conn)
        .map(|_| ())
}

pub fn delete_session(conn: &mut DbConn, key_hash: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(key_hash)).execute(conn)
}

// ---- refresh tokens ----

#[derive(Debug, Clone, Queryable)]
pub struct RefreshRow {
    pub token_hash: String,
    pub user_id: i64,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub used_ms: Option<i64>,
}

pub fn insert_refresh(
    conn: &mut DbConn,
    token_hash: &str,
    user_id: i64,
    now_ms: i64,
    expires_ms: i64,
) -> QueryResult<usize> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::created_ms.eq(now_ms),
            refresh_tokens::expires_ms.eq(expires_ms),
        ))
        .execute(conn)
}

pub fn find_refresh(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<RefreshRow>> {
    refresh_tokens::table
        .find(token_hash)
        .get_result(conn)
        .optional()
}

/// Marks a refresh token used; 0 rows when it was used already (a concurrent redeem won).
pub fn use_refresh(conn: &mut DbConn, token_hash: &str, now_ms: i64) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .find(token_hash)
            .filter(refresh_tokens::used_ms.is_null()),
    )
    .set(refresh_tokens::used_ms.eq(now_ms))
    .execute(conn)
}

/// Ends every refresh token of `user_id`.
pub fn delete_refresh_of_user(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::user_id.eq(user_id))).execute(conn)
}

/// Removes refresh tokens past their expiry (each grant sweeps them).
pub fn delete_expired_refresh(conn: &mut DbConn, now_ms: i64) -> QueryResult<usize> {
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_ms.lt(now_ms)))
        .execute(conn)
}

/// Removes sessions past either expiry (a login sweeps them, so the table does not grow).
pub fn delete_expired_sessions(
    conn: &mut DbConn,
    idle_before_ms: i64,
    created_before_ms: i64,
) -> QueryResult<usize> {
    diesel::delete(
        sessions::table.filter(
            sessions::last_seen_ms
                .lt(idle_before_ms)
                .or(sessions::created_ms.lt(created_before_ms)),
        ),
    )
    .execute(conn)
}

// ---- images ----

pub fn insert_image(
    conn: &mut DbConn,
    name: &str,
    summary: Option<&str>,
    now_ms: i64,
) -> QueryResult<ImageRow> {
    diesel::insert_into(images::table)
        .values((
            images::name.eq(name),
            images::summary.eq(summary),
            images::created_ms.eq(now_ms),
        ))
        .execute(conn)?;
    let id = last_insert_id(conn)?;
    images::table.find(id).get_result(conn)
}

pub fn find_image(conn: &mut DbConn, id: i64) -> QueryResult<Option<ImageRow>> {
    images::table.find(id).get_result(conn).optional()
}

pub fn find_image_by_name(conn: &mut DbConn, name: &str) -> QueryResult<Option<ImageRow>> {
    images::table
        .filter(images::name.eq(name))
        .get_result(conn)
        .optional()
}

pub fn list_images(conn: &mut DbConn) -> QueryResult<Vec<ImageRow>> {
    images::table.order(images::id).load(conn)
}

// ---- hosts ----

pub fn insert_host(
    conn: &mut DbConn,
    address: &str,
    ssh_port: i32,
    capacity: i32,
    now_ms: i64,
) -> QueryResult<HostRow> {
    diesel::insert_into(hosts::table)
        .values((
            hosts::address.eq(address),
            hosts::ssh_port.eq(ssh_port),
            hosts::capacity.eq(capacity),
            hosts::used.eq(0),
            hosts::created_ms.eq(now_ms),
        ))
        .execute(conn)?;
    let id = last_insert_id(conn)?;
    hosts::table.find(id).get_result(conn)
}

pub fn find_host_by_address(conn: &mut DbConn, address: &str) -> QueryResult<Option<HostRow>> {
    hosts::table
        .filter(hosts::address.eq(address))
        .get_result(conn)
        .optional()
}

pub fn list_hosts(conn: &mut DbConn) -> QueryResult<Vec<HostRow>> {
    hosts::table.order(hosts::id).load(conn)
}

/// Hosts that had a free slot when this transaction first read, lowest id first.
pub fn hosts_with_free_slots(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<HostRow>> {
    hosts::table
        .filter(hosts::used.lt(hosts::capacity))
        .order(hosts::id)
        .limit(limit)
        .load(conn)
}

/// Takes one slot of `host_id` if it still has one; true when taken. The condition is checked
/// by the UPDATE itself (MySQL re-reads the latest row under its row lock; SQLite has one
/// writer), so two concurrent transactions can never both take the last slot.
pub fn take_slot(conn: &mut DbConn, host_id: i64) -> QueryResult<bool> {
    let changed = diesel::update(
        hosts::table
            .filter(hosts::id.eq(host_id))
            .filter(hosts::used.lt(hosts::capacity)),
    )
    .set(hosts::used.eq(hosts::used + 1))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn release_slot(conn: &mut DbConn, host_id: i64) -> QueryResult<()> {
    diesel::update(
        hosts::table
            .filter(hosts::id.eq(host_id))
            .filter(hosts::used.gt(0)),
    )
    .set(hosts::used.eq(hosts::used - 1))
    .execute(conn)
    .map(|_| ())
}

// ---- instances ----

pub struct NewInstance<'a> {
    pub user_id: i64,
    pub image_id: i64,
    pub name: &'a str,
    pub summary: Option<&'a str>,
    pub status: i32,
    pub host_id: Option<i64>,
    pub host_address: Option<&'a str>,
    pub vdi_port: Option<i32>,
}

pub fn insert_instance(
    conn: &mut DbConn,
    new: &NewInstance<'_>,
    now_ms: i64,
) -> QueryResult<InstanceRow> {
    diesel::insert_into(instances::table)
        .values((
            instances::user_id.eq(new.user_id),
            instances::image_id.eq(new.image_id),
            instances::name.eq(new.name),
            instances::summary.eq(new.summary),
            instances::status.eq(new.status),
            instances::host_id.eq(new.host_id),
            instances::host_address.eq(new.host_address),
            instances::vdi_port.eq(new.vdi_port),
            instances::created_ms.eq(now_ms),
            instances::updated_ms.eq(now_ms),
        ))
        .execute(conn)?;
    let id = last_insert_id(conn)?;
    instances::table.find(id).get_result(conn)
}

pub fn find_instance(conn: &mut DbConn, id: i64) -> QueryResult<Option<InstanceRow>> {
    instances::table.find(id).get_result(conn).optional()
}

pub fn set_instance_status(
    conn: &mut DbConn,
    id: i64,
    status: i32,
    now_ms: i64,
) -> QueryResult<()> {
    diesel::update(instances::table.find(id))
        .set((
            instances::status.eq(status),
            instances::updated_ms.eq(now_ms),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Marks the instance deleted and forgets its host (the caller released the slot).
pub fn mark_instance_deleted(conn: &mut DbConn, id: i64, now_ms: i64) -> QueryResult<()> {
    diesel::update(instances::table.find(id))
        .set((
            instances::status.eq(w::STATUS_DELETED),
            instances::host_id.eq(None::<i64>),
            instances::host_address.eq(None::<String>),
            instances::vdi_port.eq(None::<i32>),
            instances::updated_ms.eq(now_ms),
        ))
        .execute(conn)
        .map(|_| ())
}

/// One page of a user's instances that are not deleted, by id.
pub fn list_user_instances(
    conn: &mut DbConn,
    user_id: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<InstanceRow>> {
    instances::table
        .filter(instances::user_id.eq(user_id))
        .filter(instances::status.ne(w::STATUS_DELETED))
        .order(instances::id)
        .offset(offset)
        .limit(limit)
        .load(conn)
}

// ---- removal (administration) ----

/// Ids of the instances that are not deleted and belong to `user_id`, by id.
pub fn live_instances_of_user(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<i64>> {
    instances::table
        .filter(instances::user_id.eq(user_id))
        .filter(instances::status.ne(w::STATUS_DELETED))
        .select(instances::id)
        .order(instances::id)
        .load(conn)
}

/// Ids of the instances that are not deleted and were made from `image_id`, by id.
pub fn live_instances_of_image(conn: &mut DbConn, image_id: i64) -> QueryResult<Vec<i64>> {
    instances::table
        .filter(instances::image_id.eq(image_id))
        .filter(instances::status.ne(w::STATUS_DELETED))
        .select(instances::id)
        .order(instances::id)
        .load(conn)
}

/// Ids of the instances placed on `host_id` (deleted ones have no host), by id.
pub fn instances_on_host(conn: &mut DbConn, host_id: i64) -> QueryResult<Vec<i64>> {
    instances::table
        .filter(instances::host_id.eq(host_id))
        .select(instances::id)
        .order(instances::id)
        .load(conn)
}

pub fn find_host(conn: &mut DbConn, id: i64) -> QueryResult<Option<HostRow>> {
    hosts::table.find(id).get_result(conn).optional()
}

// ---- grants ----

pub struct NewGrant<'a> {
    pub user_id: i64,
    pub role: &'a str,
    pub cluster_id: i64,
    pub granted_by: &'a str,
}

pub fn insert_grant(conn: &mut DbConn, new: &NewGrant<'_>, now_ms: i64) -> QueryResult<GrantRow> {
    diesel::insert_into(grants::table)
        .values((
            grants::user_id.eq(new.user_id),
            grants::role.eq(new.role),
            grants::cluster_id.eq(new.cluster_id),
            grants::granted_by.eq(new.granted_by),
            grants::created_ms.eq(now_ms),
        ))
        .execute(conn)?;
    let id = last_insert_id(conn)?;
    grants::table
        .inner_join(users::table)
        .filter(grants::id.eq(id))
        .select(GRANT_COLUMNS)
        .get_result(conn)
}

pub fn find_grant(conn: &mut DbConn, id: i64) -> QueryResult<Option<GrantRow>> {
    grants::table
        .inner_join(users::table)
        .filter(grants::id.eq(id))
        .select(GRANT_COLUMNS)
        .get_result(conn)
        .optional()
}

/// The grant of `role` on `cluster_id` to `user_id`, if there is one.
pub fn find_same_grant(
    conn: &mut DbConn,
    user_id: i64,
    role: &str,
    cluster_id: i64,
) -> QueryResult<Option<GrantRow>> {
    grants::table
        .inner_join(users::table)
        .filter(grants::user_id.eq(user_id))
        .filter(grants::role.eq(role))
        .filter(grants::cluster_id.eq(cluster_id))
        .select(GRANT_COLUMNS)
        .get_result(conn)
        .optional()
}

/// Every grant, or those of `user_id`, by id.
pub fn list_grants(conn: &mut DbConn, user_id: Option<i64>) -> QueryResult<Vec<GrantRow>> {
    let mut query = grants::table
        .inner_join(users::table)
        .select(GRANT_COLUMNS)
        .order(grants::id)
        .into_boxed();
    if let Some(user_id) = user_id {
        query = query.filter(grants::user_id.eq(user_id));
    }
    query.load(conn)
}

/// Removes grant `id`; true when there was one.
pub fn delete_grant(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    let removed = diesel::delete(grants::table.find(id)).execute(conn)?;
    Ok(removed == 1)
}

/// Removes a user, their sessions, their grants and the rows of their deleted instances (the
/// caller made sure no other instance is theirs). Deleted rows only: should a live one have appeared
/// since, the foreign key refuses the user's removal and the transaction rolls back.
pub fn delete_user(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(conn)?;
    diesel::delete(grants::table.filter(grants::user_id.eq(id))).execute(conn)?;
    diesel::delete(
        instances::table
            .filter(instances::user_id.eq(id))
            .filter(instances::status.eq(w::STATUS_DELETED)),
    )
    .execute(conn)?;
    diesel::delete(users::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// Removes an image and the rows of the deleted instances made from it (as for users).
pub fn delete_image(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    diesel::delete(
        instances::table
            .filter(instances::image_id.eq(id))
            .filter(instances::status.eq(w::STATUS_DELETED)),
    )
    .execute(conn)?;
    diesel::delete(images::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// Removes a host only while no slot of it is leased; false when one is (or it is gone).
pub fn delete_idle_host(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    let removed = diesel::delete(
        hosts::table
            .filter(hosts::id.eq(id))
            .filter(hosts::used.eq(0)),
    )
    .execute(conn)?;
    Ok(removed == 1)
}
