//! One diesel connection type over SQLite and MySQL/MariaDB, chosen by the URL scheme.
//!
//! Services write their queries once against [`DbConn`]. The pool picks the backend itself
//! (diesel's own `establish` on a multi-connection hides the real error), migrations are
//! embedded per dialect, and [`Db::read`] / [`Db::write`] run diesel on the blocking pool.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::mysql::MysqlConnection;
use diesel::sql_types::BigInt;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

use crate::config::DatabaseConfig;

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Mysql(MysqlConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Mysql,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unsupported database URL `{0}`: use sqlite://PATH or mysql://USER:PASSWORD@HOST:PORT/DATABASE"
)]
pub struct UnsupportedUrl(String);

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, UnsupportedUrl> {
        if url.starts_with("sqlite://") && url.len() > "sqlite://".len() {
            Ok(Backend::Sqlite)
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            Ok(Backend::Mysql)
        } else {
            Err(UnsupportedUrl(redact(url)))
        }
    }
}

/// The URL without its password, fit for logs and error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Everything that can go wrong between a handler and the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database task failed: {0}")]
    Task(String),
}

/// What a diesel error means to a service, so each service maps kinds (not backend codes and
/// messages) to its own error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A unique key refused the row: two writers raced past an existence check.
    Duplicate(String),
    /// A foreign key refused the change: the row is still referenced.
    StillReferenced(String),
    /// The connection to the database is gone.
    ConnectionLost(String),
    /// The database gave the transaction up for another (deadlock, lock wait, serialization,
    /// SQLite busy): trying again may succeed.
    Busy(String),
    /// A query for one row found none.
    NotFound,
    /// Anything else: a bug or a broken database; logged here.
    Other(String),
}

pub fn classify(error: &diesel::result::Error) -> Failure {
    use diesel::result::{DatabaseErrorKind as Kind, Error as D};
    match error {
        D::DatabaseError(Kind::UniqueViolation, info) => {
            Failure::Duplicate(info.message().to_string())
        }
        D::DatabaseError(Kind::ForeignKeyViolation, info) => {
            Failure::StillReferenced(info.message().to_string())
        }
        D::DatabaseError(Kind::ClosedConnection | Kind::UnableToSendCommand, info) => {
            Failure::ConnectionLost(info.message().to_string())
        }
        D::DatabaseError(Kind::SerializationFailure, info) => {
            Failure::Busy(info.message().to_string())
        }
        D::DatabaseError(_, info) if is_busy(info.message()) => {
            Failure::Busy(info.message().to_string())
        }
        D::NotFound => Failure::NotFound,
        other => {
            tracing::error!(error = %other, "database error");
            Failure::Other(other.to_string())
        }
    }
}

/// MySQL's deadlock and lock-wait messages and SQLite's busy/locked ones, which diesel does
/// not give a kind of their own.
fn is_busy(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("deadlock")
        || message.contains("lock wait timeout")
        || message.contains("database is locked")
        || message.contains("database is busy")
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("{0}")]
    Setup(#[from] diesel::result::Error),
}

/// How long a request waits for a probe of a database known to be down before it is refused:
/// a refused connection answers well within it, a frozen database never does.
const PROBE_WAIT: Duration = Duration::from_millis(50);
/// How often a request waiting for a connection looks again at the circuit.
const CHECKOUT_SLICE: Duration = Duration::from_millis(20);
/// r2d2 retries a failed connect in the background, the delay doubling up to half of this:
/// kept short so a database that comes back gets connections at once.
const POOL_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// `/readyz` answers within this (or the request deadline, if shorter), whatever the
/// database does; its wait for a free connection is shorter still, so a busy pool is told
/// apart from a database that does not answer.
const READY_DEADLINE: Duration = Duration::from_secs(2);
const READY_CONNECTION_WAIT: Duration = Duration::from_secs(1);

