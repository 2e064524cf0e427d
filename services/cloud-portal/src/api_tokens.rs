//! API tokens (issue #13): long-lived, named tokens for scripts and CI, with an expiry, the
//! roles their owner chose (never more than the owner holds), a last-used time, kept only as a
//! SHA-256, listed and revoked by their owner or an admin. A revoked token stops working on
//! every service within its verifier's `auth.revocation_poll_secs` (10 s by default): they
//! fetch [`ApiTokens::revoked`] (`GET /oauth/revoked`) that often.

use std::collections::HashSet;
use std::sync::Arc;

use kit::auth::{Grant, Principal, Role};
use kit::db::Db;
use sha2::{Digest, Sha256};
use wire::cloud_portal as w;

use crate::error::Error;
use crate::issuer::{ApiTokenClaims, Issuer};
use crate::portal::now_ms;
use crate::store::tokens::{self, ApiTokenRow, NewApiToken};

/// The longest an API token may live, and how long it lives when its creator does not say.
pub const MAX_DAYS: u64 = 365;
pub const DEFAULT_DAYS: u64 = 90;
/// A token's name: printable, at most this long.
pub const MAX_NAME: usize = 100;

pub struct ApiTokens {
    db: Db,
    issuer: Arc<Issuer>,
}

/// What a caller asks for.
pub struct NewToken {
    pub name: String,
    pub days: u64,
    /// The roles to carry; `None`: all the owner's.
    pub roles: Option<Vec<Role>>,
}

impl ApiTokens {
    pub fn new(db: Db, issuer: Arc<Issuer>) -> ApiTokens {
        ApiTokens { db, issuer }
    }

    /// A new token for `owner`: the token (shown once) and what is kept of it.
    pub async fn create(
        &self,
        owner: &Principal,
        asked: NewToken,
    ) -> Result<(String, w::ApiToken), Error> {
        let name = asked.name.trim().to_string();
        if name.is_empty()
            || name.chars().count() > MAX_NAME
            || kit::text::check_line("name", &name).is_err()
        {
            return Err(Error::BadArgument(format!(
                "invalid parameter `name`: 1 to {MAX_NAME} printable characters"
            )));
        }
        if !(1..=MAX_DAYS).contains(&asked.days) {
            return Err(Error::BadArgument(format!(
                "invalid parameter `expires_days`: between 1 and {MAX_DAYS}"
            )));
        }
        let roles: Vec<Role> = match asked.roles {
            None => owner.roles.clone(),
            Some(roles) => {
                if let Some(beyond) = roles.iter().find(|role| !owner.has(**role)) {
                    return Err(Error::Refused(format!(
                        "{} does not hold the role `{}`: a token carries no more than its owner",
                        owner.subject,
                        beyond.name()
                    )));
                }
                roles
            }
        };
        let role_names: Vec<&str> = roles.iter().map(|role| role.name()).collect();
        let grants: Vec<Grant> = owner.grants.clone();
        let jti = uuid::Uuid::new_v4().simple().to_string();
        let lifetime_secs = asked.days * 86_400;
        let token = self
            .issuer
            .api_token(&ApiTokenClaims {
                subject: &owner.subject,
                roles: &role_names,
                grants: &grants,
                jti: &jti,
                name: &name,
                lifetime_secs,
            })
            .map_err(|e| Error::Internal(kit::error::Fault::caused_by("cannot sign a token", e)))?;
        let now = now_ms();
        let row = NewApiToken {
            jti,
            owner: owner.subject.clone(),
            name,
            token_hash: hex::encode(Sha256::digest(token.as_bytes())),
            roles: role_names.join(","),
            created_ms: now,
            expires_ms: now.saturating_add(i64::try_from(lifetime_secs * 1000).unwrap_or(i64::MAX)),
        };
        let kept = self
            .db
            .write(move |conn| tokens::insert(conn, &row).map_err(Error::from))
            .await?;
        tracing::info!(owner = %kept.owner, token = kept.id, name = %kept.name, "API token created");
        Ok((token, listed(&kept)))
    }

    /// The tokens of `caller`; everyone's when `all` (admins only).
    pub async fn list(&self, caller: &Principal, all: bool) -> Result<Vec<w::ApiToken>, Error> {
        if all && !caller.has(Role::Admin) {
            return Err(Error::Refused(
                "only an admin lists everyone's tokens".into(),
            ));
        }
        let owner = (!all).then(|| caller.subject.clone());
        let rows = self
            .db
            .read(move |conn| tokens::list(conn, owner.as_deref()).map_err(Error::from))
            .await?;
        Ok(rows.iter().map(listed).collect())
    }

    /// Revokes token `id`: its owner or an admin may.
    pub async fn revoke(&self, caller: &Principal, id: i64) -> Result<w::ApiToken, Error> {
        let found = self
            .db
            .read(move |conn| tokens::find(conn, id).map_err(Error::from))
            .await?
            .ok_or_else(|| Error::NotFound(format!("no API token {id}")))?;
        if found.owner != caller.subject && !caller.has(Role::Admin) {
            return Err(Error::Refused(format!(
                "API token {id} is not {}'s: its owner or an admin revokes it",
                caller.subject
            )));
        }
        let by = caller.subject.clone();
        let now = now_ms();
        self.db
            .write(move |conn| tokens::revoke(conn, id, &by, now).map_err(Error::from))
            .await?;
        tracing::info!(token = id, by = %caller.subject, owner = %found.owner, "API token revoked");
        let revoked = self
            .db
            .read(move |conn| tokens::find(conn, id).map_err(Error::from))
            .await?
            .unwrap_or(found);
        Ok(listed(&revoked))
    }

    /// The ids of the revoked tokens still unexpired; marks `seen` (ids a verifier accepted) as
    /// used now.
    pub async fn revoked(&self, seen: Vec<String>) -> Result<HashSet<String>, Error> {
        let now = now_ms();
        if !seen.is_empty() {
            self.db
                .write(move |conn| tokens::mark_used(conn, &seen, now).map_err(Error::from))
                .await?;
        }
        let ids = self
            .db
            .read(move |conn| tokens::revoked_ids(conn, now).map_err(Error::from))
            .await?;
        Ok(ids.into_iter().collect())
    }
}

fn listed(row: &ApiTokenRow) -> w::ApiToken {
    w::ApiToken {
        id: row.id,
        name: row.name.clone(),
        owner: row.owner.clone(),
        roles: row
            .roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect(),
        created_ms: row.created_ms,
        expires_ms: row.expires_ms,
        last_used_ms: row.last_used_ms,
        revoked_ms: row.revoked_ms,
        revoked_by: row.revoked_by.clone(),
    }
}
