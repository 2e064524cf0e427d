//! The portal's domain: users and sessions, images, hosts, and the instance lifecycle.
//! It knows nothing of HTTP: routes hand it checked values and wrap what it returns.

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use kit::auth::{Grant, Role};
use kit::db::{Db, DbConn};
use kit::error::Fault;
use wire::cloud_portal as w;
use wire::host::HostAddress;

use crate::auth::{self, LoginThrottle};
use crate::config::{Config, PasswordHashConfig, SessionConfig};
use crate::driver::{ComputeDriver, Power};
use crate::error::Error;
/// A signed-in user, as the portal's operations take it.
pub use crate::store::UserRow as User;
use crate::store::UserRow;
use crate::store::{self, GrantRow, InstanceRow, NewGrant, NewInstance};

/// The most instances one service call may create or give back.
pub const MAX_BATCH: usize = 100;

fn id_for_log(existing: &Option<UserRow>) -> &'static str {
    if existing.is_some() {
        "updated"
    } else {
        "created"
    }
}

/// The password hash of users made from a bearer token: not a PHC string, so no password
/// matches it and such a user never signs in with `/api/login`.
const NO_PASSWORD: &str = "!token-only";
/// `sepa` of `/api/myun/instance`: the seed document's default, and our ceiling.
pub const DEFAULT_SEPA: i64 = 10;
pub const MAX_SEPA: i64 = 1000;

pub struct Portal {
    db: Db,
    driver: Arc<dyn ComputeDriver>,
    session: SessionConfig,
    hash_cost: PasswordHashConfig,
    throttle: LoginThrottle,
    /// Verified against when the username is unknown, so that a wrong user costs the same
    /// argon2 work as a wrong password (no user enumeration by timing).
    dummy_hash: String,
    /// When expired sessions were last swept (ms since the epoch).
    last_sweep_ms: AtomicI64,
    /// One argon2 computation per core at a time: each takes ~19 MiB and a core for tens of
    /// milliseconds, so 64 concurrent logins would otherwise take 1.2 GiB and starve every
    /// other request of CPU. Logins beyond the cap wait their turn.
    hashing: tokio::sync::Semaphore,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

// ---- checks of user input (also used by the configuration) ----

pub fn check_username(name: &str, value: &str) -> Result<(), Error> {
    let ok_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if value.is_empty() || value.len() > 64 || !ok_chars {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{name}`: 1 to 64 letters, digits, `.`, `_`, `-` or `@`"
        )));
    }
    Ok(())
}

pub fn check_password(name: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() || value.len() > 1024 {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{name}`: 1 to 1024 bytes"
        )));
    }
    Ok(())
}