/// What the service knows of its database's health, shared by requests and the pool.
///
/// A circuit breaker: while the database is known to be unreachable (a connect failed, or a
/// request outlived its deadline) requests are refused at once instead of each waiting out a
/// timeout. A request arriving while it is open starts a probe (one at a time: a fresh
/// connection and `SELECT 1`) and waits [`PROBE_WAIT`] for it; the first probe or pool
/// connect that succeeds closes the circuit, so the first request after the database answers
/// again is served.
struct Circuit {
    open: AtomicBool,
    reason: Mutex<String>,
    /// Raised whenever a connection is found dead or the circuit opens: every connection made
    /// before is checked with `SELECT 1` once before its next use, since it may be as stale.
    generation: AtomicU64,
    probing: AtomicBool,
    probed: tokio::sync::Notify,
}

impl Circuit {
    fn new() -> Circuit {
        Circuit {
            open: AtomicBool::new(false),
            reason: Mutex::new(String::new()),
            generation: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            probed: tokio::sync::Notify::new(),
        }
    }

    fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn trip(&self, reason: String) {
        *lock(&self.reason) = reason.clone();
        if !self.open.swap(true, Ordering::AcqRel) {
            self.generation.fetch_add(1, Ordering::AcqRel);
            tracing::warn!(%reason, "database unavailable: refusing requests until it answers");
        }
    }

    fn close(&self) {
        if self.open.swap(false, Ordering::AcqRel) {
            tracing::info!("database answers again");
        }
    }

    fn suspect_older_connections(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn refusal(&self) -> DbError {
        DbError::Unavailable(lock(&self.reason).clone())
    }
}

/// A mutex whose data stays usable after a panic elsewhere (it only holds plain values).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A pooled connection: marked broken when it failed a check, so the pool drops it, and
/// stamped with the circuit's generation when it was last known to answer.
pub struct Pooled {
    pub conn: DbConn,
    broken: bool,
    generation: u64,
}

/// An r2d2 manager that picks the backend from the URL, reports the backend's own error, and
/// tells the circuit whether the database can be reached.
#[derive(Clone)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
    circuit: Arc<Circuit>,
}

impl ConnectionManager {
    pub fn new(url: &str) -> Result<Self, UnsupportedUrl> {
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite => url.trim_start_matches("sqlite://").to_string(),
            Backend::Mysql => url.replacen("mariadb://", "mysql://", 1),
        };
        Ok(ConnectionManager {
            url,
            backend,
            circuit: Arc::new(Circuit::new()),
        })
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = Pooled;
    type Error = ConnectError;

    fn connect(&self) -> Result<Pooled, ConnectError> {
        match self.establish() {
            Ok(conn) => {
                self.circuit.close();
                Ok(Pooled {
                    conn,
                    broken: false,
                    generation: self.circuit.generation(),
                })
            }
            Err(e) => {
                self.circuit.trip(format!("cannot connect ({e})"));
                Err(e)
            }
        }
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), ConnectError> {
        pooled
            .conn
            .batch_execute("SELECT 1")
            .map_err(ConnectError::from)
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.broken
    }
}

impl ConnectionManager {
    fn establish(&self) -> Result<DbConn, ConnectError> {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url)?;
                // WAL lets readers run beside the writer; the busy timeout waits out other processes.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )?;
                Ok(DbConn::Sqlite(conn))
            }
            Backend::Mysql => {
                let mut conn = MysqlConnection::establish(&self.url)?;
                conn.batch_execute("SET NAMES utf8mb4; SET time_zone = '+00:00';")?;
                Ok(DbConn::Mysql(conn))
            }
        }
    }

    /// A fresh connection that answers `SELECT 1`, made outside the pool and dropped.
    fn probe(&self) -> Result<(), ConnectError> {
        self.establish()?.batch_execute("SELECT 1")?;
        Ok(())
    }
}

/// The embedded migrations of one service, one set per dialect.
///
/// Built by [`crate::migrations!`] from the service's `migrations/sqlite` and
/// `migrations/mysql` folders.
pub struct Migrations {
    pub sqlite: EmbeddedMigrations,
    pub mysql: EmbeddedMigrations,
}

/// The blocking side of [`Db`]: checks connections out and runs work on them, on a blocking
/// thread.
#[derive(Clone)]
struct Source {
    pool: r2d2::Pool<ConnectionManager>,
    circuit: Arc<Circuit>,
    /// How long to wait for a connection while the pool is merely busy.
    connection_wait: Duration,
}

