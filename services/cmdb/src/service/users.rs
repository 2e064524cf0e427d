//! Users and api-key signing: the admin made at start, the signature check of every
//! request, and the users routes.

use chrono::Utc;
use serde_json::{Map, Value};
use wire::cmdb as w;

use super::{now, Cmdb};
use crate::auth::{self, Access, Actor};
use crate::error::Error;
use crate::store;
use kit::error::Fault;

impl Cmdb {
    // ---- users and signing ----

    /// Creates the configured admin if missing (writing generated credentials to the
    /// credentials file), or gives it the configured key and secret.
    pub async fn ensure_admin(&self) -> Result<(), Error> {
        let auth = self.auth.clone();
        self.db
            .write(move |conn| {
                let existing = store::user_by_name(conn, &auth.admin_user)?;
                let configured = !auth.admin_key.is_empty();
                match existing {
                    Some(user) => {
                        if configured
                            && (user.api_key != auth.admin_key || user.secret != auth.admin_secret.expose_secret())
                        {
                            store::set_user_keys(conn, user.id, &auth.admin_key, auth.admin_secret.expose_secret())?;
                        }
                        Ok(())
                    }
                    None => {
                        let (key, secret) = if configured {
                            (auth.admin_key.clone(), auth.admin_secret.expose_secret().to_string())
                        } else {
                            (random_hex(16), random_hex(20))
                        };
                        store::insert_user(conn, &auth.admin_user, &key, &secret, true, now())?;
                        if !configured {
                            // Inside the transaction: if the file cannot be written, no admin
                            // is created whose secret nobody could read.
                            write_credentials(&auth.credentials_file, &auth.admin_user, &key, &secret)?;
                            tracing::info!(file = %auth.credentials_file, user = %auth.admin_user,
                                "admin user created; its api key and secret are in the credentials file");
                        }
                        Ok(())
                    }
                }
            })
            .await
    }

    /// Checks a request signed with an api key (one without `Authorization`): its signature
    /// (in DCP's form or veops CMDB's, see [`auth::veops_signature`]; `raw` holds the JSON
    /// body's numbers as written), and the right to `access` of the user's platform roles ([`auth::roles_of_user`]);
    /// removes `_key`, `_secret` and `_ts` from the parameters.
    pub async fn authenticate(
        &self,
        path: &str,
        access: Access,
        params: &mut Map<String, Value>,
        raw: &auth::RawNumbers,
    ) -> Result<Actor, Error> {
        let key = params.get("_key").map(auth::signed_text);
        let Some(key) = key.filter(|k| !k.is_empty()) else {
            return Err(Error::Unauthenticated(
                "not authenticated: send `Authorization: Bearer <access token>`, or sign the \
                 request with an api key (`_key` and `_secret`, see proto-docs/cmdb.md)"
                    .into(),
            ));
        };
        let Some(given) = params.get("_secret").map(auth::signed_text) else {
            return Err(Error::Unauthenticated(
                "missing parameter `_secret`: the request's signature".into(),
            ));
        };
        let lookup = key.clone();
        let user = self
            .db
            .read(move |conn| store::user_by_key(conn, &lookup).map_err(Error::from))
            .await?
            .ok_or_else(|| {
                Error::Unauthenticated(format!("invalid parameter `_key`: unknown api key `{key}`"))
            })?;
        // Either form of the values (DCP's clients' or veops CMDB's Python client's), over
        // the path as sent or decoded.
        let decoded = auth::decoded_path(path);
        let mut paths = vec![path];
        if decoded != path {
            paths.push(decoded.as_str());
        }
        let signed = paths.iter().any(|p| {
            auth::same_signature(&auth::signature(p, &user.secret, params), &given)
                || auth::same_signature(
                    &auth::veops_signature(p, &user.secret, params, raw),
                    &given,
                )
        });
        if !signed {
            return Err(Error::Unauthenticated(
                "invalid parameter `_secret`: the signature does not match (sha1 hex of path + \
                 secret + the other parameters' values ordered by name)"
                    .into(),
            ));
        }
        match params.get("_ts").map(auth::signed_text) {
            Some(ts) => {
                let at: i64 = ts.trim().parse().map_err(|_| {
                    Error::Unauthenticated(format!(
                        "invalid parameter `_ts`: `{ts}` is not unix seconds"
                    ))
                })?;
                let skew = (Utc::now().timestamp() - at).abs();
                if skew > self.auth.ts_window_secs as i64 {
                    return Err(Error::Unauthenticated(format!(
                        "invalid parameter `_ts`: {skew} s away from the server's clock (window {} s)",
                        self.auth.ts_window_secs
                    )));
                }
            }
            None if self.auth.require_ts => {
                return Err(Error::Unauthenticated(
                    "missing parameter `_ts`: signed requests must carry unix seconds in `_ts`"
                        .into(),
                ))
            }
            None => {}
        }
        for name in ["_key", "_secret", "_ts"] {
            params.remove(name);
        }
        let principal = kit::auth::Principal {
            subject: user.username.clone(),
            roles: auth::roles_of_user(user.is_admin),
            grants: Vec::new(),
        };
        if !access.decision().admits(&principal) {
            return Err(Error::Forbidden(format!(
                "user `{}` is not an admin: changing attributes, CI types, type relations and \
                 users needs an admin",
                user.username
            )));
        }
        Ok(Actor::of_user(user.id, user.username))
    }

    pub async fn create_user(&self, username: String, is_admin: bool) -> Result<w::User, Error> {
        kit::text::check_line("username", &username)?;
        if username.trim().is_empty() || username.chars().count() > 128 {
            return Err(Error::BadArgument(
                "invalid parameter `username`: 1 to 128 characters".into(),
            ));
        }
        self.db
            .write(move |conn| {
                if store::user_by_name(conn, &username)?.is_some() {
                    return Err(Error::Duplicate(format!(
                        "user `{username}` already exists"
                    )));
                }
                let (key, secret) = (random_hex(16), random_hex(20));
                store::insert_user(conn, &username, &key, &secret, is_admin, now()).map_err(
                    |e| Error::already_exists(e, || format!("user `{username}` already exists")),
                )?;
                let user = store::user_by_name(conn, &username)?
                    .ok_or_else(|| Error::Internal("the new user vanished".into()))?;
                Ok(user.to_wire())
            })
            .await
    }

    pub async fn user(&self, username: String) -> Result<w::User, Error> {
        self.db
            .read(move |conn| {
                store::user_by_name(conn, &username)?
                    .map(|u| u.to_wire())
                    .ok_or_else(|| Error::NotFound(format!("user `{username}` is not found")))
            })
            .await
    }
}

fn random_hex(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(raw)
}

fn write_credentials(path: &str, user: &str, key: &str, secret: &str) -> Result<(), Error> {
    use std::io::Write;
    let failed = |e: std::io::Error| {
        Error::Internal(Fault::caused_by(
            format!("cannot write admin credentials to {path}: {e}"),
            e,
        ))
    };
    if let Some(dir) = std::path::Path::new(path).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Only the operator running the service may read the secret.
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(failed)?;
    let body = serde_json::json!({"username": user, "api_key": key, "secret": secret});
    writeln!(file, "{body}").map_err(failed)
}