/// A name of an instance or image: 1 to 255 characters, no control characters.
pub fn check_name(name: &str, value: &str) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 255 || value.chars().any(char::is_control) {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{name}`: 1 to 255 printable characters"
        )));
    }
    Ok(value.to_string())
}

pub fn check_summary(name: &str, value: Option<String>) -> Result<Option<String>, Error> {
    match value {
        None => Ok(None),
        Some(s) if s.chars().count() > 1024 => Err(Error::BadArgument(format!(
            "invalid parameter `{name}`: at most 1024 characters"
        ))),
        Some(s) => Ok(Some(s)),
    }
}

/// A host address: an IP literal or a DNS host name (`wire::host::HostAddress`, the one
/// validator), surrounding spaces dropped; the error names the parameter.
pub fn check_address(name: &str, value: &str) -> Result<String, Error> {
    HostAddress::parse(value.trim())
        .map(HostAddress::into_string)
        .map_err(|e| Error::BadArgument(format!("invalid parameter `{name}`: {e}")))
}

pub fn check_role(value: &str) -> Result<&'static str, Error> {
    match value {
        w::ROLE_USER => Ok(w::ROLE_USER),
        w::ROLE_ADMIN => Ok(w::ROLE_ADMIN),
        w::ROLE_SERVICE => Ok(w::ROLE_SERVICE),
        other => Err(Error::BadArgument(format!(
            "invalid parameter `role`: `{other}` is not one of user, admin, service"
        ))),
    }
}

/// A role that may be granted on one cluster: viewer or operator. Admin and service are
/// platform-wide: they come with the portal role (`/api/admin/user/add`'s `role`).
pub fn check_grant_role(value: &str) -> Result<Role, Error> {
    match value {
        "viewer" => Ok(Role::Viewer),
        "operator" => Ok(Role::Operator),
        _ => Err(Error::BadArgument(format!(
            "invalid parameter `role`: `{value}` is not one of viewer, operator \
             (admin and service are platform-wide: a user's role, not a grant)"
        ))),
    }
}

/// A grant as a token's `grants` claim lists it.
pub fn token_grant(row: &GrantRow) -> Result<Grant, Error> {
    let role = Role::parse(&row.role).ok_or_else(|| {
        Error::Internal(Fault::new(format!(
            "grant {} holds the unknown role `{}`",
            row.id, row.role
        )))
    })?;
    Ok(Grant {
        role,
        cluster: row.cluster_id,
    })
}

/// A session key as we issue them (hex digits are case-insensitive); anything else is no session.
fn session_key(key: Option<String>) -> Result<String, Error> {
    match key {
        Some(key) if auth::looks_like_session_key(key.trim()) => Ok(key.trim().to_lowercase()),
        _ => Err(Error::RequiresAuthentication),
    }
}

// ---- the lifecycle ----

/// What a caller asks of an existing instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Run,
    Stop,
    Reboot,
    Delete,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Run => "run",
            Action::Stop => "stop",
            Action::Reboot => "reboot",
            Action::Delete => "delete",
        }
    }
}

fn is_running(status: i32) -> bool {
    matches!(
        status,
        w::STATUS_RUNNING | w::STATUS_OSM_CONNECTED | w::STATUS_APP_RUNNING
    )
}

/// The state machine: the status after `action`, or why it cannot happen.
pub fn next_status(id: i64, status: i32, action: Action) -> Result<i32, Error> {
    let next = match action {
        Action::Run if matches!(status, w::STATUS_NEW | w::STATUS_STOPPED) => {
            Some(w::STATUS_RUNNING)
        }
        Action::Stop if is_running(status) || status == w::STATUS_SUSPEND => {
            Some(w::STATUS_STOPPED)
        }
        Action::Reboot if is_running(status) => Some(w::STATUS_RUNNING),
        Action::Delete if status != w::STATUS_DELETED => Some(w::STATUS_DELETED),
        _ => None,
    };
    next.ok_or_else(|| {
        Error::Conflict(format!(
            "Instance {id} can not {}: {}",
            action.verb(),
            w::status_string(status)
        ))
    })
}

/// Loads an instance and checks that `user` owns it, with the original's messages.
fn owned_instance(conn: &mut DbConn, user: &UserRow, id: i64) -> Result<InstanceRow, Error> {
    let instance = store::find_instance(conn, id)?
        .ok_or_else(|| Error::NotFound(format!("Can not find instance {id}")))?;
    if instance.user_id != user.id {
        return Err(Error::Refused(format!("Instance {id} is someone else's")));
    }
    Ok(instance)
}

/// Applies `action` to the instance through the driver, in the caller's transaction.
fn apply(
    conn: &mut DbConn,
    driver: &dyn ComputeDriver,
    instance: &InstanceRow,
    action: Action,
    now: i64,
) -> Result<InstanceRow, Error> {
    let next = next_status(instance.id, instance.status, action)?;
    match action {
        Action::Run => driver.power(conn, instance, Power::Start)?,
        Action::Stop => driver.power(conn, instance, Power::Stop)?,
        Action::Reboot => driver.power(conn, instance, Power::Reboot)?,
        Action::Delete => {
            if is_running(instance.status) {
                driver.power(conn, instance, Power::Stop)?;
            }
            driver.release(conn, instance)?;
        }
    }
    if action == Action::Delete {
        store::mark_instance_deleted(conn, instance.id, now)?;
    } else {
        store::set_instance_status(conn, instance.id, next, now)?;
    }
    store::find_instance(conn, instance.id)?
        .ok_or_else(|| Error::Internal(format!("instance {} vanished", instance.id).into()))
}

/// What a new instance is to be: whose, of which image, its name, and the status it starts in.
struct Order<'a> {
    user_id: i64,
    image_id: i64,
    name: &'a str,
    summary: Option<&'a str>,
    status: i32,
}

/// Places and records a new instance, in the caller's transaction.
fn create_in(
    conn: &mut DbConn,
    driver: &dyn ComputeDriver,
    order: &Order<'_>,
    now: i64,
) -> Result<InstanceRow, Error> {
    let placement = driver.place(conn)?;
    let row = store::insert_instance(
        conn,
        &NewInstance {
            user_id: order.user_id,
            image_id: order.image_id,
            name: order.name,
            summary: order.summary,
            status: w::STATUS_NEW,
            host_id: placement.host_id,
            host_address: Some(&placement.address),
            vdi_port: placement.vdi_port,
        },
        now,
    )?;
    if order.status == w::STATUS_NEW {
        return Ok(row);
    }
    driver.power(conn, &row, Power::Start)?;
    store::set_instance_status(conn, row.id, order.status, now)?;
    store::find_instance(conn, row.id)?
        .ok_or_else(|| Error::Internal(format!("instance {} vanished", row.id).into()))
}

/// Which image a service call names: by id or by name (the orchestrator's `vm_type`).
#[derive(Debug, Clone)]
pub enum ImageRef {
    Id(i64),
    Name(String),
}

impl Portal {
    pub fn new(db: Db, driver: Arc<dyn ComputeDriver>, config: &Config) -> Result<Self, Error> {
        let dummy_hash = auth::hash_password("no user has this password", &config.password_hash)
            .map_err(|e| Error::Internal(Fault::caused_by(e.to_string(), e)))?;
        Ok(Portal {
            db,
            driver,
            session: config.session.clone(),
            hash_cost: config.password_hash.clone(),
            throttle: LoginThrottle::new(&config.login),
            dummy_hash,
            last_sweep_ms: AtomicI64::new(0),
            hashing: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
        })
    }

    /// `Db::write` that tries the whole transaction again (up to 3 times in all) when the
    /// database gave it up because of another (a MySQL deadlock between concurrent creates and
    /// deletes is rare, host rows being locked in id order, but not impossible).
    async fn write<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: Fn(&mut DbConn) -> Result<T, Error> + Clone + Send + 'static,
        T: Send + 'static,
    {
        let mut attempt = 1;
        loop {
            match self.db.write(work.clone()).await {
                Err(Error::Busy(reason)) if attempt < 3 => {
                    tracing::warn!(attempt, %reason, "transaction lost to another; retrying");
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(10 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// A turn at the argon2 cap (see `hashing`).
    async fn hashing_turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>, Error> {
        self.hashing
            .acquire()
            .await
            .map_err(|e| Error::Internal(Fault::caused_by(e.to_string(), e)))
    }

    async fn hash(&self, password: String) -> Result<String, Error> {
        let cost = self.hash_cost.clone();
        let _turn = self.hashing_turn().await?;
        tokio::task::spawn_blocking(move || auth::hash_password(&password, &cost))
            .await
            .map_err(|e| Error::Internal(Fault::caused_by(e.to_string(), e)))?
            .map_err(|e| Error::Internal(Fault::caused_by(e.to_string(), e)))
    }

    // ---- start-up ----

    /// Creates the configured admin (and, when on, the demo data) if absent.
    pub async fn bootstrap(&self, config: &Config) -> Result<(), Error> {
        let username = config.admin.username.clone();
        let exists = {
            let username = username.clone();
            self.db
                .read(move |conn| store::find_user_by_name(conn, &username).map_err(Error::from))
                .await?
                .is_some()
        };
        if !exists {
            let hash = self
                .hash(config.admin.password.expose_secret().to_string())
                .await?;
            self.write(move |conn| {
                store::insert_user(conn, &username, &hash, w::ROLE_ADMIN, now_ms())
                    .map_err(Error::from)
            })
            .await?;
            tracing::info!(user = %config.admin.username, "created the admin user");
        }
        for client in &config.issuer.clients {
            self.ensure_service_account(&client.id, &client.secret())
                .await?;
        }
        if config.demo.enabled {
            self.create_demo().await?;
        }
        Ok(())
    }

    /// A service account named `id` whose password is `secret`: made, or its secret reset
    /// when the configured one changed.
    async fn ensure_service_account(&self, id: &str, secret: &str) -> Result<(), Error> {
        check_username("issuer.clients.id", id)?;
        let existing = {
            let id = id.to_string();
            self.db
                .read(move |conn| store::find_user_by_name(conn, &id).map_err(Error::from))
                .await?
        };
        if let Some(user) = &existing {
            let (password, hash) = (secret.to_string(), user.password_hash.clone());
            let same = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
                .await
                .map_err(|e| Error::Internal(Fault::caused_by(e.to_string(), e)))?;
            if same && user.role == w::ROLE_SERVICE {
                return Ok(());
            }
        }
        let hash = self.hash(secret.to_string()).await?;
        let id = id.to_string();
        self.write(move |conn| {
            match store::find_user_by_name(conn, &id)? {
                Some(user) => store::set_service_account(conn, user.id, &hash)?,
                None => {
                    store::insert_user(conn, &id, &hash, w::ROLE_SERVICE, now_ms())?;
                }
            }
            Ok(())
        })
        .await?;
        tracing::info!(client = %id_for_log(&existing), "service identity ready");
        Ok(())
    }

    /// The demo of the embedded default: user `luoyun`/`luoyun` (the seed's example), an
    /// image, ten hosts on 127.0.0.2-11 of one slot each (one address per instance, as the
    /// orchestrator's nodes need), and two instances like the seed's example list.
    async fn create_demo(&self) -> Result<(), Error> {
        let exists = self
            .db
            .read(|conn| store::find_user_by_name(conn, "luoyun").map_err(Error::from))
            .await?
            .is_some();
        if exists {
            return Ok(());
        }
        let hash = self.hash("luoyun".into()).await?;
        let driver = self.driver.clone();
        self.write(move |conn| {
            let now = now_ms();
            let user = store::insert_user(conn, "luoyun", &hash, w::ROLE_USER, now)?;
            let image = match store::find_image_by_name(conn, "ubuntu 12.04 64位版")? {
                Some(image) => image,
                None => store::insert_image(conn, "ubuntu 12.04 64位版", Some("demo image"), now)?,
            };
            for last in 2..=11 {
                let address = format!("127.0.0.{last}");
                if store::find_host_by_address(conn, &address)?.is_none() {
                    store::insert_host(conn, &address, 22, 1, now)?;
                }
            }
            let d = driver.as_ref();
            for (name, status) in [
                ("openerp7 img gz", w::STATUS_STOPPED),
                ("gallery3", w::STATUS_NEW),
            ] {
                let order = Order {
                    user_id: user.id,
                    image_id: image.id,
                    name,
                    summary: None,
                    status,
                };
                create_in(conn, d, &order, now)?;
            }
            Ok::<_, Error>(())
        })
        .await?;
        tracing::info!("created the demo user luoyun, an image, hosts and instances");
        Ok(())
    }

    // ---- sessions ----

    /// Checks the password and opens a session; returns its key (shown once, stored hashed).
    pub async fn login(
        &self,
        username: String,
        password: String,
        client: Option<IpAddr>,
    ) -> Result<String, Error> {
        let user = self.check_password_of(username, password, client).await?;
        let key = auth::new_session_key();
        let key_hash = auth::session_key_hash(&key);
        let (idle_ms, absolute_ms) = self.expiry_ms();
        self.write(move |conn| Ok(store::insert_session(conn, &key_hash, user.id, now_ms())?))
            .await?;
        self.sweep_sessions(idle_ms, absolute_ms).await;
        Ok(key)
    }

    /// A new refresh token for `user_id` lasting `ttl_secs`, kept as its SHA-256 (expired
    /// ones are swept on the way).
    pub async fn issue_refresh_token(&self, user_id: i64, ttl_secs: u64) -> Result<String, Error> {
        let token = auth::new_session_key();
        let hash = auth::session_key_hash(&token);
        let lifetime_ms = i64::try_from(ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 2);
        self.write(move |conn| {
            let now = now_ms();
            store::delete_expired_refresh(conn, now)?;
            store::insert_refresh(conn, &hash, user_id, now, now.saturating_add(lifetime_ms))?;
            Ok(())
        })
        .await?;
        Ok(token)
    }

    /// The user a refresh token was given to, once: the token is used up by this call.
    /// `None` when it is unknown, expired, or its user is gone — or when it was used before,
    /// in which case every refresh token of its user ends too (a used token presented again
    /// was stolen or replayed; RFC 9700, 4.14.2).
    pub async fn redeem_refresh_token(&self, token: String) -> Result<Option<User>, Error> {
        let hash = auth::session_key_hash(&token);
        self.write(move |conn| {
            let now = now_ms();
            let Some(row) = store::find_refresh(conn, &hash)? else {
                return Ok(None);
            };
            if row.expires_ms < now {
                return Ok(None);
            }
            if row.used_ms.is_some() || store::use_refresh(conn, &hash, now)? == 0 {
                store::delete_refresh_of_user(conn, row.user_id)?;
                tracing::warn!(
                    user = row.user_id,
                    "a used refresh token was presented again: every refresh token of its user ended"
                );
                return Ok(None);
            }
            Ok(store::find_user(conn, row.user_id)?)
        })
        .await
    }

    /// The user `username` if `password` is theirs: failures slowed down per user and client
    /// address, the same answer for an unknown user and a wrong password (login and the
    /// token endpoint alike).
    pub async fn check_password_of(
        &self,
        username: String,
        password: String,
        client: Option<IpAddr>,
    ) -> Result<User, Error> {
        if let Err(retry_after_secs) = self.throttle.check(&username, client) {
            return Err(Error::LoginThrottled { retry_after_secs });
        }
        let user = {
            let username = username.clone();
            self.db
                .read(move |conn| store::find_user_by_name(conn, &username).map_err(Error::from))
                .await?
        };
        let hash = user
            .as_ref()
            .map_or_else(|| self.dummy_hash.clone(), |u| u.password_hash.clone());
        let turn = self.hashing_turn().await?;
        let matches = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
            .await
            .map_err(|e| Error::Internal(Fault::caused_by(e.to_string(), e)))?;
        drop(turn);
        let user = match user {
            Some(user) if matches => user,
            _ => {
                self.throttle.record_failure(&username, client);
                return Err(Error::LoginFailed);
            }
        };
        self.throttle.record_success(&username, client);
        Ok(user)
    }

    /// Removes expired sessions so that the table does not grow with sessions nobody logged out
    /// of. Logins call it; it runs at most once per min(idle timeout, 1 minute), in its own
    /// short transaction: a failure is logged, never the login's problem.
    async fn sweep_sessions(&self, idle_ms: i64, absolute_ms: i64) {
        let now = now_ms();
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        if now - last < idle_ms.min(60_000)
            || self
                .last_sweep_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let swept = self
            .write(move |conn| {
                Ok(store::delete_expired_sessions(
                    conn,
                    now - idle_ms,
                    now - absolute_ms,
                )?)
            })
            .await;
        match swept {
            Ok(n) => tracing::debug!(removed = n, "expired sessions swept"),
            Err(e) => tracing::warn!(error = %e, "sweeping expired sessions failed"),
        }
    }

    fn expiry_ms(&self) -> (i64, i64) {
        let ms = |secs: u64| i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        (
            ms(self.session.idle_timeout_secs),
            ms(self.session.absolute_timeout_secs),
        )
    }

    /// Ends the session (which must be live: an unknown key is refused like everywhere).
    pub async fn logout(&self, key: Option<String>) -> Result<(), Error> {
        let key = session_key(key)?;
        self.authenticate(Some(key.clone())).await?;
        let key_hash = auth::session_key_hash(&key);
        self.write(move |conn| store::delete_session(conn, &key_hash).map_err(Error::from))
            .await?;
        Ok(())
    }

    /// The user of a live session; the session's idle clock restarts. The check is a read;
    /// the last-use time is written only when it is older than [`Self::touch_after_ms`], so a
    /// busy session does not turn every request into a write.
    pub async fn authenticate(&self, key: Option<String>) -> Result<UserRow, Error> {
        let key_hash = auth::session_key_hash(&session_key(key)?);
        let found = {
            let key_hash = key_hash.clone();
            self.db
                .read(move |conn| {
                    let Some(session) = store::find_session(conn, &key_hash)? else {
                        return Ok::<_, Error>(None);
                    };
                    let user = store::find_user(conn, session.user_id)?;
                    Ok(user.map(|user| (session, user)))
                })
                .await?
        };
        let Some((session, user)) = found else {
            return Err(Error::RequiresAuthentication);
        };
        let (idle_ms, absolute_ms) = self.expiry_ms();
        let now = now_ms();
        if now - session.last_seen_ms > idle_ms || now - session.created_ms > absolute_ms {
            // Expired: forget it now, and refuse.
            self.write(move |conn| Ok(store::delete_session(conn, &key_hash)?))
                .await?;
            return Err(Error::RequiresAuthentication);
        }
        if now - session.last_seen_ms >= self.touch_after_ms() {
            self.write(move |conn| Ok(store::touch_session(conn, &key_hash, now)?))
                .await?;
        }
        Ok(user)
    }

    /// How stale a session's last-use time may get before it is rewritten: a tenth of the
    /// idle timeout, at most a second (so a session may expire up to that much early).
    fn touch_after_ms(&self) -> i64 {
        (self.expiry_ms().0 / 10).min(1000)
    }

    pub fn require_role(user: &UserRow, roles: &[&str], what: &str) -> Result<(), Error> {
        if roles.contains(&user.role.as_str()) {
            Ok(())
        } else {
            Err(Error::Refused(format!(
                "{what} requires the role {}; {} is a {}",
                roles.join(" or "),
                user.username,
                user.role
            )))
        }
    }

    // ---- the seed's reads ----

    pub async fn instance(&self, user: UserRow, id: i64) -> Result<InstanceRow, Error> {
        self.db
            .read(move |conn| owned_instance(conn, &user, id))
            .await
    }

    pub async fn my_instances(
        &self,
        user: UserRow,
        page: i64,
        sepa: i64,
    ) -> Result<Vec<InstanceRow>, Error> {
        let offset = (page - 1).saturating_mul(sepa);
        self.db
            .read(move |conn| {
                store::list_user_instances(conn, user.id, offset, sepa).map_err(Error::from)
            })
            .await
    }

    // ---- the lifecycle ----

    pub async fn create_instance(
        &self,
        user: UserRow,
        image_id: i64,
        name: String,
        summary: Option<String>,
    ) -> Result<InstanceRow, Error> {
        let driver = self.driver.clone();
        self.write(move |conn| {
            if store::find_image(conn, image_id)?.is_none() {
                return Err(Error::NotFound(format!("Can not find image {image_id}")));
            }
            let order = Order {
                user_id: user.id,
                image_id,
                name: &name,
                summary: summary.as_deref(),
                status: w::STATUS_NEW,
            };
            create_in(conn, driver.as_ref(), &order, now_ms())
        })
        .await
    }

    pub async fn act(&self, user: UserRow, id: i64, action: Action) -> Result<InstanceRow, Error> {
        let driver = self.driver.clone();
        self.write(move |conn| {
            let instance = owned_instance(conn, &user, id)?;
            apply(conn, driver.as_ref(), &instance, action, now_ms())
        })
        .await
    }

    // ---- the service API ----

    /// Creates `count` running instances of an image for a service account, all or none.
    pub async fn create_for_service(
        &self,
        user: UserRow,
        image: ImageRef,
        count: usize,
        name: Option<String>,
    ) -> Result<Vec<InstanceRow>, Error> {
        let driver = self.driver.clone();
        self.write(move |conn| {
            let found = match &image {
                ImageRef::Id(id) => store::find_image(conn, *id)?,
                ImageRef::Name(name) => store::find_image_by_name(conn, name)?,
            };
            let image = found.ok_or_else(|| {
                Error::NotFound(match &image {
                    ImageRef::Id(id) => format!("Can not find image {id}"),
                    ImageRef::Name(name) => format!("Can not find image {name}"),
                })
            })?;
            let name = name.clone().unwrap_or_else(|| image.name.clone());
            let now = now_ms();
            let order = Order {
                user_id: user.id,
                image_id: image.id,
                name: &name,
                summary: None,
                status: w::STATUS_RUNNING,
            };
            let mut created = Vec::with_capacity(count);
            for _ in 0..count {
                let row = create_in(conn, driver.as_ref(), &order, now).map_err(|e| match e {
                    Error::NoCapacity(_) => Error::NoCapacity(format!(
                        "No free host: {count} instance(s) requested, room for {}",
                        created.len()
                    )),
                    other => other,
                })?;
                created.push(row);
            }
            Ok(created)
        })
        .await
    }

    /// Deletes the caller's instances and releases their hosts, all or none. An instance
    /// already deleted counts as given back, so a retried call succeeds.
    pub async fn return_for_service(
        &self,
        user: UserRow,
        ids: Vec<i64>,
    ) -> Result<Vec<i64>, Error> {
        let driver = self.driver.clone();
        self.write(move |conn| {
            let now = now_ms();
            let mut live = Vec::with_capacity(ids.len());
            for id in &ids {
                let instance = owned_instance(conn, &user, *id)?;
                if instance.status != w::STATUS_DELETED {
                    live.push(instance);
                }
            }
            // Release hosts in host id order, the order creates lock them in.
            live.sort_by_key(|i| (i.host_id, i.id));
            for instance in &live {
                apply(conn, driver.as_ref(), instance, Action::Delete, now)?;
            }
            Ok(ids.clone())
        })
        .await
    }

    // ---- administration ----

    pub async fn add_user(
        &self,
        username: String,
        password: String,
        role: &'static str,
    ) -> Result<UserRow, Error> {
        let hash = self.hash(password).await?;
        self.write(move |conn| {
            if store::find_user_by_name(conn, &username)?.is_some() {
                return Err(Error::Conflict(format!("User {username} already exists")));
            }
            Ok(store::insert_user(conn, &username, &hash, role, now_ms())?)
        })
        .await
    }

    /// The portal user a verified bearer token speaks for: the user named by its subject, made
    /// on first sight (no password: such a user signs in at its identity provider, never with
    /// `/api/login`), acting with the portal role its token's roles give (`portal_role`).
    pub async fn user_of_token(
        &self,
        subject: String,
        portal_role: &'static str,
    ) -> Result<UserRow, Error> {
        check_username("sub", &subject)?;
        let name = subject.clone();
        let made = self
            .write(move |conn| {
                if let Some(user) = store::find_user_by_name(conn, &name)? {
                    return Ok(user);
                }
                Ok(store::insert_user(
                    conn,
                    &name,
                    NO_PASSWORD,
                    portal_role,
                    now_ms(),
                )?)
            })
            .await;
        let mut user = match made {
            Ok(user) => user,
            // Two first requests of one subject raced; the other made the user: read it.
            Err(Error::Conflict(_)) => self
                .db
                .read(move |conn| store::find_user_by_name(conn, &subject).map_err(Error::from))
                .await?
                .ok_or_else(|| Error::Internal("a user made concurrently has gone".into()))?,
            Err(other) => return Err(other),
        };
        user.role = portal_role.to_string();
        Ok(user)
    }

    // ---- grants (roles on single clusters) ----

    /// Grants `role` on cluster `cluster_id` to the user named `username`; `actor` (the
    /// verified subject of the admin) is recorded as who granted it.
    pub async fn add_grant(
        &self,
        actor: String,
        username: String,
        role: Role,
        cluster_id: i64,
    ) -> Result<GrantRow, Error> {
        let row = self
            .write(move |conn| {
                let user = store::find_user_by_name(conn, &username)?
                    .ok_or_else(|| Error::NotFound(format!("Can not find user {username}")))?;
                if let Some(same) = store::find_same_grant(conn, user.id, role.name(), cluster_id)?
                {
                    return Err(Error::Conflict(format!(
                        "User {username} already holds {} on cluster {cluster_id} (grant {})",
                        role.name(),
                        same.id
                    )));
                }
                let new = NewGrant {
                    user_id: user.id,
                    role: role.name(),
                    cluster_id,
                    granted_by: &actor,
                };
                Ok(store::insert_grant(conn, &new, now_ms())?)
            })
            .await?;
        tracing::info!(
            grant = row.id,
            user = %row.username,
            role = %row.role,
            cluster = row.cluster_id,
            by = %row.granted_by,
            "grant added"
        );
        Ok(row)
    }

    /// Revokes grant `id`; `actor` is logged as who revoked it.
    pub async fn delete_grant(&self, actor: String, id: i64) -> Result<GrantRow, Error> {
        let row = self
            .write(move |conn| {
                let grant = store::find_grant(conn, id)?
                    .ok_or_else(|| Error::NotFound(format!("Can not find grant {id}")))?;
                if !store::delete_grant(conn, id)? {
                    return Err(Error::NotFound(format!("Can not find grant {id}")));
                }
                Ok(grant)
            })
            .await?;
        tracing::info!(
            grant = row.id,
            user = %row.username,
            role = %row.role,
            cluster = row.cluster_id,
            granted_by = %row.granted_by,
            by = %actor,
            "grant revoked"
        );
        Ok(row)
    }

    /// Every grant, or those of the user named `username` (who must exist).
    pub async fn grants(&self, username: Option<String>) -> Result<Vec<GrantRow>, Error> {
        self.db
            .read(move |conn| {
                let user_id = match &username {
                    Some(name) => Some(
                        store::find_user_by_name(conn, name)?
                            .ok_or_else(|| Error::NotFound(format!("Can not find user {name}")))?
                            .id,
                    ),
                    None => None,
                };
                Ok(store::list_grants(conn, user_id)?)
            })
            .await
    }

    /// The grants of user `user_id`, as their tokens carry them.
    pub async fn token_grants_of(&self, user_id: i64) -> Result<Vec<Grant>, Error> {
        let rows = self
            .db
            .read(move |conn| store::list_grants(conn, Some(user_id)).map_err(Error::from))
            .await?;
        rows.iter().map(token_grant).collect()
    }

    pub async fn users(&self) -> Result<Vec<UserRow>, Error> {
        self.db
            .read(|conn| store::list_users(conn).map_err(Error::from))
            .await
    }

    pub async fn add_image(
        &self,
        name: String,
        summary: Option<String>,
    ) -> Result<store::ImageRow, Error> {
        self.write(move |conn| {
            if store::find_image_by_name(conn, &name)?.is_some() {
                return Err(Error::Conflict(format!("Image {name} already exists")));
            }
            Ok(store::insert_image(
                conn,
                &name,
                summary.as_deref(),
                now_ms(),
            )?)
        })
        .await
    }

    pub async fn images(&self) -> Result<Vec<store::ImageRow>, Error> {
        self.db
            .read(|conn| store::list_images(conn).map_err(Error::from))
            .await
    }

    pub async fn add_host(
        &self,
        address: String,
        ssh_port: i32,
        capacity: i32,
    ) -> Result<store::HostRow, Error> {
        self.write(move |conn| {
            if store::find_host_by_address(conn, &address)?.is_some() {
                return Err(Error::Conflict(format!("Host {address} already exists")));
            }
            Ok(store::insert_host(
                conn,
                &address,
                ssh_port,
                capacity,
                now_ms(),
            )?)
        })
        .await
    }

    pub async fn hosts(&self) -> Result<Vec<store::HostRow>, Error> {
        self.db
            .read(|conn| store::list_hosts(conn).map_err(Error::from))
            .await
    }

    /// Removes a user who has no instance left (deleted ones are forgotten with them), and
    /// their sessions. `caller` may not remove themself: an admin always remains.
    pub async fn delete_user(&self, caller: UserRow, id: i64) -> Result<UserRow, Error> {
        if caller.id == id {
            return Err(Error::Conflict(format!(
                "User {} can not delete itself",
                caller.username
            )));
        }
        self.write(move |conn| {
            let user = store::find_user(conn, id)?
                .ok_or_else(|| Error::NotFound(format!("Can not find user {id}")))?;
            let live = store::live_instances_of_user(conn, id)?;
            if !live.is_empty() {
                return Err(Error::Conflict(format!(
                    "User {} still has {}: delete them first",
                    user.username,
                    instances_in_use(&live)
                )));
            }
            store::delete_user(conn, id)?;
            Ok(user)
        })
        .await
    }

    /// Removes an image no instance uses any more (deleted ones are forgotten with it).
    pub async fn delete_image(&self, id: i64) -> Result<store::ImageRow, Error> {
        self.write(move |conn| {
            let image = store::find_image(conn, id)?
                .ok_or_else(|| Error::NotFound(format!("Can not find image {id}")))?;
            let live = store::live_instances_of_image(conn, id)?;
            if !live.is_empty() {
                return Err(Error::Conflict(format!(
                    "Image {} is still used by {}: delete them first",
                    image.name,
                    instances_in_use(&live)
                )));
            }
            store::delete_image(conn, id)?;
            Ok(image)
        })
        .await
    }

    /// Removes a host of the pool with no leased slot.
    pub async fn delete_host(&self, id: i64) -> Result<store::HostRow, Error> {
        self.write(move |conn| {
            let host = store::find_host(conn, id)?
                .ok_or_else(|| Error::NotFound(format!("Can not find host {id}")))?;
            let placed = store::instances_on_host(conn, id)?;
            if !placed.is_empty() {
                return Err(Error::Conflict(format!(
                    "Host {} still holds {}: delete them first",
                    host.address,
                    instances_in_use(&placed)
                )));
            }
            // The DELETE checks `used = 0` itself: a slot leased since the read above, by a
            // create not yet committed, still keeps the host.
            if !store::delete_idle_host(conn, id)? {
                return Err(Error::Conflict(format!(
                    "Host {} has a slot being leased: try again",
                    host.address
                )));
            }
            Ok(host)
        })
        .await
    }
}

/// "2 instances (3, 4)" for a refusal, naming at most 10 of them.
fn instances_in_use(ids: &[i64]) -> String {
    const SHOWN: usize = 10;
    let mut named: Vec<String> = ids.iter().take(SHOWN).map(i64::to_string).collect();
    if ids.len() > SHOWN {
        named.push("...".into());
    }
    let noun = if ids.len() == 1 {
        "instance"
    } else {
        "instances"
    };
    format!("{} {noun} ({})", ids.len(), named.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_machine_allows_only_possible_transitions() {
        use Action::*;
        let cases = [
            (w::STATUS_NEW, Run, Some(w::STATUS_RUNNING)),
            (w::STATUS_NEW, Stop, None),
            (w::STATUS_NEW, Reboot, None),
            (w::STATUS_NEW, Delete, Some(w::STATUS_DELETED)),
            (w::STATUS_RUNNING, Run, None),
            (w::STATUS_RUNNING, Stop, Some(w::STATUS_STOPPED)),
            (w::STATUS_RUNNING, Reboot, Some(w::STATUS_RUNNING)),
            (w::STATUS_APP_RUNNING, Stop, Some(w::STATUS_STOPPED)),
            (w::STATUS_STOPPED, Run, Some(w::STATUS_RUNNING)),
            (w::STATUS_STOPPED, Stop, None),
            (w::STATUS_STOPPED, Reboot, None),
            (w::STATUS_SUSPEND, Stop, Some(w::STATUS_STOPPED)),
            (w::STATUS_DELETED, Run, None),
            (w::STATUS_DELETED, Delete, None),
            (w::STATUS_DISK_MISSING, Run, None),
        ];
        for (from, action, to) in cases {
            assert_eq!(
                next_status(7, from, action).ok(),
                to,
                "{from} {}",
                action.verb()
            );
        }
        let refused = next_status(7, w::STATUS_STOPPED, Stop).expect_err("refused");
        assert_eq!(
            refused.to_string(),
            "Instance 7 can not stop: instance is stopped"
        );
    }

    #[test]
    fn refusals_name_at_most_ten_instances() {
        assert_eq!(instances_in_use(&[7]), "1 instance (7)");
        assert_eq!(instances_in_use(&[3, 4]), "2 instances (3, 4)");
        let many: Vec<i64> = (1..=12).collect();
        assert_eq!(
            instances_in_use(&many),
            "12 instances (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ...)"
        );
    }

    #[test]
    fn addresses_are_ips_or_host_names() {
        assert!(check_address("address", "127.0.0.2").is_ok());
        assert!(check_address("address", "::1").is_ok());
        assert!(check_address("address", "node-1.example.com").is_ok());
        assert!(check_address("address", "").is_err());
        assert!(check_address("address", "a b").is_err());
        assert!(check_address("address", "a..b").is_err());
        assert!(check_address("address", "0").is_err());
        assert!(check_address("address", "-oProxyCommand=x").is_err());
        assert_eq!(
            check_address("address", " 10.0.0.1 ").ok().as_deref(),
            Some("10.0.0.1")
        );
    }
}