impl Source {
    /// A connection that answers. Refused at once while the circuit is open; a connection
    /// older than the last sign of trouble is checked first, and dropped if dead.
    fn checkout(&self) -> Result<r2d2::PooledConnection<ConnectionManager>, DbError> {
        let give_up = Instant::now() + self.connection_wait;
        loop {
            if self.circuit.is_open() {
                return Err(self.circuit.refusal());
            }
            match self.pool.get_timeout(CHECKOUT_SLICE) {
                Ok(mut pooled) => {
                    let current = self.circuit.generation();
                    if pooled.generation < current {
                        if pooled.conn.batch_execute("SELECT 1").is_err() {
                            pooled.broken = true;
                            continue;
                        }
                        pooled.generation = current;
                    }
                    return Ok(pooled);
                }
                Err(_) if Instant::now() >= give_up => {
                    return Err(DbError::Unavailable(format!(
                        "no database connection free within {} ms",
                        self.connection_wait.as_millis()
                    )));
                }
                Err(_) => continue,
            }
        }
    }

    /// After work on `pooled` failed: whether the connection itself is dead. A dead one is
    /// dropped by the pool and makes every older connection suspect.
    fn is_lost(&self, pooled: &mut Pooled) -> bool {
        if pooled.conn.batch_execute("SELECT 1").is_ok() {
            return false;
        }
        pooled.broken = true;
        self.circuit.suspect_older_connections();
        true
    }

    /// Runs a read; one that failed because its connection was dead runs again, once, on
    /// another (a read has no effect to repeat).
    fn read<T, E, F>(&self, mut work: F) -> Result<T, E>
    where
        F: FnMut(&mut DbConn) -> Result<T, E>,
        E: From<DbError>,
    {
        let mut pooled = self.checkout()?;
        let result = work(&mut pooled.conn);
        if result.is_ok() || !self.is_lost(&mut pooled) {
            return result;
        }
        drop(pooled);
        tracing::info!("a pooled database connection was dead; reading again on another");
        let mut pooled = self.checkout()?;
        let result = work(&mut pooled.conn);
        if result.is_err() && self.is_lost(&mut pooled) {
            return Err(lost_connection().into());
        }
        result
    }

    /// Runs work in one transaction. When the connection turns out dead before the
    /// transaction began (a stale connection fails at `BEGIN`), nothing reached the database:
    /// it runs again, once, on another. A connection lost later is reported, never retried
    /// here: the change may or may not have been committed.
    fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E>,
        E: From<DbError> + From<diesel::result::Error>,
    {
        let mut work = Some(work);
        for attempt in 0..2 {
            let mut pooled = self.checkout()?;
            let mut began = false;
            let result = pooled.conn.transaction(|conn| {
                began = true;
                match work.take() {
                    Some(work) => work(conn),
                    None => Err(DbError::Task("the write ran twice".into()).into()),
                }
            });
            if result.is_ok() || !self.is_lost(&mut pooled) {
                return result;
            }
            if began || attempt > 0 {
                return Err(lost_connection().into());
            }
            tracing::info!("a pooled database connection was dead; writing on another");
        }
        Err(lost_connection().into())
    }
}

fn lost_connection() -> DbError {
    DbError::Unavailable("the connection was lost".into())
}

/// The service's handle on its database.
#[derive(Clone)]
pub struct Db {
    source: Source,
    /// For probes of a database known to be down, made outside the pool.
    manager: ConnectionManager,
    circuit: Arc<Circuit>,
    backend: Backend,
    /// SQLite has one writer at a time; queueing writers here avoids "database is locked"
    /// when a read transaction would have to upgrade. MySQL does not need it.
    sqlite_writer: Arc<Mutex<()>>,
    /// One permit per pooled connection, taken before going to the blocking pool: requests
    /// beyond the pool wait here as futures rather than as parked threads fighting for a
    /// connection (on two cores the thread churn cost more than the queries). A request that
    /// outlives its deadline leaves its permit with its thread until the thread is done.
    permits: Arc<tokio::sync::Semaphore>,
    /// How long a request waits for a free connection while the pool is busy.
    connection_wait: Duration,
    /// How long a request may wait for the database in all before it is answered 503.
    deadline: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Url(#[from] UnsupportedUrl),
    #[error("cannot prepare database {url}: {reason}")]
    Prepare { url: String, reason: String },
    #[error("cannot connect to database {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("migrations failed on {url}: {reason}")]
    Migrate { url: String, reason: String },
    #[error("database start-up task failed: {0}")]
    Task(String),
}

impl Db {
    /// Connects (creating the SQLite file or the MySQL database if asked), then runs migrations.
    pub fn open(config: &DatabaseConfig, migrations: Migrations) -> Result<Db, OpenError> {
        let backend = Backend::from_url(&config.url)?;
        let shown = redact(&config.url);
        prepare(backend, config).map_err(|reason| OpenError::Prepare {
            url: shown.clone(),
            reason,
        })?;
        let manager = ConnectionManager::new(&config.url)?;
        let circuit = manager.circuit.clone();
        let pool = r2d2::Pool::builder()
            .max_size(config.pool_size)
            // Connections are checked after an error, and once after any sign of trouble
            // (see `Source::checkout`), instead of on every checkout; and recycled well before
            // MySQL's wait_timeout would close them.
            .test_on_check_out(false)
            .idle_timeout(Some(Duration::from_secs(300)))
            .max_lifetime(Some(Duration::from_secs(1800)))
            .min_idle(Some(1))
            .connection_timeout(POOL_CONNECT_TIMEOUT)
            .build_unchecked(manager.clone());
        let connection_wait = Duration::from_secs(config.connect_timeout_secs);
        let db = Db {
            source: Source {
                pool,
                circuit: circuit.clone(),
                connection_wait,
            },
            manager,
            circuit,
            backend,
            sqlite_writer: Arc::new(Mutex::new(())),
            permits: Arc::new(tokio::sync::Semaphore::new(config.pool_size as usize)),
            connection_wait,
            deadline: Duration::from_millis(config.request_deadline_ms),
        };
        let mut conn =
            db.source
                .pool
                .get_timeout(connection_wait)
                .map_err(|e| OpenError::Connect {
                    url: shown.clone(),
                    reason: e.to_string(),
                })?;
        let applied = match &mut conn.conn {
            DbConn::Sqlite(c) => c.run_pending_migrations(migrations.sqlite).map(|v| v.len()),
            DbConn::Mysql(c) => c.run_pending_migrations(migrations.mysql).map(|v| v.len()),
        }
        .map_err(|e| OpenError::Migrate {
            url: shown.clone(),
            reason: e.to_string(),
        })?;
        tracing::info!(database = %shown, applied, "database ready");
        Ok(db)
    }

    /// [`Db::open`] on the blocking pool, for async start-up code.
    pub async fn open_async(
        config: &DatabaseConfig,
        migrations: Migrations,
    ) -> Result<Db, OpenError> {
        let config = config.clone();
        tokio::task::spawn_blocking(move || Db::open(&config, migrations))
            .await
            .map_err(|e| OpenError::Task(e.to_string()))?
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs read-only diesel work on the blocking pool. The work may run twice (see
    /// `Source::read`), so it must not change anything outside the database.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnMut(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let source = self.source.clone();
        self.run(move || source.read(work)).await
    }

    /// Runs diesel work in one transaction on the blocking pool; any error rolls it back.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        let source = self.source.clone();
        let sqlite_writer = (self.backend == Backend::Sqlite).then(|| self.sqlite_writer.clone());
        self.run(move || {
            let _turn = sqlite_writer.as_deref().map(lock);
            source.write(work)
        })
        .await
    }

    /// Runs `job` on the blocking pool within the request deadline: refused at once while the
    /// database is known down, 503 when the deadline passes (the job's thread finishes on its
    /// own, and its outcome is unknown to the caller — see proto-docs on timed-out writes).
    async fn run<T, E, J>(&self, job: J) -> Result<T, E>
    where
        J: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.admit().await?;
        let started = Instant::now();
        let wait = self.connection_wait.min(self.deadline);
        let permit = match tokio::time::timeout(wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(closed)) => return Err(DbError::Task(closed.to_string()).into()),
            Err(_) => {
                return Err(DbError::Unavailable(format!(
                    "no database connection free within {} ms",
                    wait.as_millis()
                ))
                .into())
            }
        };
        let handle = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        });
        let remaining = self.deadline.saturating_sub(started.elapsed());
        match tokio::time::timeout(remaining, handle).await {
            Ok(Ok(result)) => result,
            Ok(Err(failed)) => Err(DbError::Task(failed.to_string()).into()),
            Err(_) => Err(self.no_answer(self.deadline).into()),
        }
    }

    /// Opens the circuit: the database did not answer within `deadline`.
    fn no_answer(&self, deadline: Duration) -> DbError {
        let reason = format!("no answer within {} ms", deadline.as_millis());
        self.circuit.trip(reason.clone());
        DbError::Unavailable(reason)
    }

    /// Lets a request through unless the database is known down; then it starts a probe (or
    /// joins the one under way) and waits for its answer up to [`PROBE_WAIT`]. A database that
    /// refuses connections answers the probe at once; one that is frozen never does, and the
    /// request is refused when the wait is over.
    async fn admit(&self) -> Result<(), DbError> {
        if !self.circuit.is_open() {
            return Ok(());
        }
        // Registered before the probe can finish, so its notification is not missed.
        let probed = self.circuit.probed.notified();
        self.start_probe();
        // The wait ends with the probe or the time limit; the circuit says which.
        let _ = tokio::time::timeout(PROBE_WAIT, probed).await;
        if self.circuit.is_open() {
            Err(self.circuit.refusal())
        } else {
            Ok(())
        }
    }

    /// Starts a probe unless one is under way.
    fn start_probe(&self) {
        if self.circuit.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let manager = self.manager.clone();
        let circuit = self.circuit.clone();
        tokio::spawn(async move {
            // No time limit: against a frozen database the probe waits with it, and one
            // probe at a time is all there is.
            match tokio::task::spawn_blocking(move || manager.probe()).await {
                Ok(Ok(())) => circuit.close(),
                Ok(Err(e)) => circuit.trip(format!("cannot connect ({e})")),
                Err(e) => tracing::error!(error = %e, "database probe failed"),
            }
            circuit.probing.store(false, Ordering::Release);
            circuit.probed.notify_waiters();
        });
    }

    /// `Ok` when a connection can be had and answers `SELECT 1`, within two seconds (or the
    /// request deadline, if shorter).
    pub async fn ping(&self) -> Result<(), String> {
        self.admit().await.map_err(|e| e.to_string())?;
        let source = Source {
            connection_wait: READY_CONNECTION_WAIT,
            ..self.source.clone()
        };
        let deadline = READY_DEADLINE.min(self.deadline);
        let started = Instant::now();
        // Behind the same permits as requests: a flood of /readyz (it needs no token) queues
        // here instead of spawning a blocking thread each.
        let wait = READY_CONNECTION_WAIT.min(deadline / 2);
        let permit = tokio::time::timeout(wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                format!(
                    "database unavailable: no connection free within {} ms",
                    wait.as_millis()
                )
            })?
            .map_err(|closed| closed.to_string())?;
        let handle = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            source.read(|conn| conn.batch_execute("SELECT 1").map_err(DbError::from))
        });
        let remaining = deadline.saturating_sub(started.elapsed());
        match tokio::time::timeout(remaining, handle).await {
            Ok(Ok(answered)) => answered.map_err(|e| e.to_string()),
            Ok(Err(failed)) => Err(failed.to_string()),
            Err(_) => Err(self.no_answer(deadline).to_string()),
        }
    }
}

impl crate::server::Readiness for Db {
    fn ready(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(self.ping())
    }
}

/// The id of the row the last INSERT on this connection created (no RETURNING on the multi-backend).
pub fn last_insert_id(conn: &mut DbConn) -> diesel::QueryResult<i64> {
    let query = match conn {
        DbConn::Sqlite(_) => "last_insert_rowid()",
        DbConn::Mysql(_) => "CAST(LAST_INSERT_ID() AS SIGNED)",
    };
    diesel::select(diesel::dsl::sql::<BigInt>(query)).get_result(conn)
}

/// Creates what must exist before the pool can connect: the SQLite file (private, with its
/// folder), or the MySQL database.
fn prepare(backend: Backend, config: &DatabaseConfig) -> Result<(), String> {
    match backend {
        Backend::Sqlite => {
            let path = std::path::Path::new(config.url.trim_start_matches("sqlite://"));
            prepare_sqlite_file(path)
        }
        Backend::Mysql if config.create_database => {
            let url = config.url.replacen("mariadb://", "mysql://", 1);
            let (server_url, name) = split_mysql_database(&url).ok_or_else(|| {
                "the URL names no database (mysql://USER@HOST:PORT/DATABASE)".to_string()
            })?;
            let mut conn = MysqlConnection::establish(&server_url).map_err(|e| e.to_string())?;
            conn.batch_execute(&format!(
                "CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            ))
            .map_err(|e| e.to_string())
        }
        Backend::Mysql => Ok(()),
    }
}

/// What SQLite keeps beside a database file: the write-ahead log, its index, and the
/// rollback journal (before WAL is on).
const SQLITE_COMPANIONS: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Makes the SQLite database at `path` readable by its owner only, since services keep
/// secrets in their databases (api secrets, password hashes, session keys): a missing folder
/// is created 0700, a missing file is created 0600 before SQLite opens it, and an existing
/// file and its companions lose any group and other bits. SQLite creates `-wal` and `-shm`
/// with the mode of the database file (`findCreateFileMode` in its unix VFS), so they are
/// 0600 too (checked by `sqlite_files_are_private`). In-memory and `file:` URI databases
/// are left alone.
fn prepare_sqlite_file(path: &std::path::Path) -> Result<(), String> {
    let shown = path.display();
    let text = path.to_string_lossy();
    if text == ":memory:" || text.starts_with("file:") {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            private_dir_builder()
                .create(dir)
                .map_err(|e| format!("cannot create folder {}: {e}", dir.display()))?;
        }
    }
    match private_file_options().open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            restrict_to_owner(path).map_err(|e| format!("cannot make {shown} private: {e}"))?;
            for suffix in SQLITE_COMPANIONS {
                let mut companion = path.as_os_str().to_owned();
                companion.push(suffix);
                let companion = std::path::PathBuf::from(companion);
                if companion.exists() {
                    restrict_to_owner(&companion)
                        .map_err(|e| format!("cannot make {} private: {e}", companion.display()))?;
                }
            }
            Ok(())
        }
        Err(e) => Err(format!("cannot create {shown}: {e}")),
    }
}

fn private_dir_builder() -> std::fs::DirBuilder {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
}

fn private_file_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Clears the group and other permission bits of `path`, if it has any.
fn restrict_to_owner(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Splits `mysql://u:p@h:3306/name?opts` into (`mysql://u:p@h:3306/?opts`, `name`).
pub fn split_mysql_database(url: &str) -> Option<(String, String)> {
    let after_scheme = url.find("://")? + 3;
    let slash = after_scheme + url[after_scheme..].find('/')?;
    let (path, query) = match url[slash + 1..].find('?') {
        Some(q) => (&url[slash + 1..slash + 1 + q], &url[slash + 1 + q..]),
        None => (&url[slash + 1..], ""),
    };
    let valid = !path.is_empty()
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    valid.then(|| (format!("{}/{}", &url[..slash], query), path.to_string()))
}

/// The calling service's [`Migrations`], embedded from its `migrations/sqlite` and
/// `migrations/mysql` folders (the crate uses `diesel_migrations`).
#[macro_export]
macro_rules! migrations {
    () => {{
        const SQLITE: ::diesel_migrations::EmbeddedMigrations =
            ::diesel_migrations::embed_migrations!("migrations/sqlite");
        const MYSQL: ::diesel_migrations::EmbeddedMigrations =
            ::diesel_migrations::embed_migrations!("migrations/mysql");
        $crate::db::Migrations {
            sqlite: SQLITE,
            mysql: MYSQL,
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified_by_kind_and_busy_messages() {
        use diesel::result::{DatabaseErrorKind as Kind, Error as D};
        let db = |kind, message: &str| D::DatabaseError(kind, Box::new(message.to_string()));
        assert_eq!(
            classify(&db(Kind::UniqueViolation, "dup")),
            Failure::Duplicate("dup".into())
        );
        assert_eq!(
            classify(&db(Kind::ForeignKeyViolation, "fk")),
            Failure::StillReferenced("fk".into())
        );
        assert_eq!(
            classify(&db(Kind::ClosedConnection, "gone")),
            Failure::ConnectionLost("gone".into())
        );
        let deadlock = "Deadlock found when trying to get lock; try restarting transaction";
        assert_eq!(
            classify(&db(Kind::Unknown, deadlock)),
            Failure::Busy(deadlock.into())
        );
        assert_eq!(
            classify(&db(Kind::Unknown, "database is locked")),
            Failure::Busy("database is locked".into())
        );
        assert_eq!(classify(&D::NotFound), Failure::NotFound);
        assert!(matches!(
            classify(&db(Kind::Unknown, "syntax")),
            Failure::Other(_)
        ));
    }

    #[cfg(unix)]
    fn mode(path: &std::path::Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    }

    #[cfg(unix)]
    fn companion(path: &std::path::Path, suffix: &str) -> std::path::PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        name.into()
    }

    /// A fresh database: its folders are 0700, the file 0600, and the `-wal` and `-shm`
    /// SQLite makes beside it on the first write take the file's 0600 (whatever the umask).
    #[cfg(unix)]
    #[test]
    fn sqlite_files_are_private() {
        use r2d2::ManageConnection;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("var").join("db").join("x.db");
        let config = DatabaseConfig::sqlite(&path.to_string_lossy());
        prepare(Backend::Sqlite, &config).expect("prepared");
        let manager = ConnectionManager::new(&config.url).expect("a SQLite URL");
        let mut pooled = manager.connect().expect("connects");
        pooled
            .conn
            .batch_execute("CREATE TABLE secrets (s TEXT); INSERT INTO secrets VALUES ('k');")
            .expect("written");
        let wal = companion(&path, "-wal");
        let shm = companion(&path, "-shm");
        assert!(wal.exists() && shm.exists(), "WAL mode made -wal and -shm");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&wal), 0o600, "SQLite copies the file's mode to -wal");
        assert_eq!(mode(&shm), 0o600, "and to -shm");
        assert_eq!(mode(&dir.path().join("var")), 0o700);
        assert_eq!(mode(&dir.path().join("var").join("db")), 0o700);
    }

    /// Files left world-readable by an earlier version are made private at the next start;
    /// a folder that already existed is not the service's to change.
    #[cfg(unix)]
    #[test]
    fn existing_sqlite_files_are_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).expect("folder");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).expect("755");
        let path = shared.join("x.db");
        for file in [
            path.clone(),
            companion(&path, "-wal"),
            companion(&path, "-shm"),
        ] {
            std::fs::write(&file, b"").expect("file");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("644");
        }
        prepare_sqlite_file(&path).expect("prepared");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&companion(&path, "-wal")), 0o600);
        assert_eq!(mode(&companion(&path, "-shm")), 0o600);
        assert_eq!(mode(&shared), 0o755);
    }

    #[test]
    fn backend_follows_the_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://var/x.db").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("mysql://root@127.0.0.1/x").ok(),
            Some(Backend::Mysql)
        );
        assert!(Backend::from_url("postgres://x").is_err());
        assert!(Backend::from_url("sqlite://").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("mysql://dcp:secret@db:3306/x"),
            "mysql://dcp:***@db:3306/x"
        );
        assert_eq!(redact("mysql://root@db/x"), "mysql://root@db/x");
        assert_eq!(redact("sqlite://var/x.db"), "sqlite://var/x.db");
    }

    #[test]
    fn mysql_url_splits_into_server_and_database() {
        assert_eq!(
            split_mysql_database("mysql://root@127.0.0.1:3306/dcp_rp"),
            Some((
                "mysql://root@127.0.0.1:3306/".to_string(),
                "dcp_rp".to_string()
            ))
        );
        assert_eq!(split_mysql_database("mysql://root@127.0.0.1:3306/"), None);
        assert_eq!(split_mysql_database("mysql://root@h/bad`name"), None);
    }
}
