//! The ZooKeeper store, through `zookeeper-client`.
//!
//! One session per zkidc. A maintenance task reconnects whenever there is no usable session
//! (ZooKeeper down at start, session expired, client closed): `Expired` is terminal for a
//! `zookeeper-client` session, so a new client is built. Every operation first checks that the
//! session is connected and is bounded by `op_timeout`, so a request answers "ZooKeeper
//! unavailable" promptly instead of hanging while ZooKeeper is away.
//!
//! Reads (`children`, `get_data`) are served from a watched in-memory view: a miss reads
//! ZooKeeper and leaves a one-shot watch; the watch firing (a change by anyone, node deletion,
//! session expiry) drops the entry, so the next read fetches it again. Our own writes drop the
//! entries they touch before they answer, so a caller reads its own writes. The view is
//! emptied whenever the session is not usable or is replaced.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use zookeeper_client as zk;

use super::{
    name_of, parent_of, validate_path, CreateMode, Store, StoreError, StoreFuture, StoreStats,
};

#[derive(Debug, Clone)]
pub struct ZkOptions {
    pub session_timeout: Duration,
    pub op_timeout: Duration,
    pub reconnect_delay: Duration,
}

#[derive(Clone)]
pub struct ZkStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// As configured, for messages.
    connect: String,
    hosts: String,
    /// `""` or `/some/root`.
    chroot: String,
    options: ZkOptions,
    /// The runtime `start` ran on (the service's main one): watch tasks live there rather than
    /// on an HTTP worker's runtime, which may be stopped while the view still needs them.
    runtime: tokio::runtime::Handle,
    client: RwLock<Option<zk::Client>>,
    last_error: RwLock<String>,
    view: Mutex<View>,
    counters: Counters,
}

/// For `/metrics`: see [`StoreStats`].
#[derive(Default)]
struct Counters {
    operations: AtomicU64,
    unavailable: AtomicU64,
    failures: AtomicU64,
    view_hits: AtomicU64,
    sessions: AtomicU64,
}

/// What a cached entry is: the children of a path, or its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Children,
    Data,
}

/// The watched view. A fetch records the entry's stamp (the view's era and the entry's epoch)
/// before asking ZooKeeper, and stores its answer only if the stamp is unchanged: an entry
/// dropped meanwhile (by a watch or a write) is never brought back stale.
#[derive(Default)]
struct View {
    /// Moves whenever an entry is dropped or the view cleared (see `Store::generation`).
    generation: u64,
    era: u64,
    epochs: HashMap<(Kind, String), u64>,
    children: HashMap<String, Vec<String>>,
    data: HashMap<String, Vec<u8>>,
    /// When the session was first seen not connected, and the generation the view had then
    /// (what was derived at that generation was current until that moment); `None` while
    /// connected.
    lost: Option<(Instant, u64)>,
}

type Stamp = (u64, u64);

impl View {
    fn stamp(&self, kind: Kind, path: &str) -> Stamp {
        let epoch = self
            .epochs
            .get(&(kind, path.to_string()))
            .copied()
            .unwrap_or(0);
        (self.era, epoch)
    }

    fn drop_entry(&mut self, kind: Kind, path: &str) {
        match kind {
            Kind::Children => self.children.remove(path).map(|_| ()),
            Kind::Data => self.data.remove(path).map(|_| ()),
        };
        *self.epochs.entry((kind, path.to_string())).or_default() += 1;
        self.generation += 1;
    }

    /// Forgets everything (session lost or replaced: watches may be gone).
    fn clear(&mut self) {
        self.generation += 1;
        self.era += 1;
        self.epochs.clear();
        self.children.clear();
        self.data.clear();
    }

    /// The session was seen not connected: remember when (the first time), then forget
    /// everything, as watches may be missed from now on.
    fn lose(&mut self, now: Instant) {
        if self.lost.is_none() {
            self.lost = Some((now, self.generation));
        }
        self.clear();
    }

    /// After a write at `path` (whatever its outcome): its data, its children, its parent's.
    fn written(&mut self, path: &str) {
        self.drop_entry(Kind::Data, path);
        self.drop_entry(Kind::Children, path);
        if path != "/" {
            self.drop_entry(Kind::Children, parent_of(path));
        }
    }
}

/// Splits `host:port[,host:port...][/chroot]` and checks it; the message says what is wrong.
pub fn parse_connect(connect: &str) -> Result<(String, String), String> {
    let (hosts, chroot) = match connect.find('/') {
        Some(i) => (&connect[..i], &connect[i..]),
        None => (connect, ""),
    };
    if hosts.trim().is_empty() {
        return Err(format!("`{connect}` names no ZooKeeper host"));
    }
    for host in hosts.split(',') {
        let Some((name, port)) = host.rsplit_once(':') else {
            return Err(format!("`{host}` is not host:port"));
        };
        if name.is_empty() || port.parse::<u16>().map(|p| p == 0).unwrap_or(true) {
            return Err(format!("`{host}` is not host:port"));
        }
    }
    if !chroot.is_empty() && (chroot == "/" || validate_path(chroot).is_err()) {
        return Err(format!("`{chroot}` is not a valid chroot path"));
    }
    Ok((hosts.to_string(), chroot.to_string()))
}

impl ZkStore {
    /// Tries to connect once (so a healthy ensemble is in use when this returns), then keeps the
    /// session alive in the background. A ZooKeeper that is down at start is not fatal: requests
    /// answer "ZooKeeper unavailable" and `/readyz` fails until it comes.
    pub async fn start(connect: &str, options: ZkOptions) -> Result<ZkStore, String> {
        let (hosts, chroot) = parse_connect(connect)?;
        let inner = Arc::new(Inner {
            connect: connect.to_string(),
            hosts,
            chroot,
            options,
            runtime: tokio::runtime::Handle::current(),
            client: RwLock::new(None),
            last_error: RwLock::new("not connected yet".into()),
            view: Mutex::new(View::default()),
            counters: Counters::default(),
        });
        inner.reconnect().await;
        tokio::spawn(maintain(Arc::downgrade(&inner)));
        Ok(ZkStore { inner })
    }

    /// The session in use, if it can serve requests now.
    fn client(&self) -> Result<zk::Client, StoreError> {
        let client = self
            .inner
            .client
            .read()
            .map_err(|_| StoreError::Internal("ZooKeeper client lock poisoned".into()))?
            .clone();
        match client {
            Some(client) if usable(client.state()) => Ok(client),
            Some(client) => {
                self.inner.session_lost();
                Err(self.unavailable(&format!("session {:?}", client.state())))
            }
            None => {
                let reason = self
                    .inner
                    .last_error
                    .read()
                    .map(|e| e.clone())
                    .unwrap_or_default();
                Err(self.unavailable(&reason))
            }
        }
    }

    /// [`ZkStore::client`] without cloning the client, for the paths that only need to know
    /// (a cached read, the generation): they run once per member of a listing.
    fn ensure_usable(&self) -> Result<(), StoreError> {
        let usable_now = match self.inner.client.read() {
            Ok(slot) => slot.as_ref().is_some_and(|c| usable(c.state())),
            Err(_) => false,
        };
        if usable_now {
            return Ok(());
        }
        // Says why (and empties the view), as every other operation does.
        self.client().map(|_| ())
    }

    fn unavailable(&self, reason: &str) -> StoreError {
        StoreError::Unavailable(format!(
            "ZooKeeper unavailable ({}): {reason}",
            self.inner.connect
        ))
    }

    /// Runs one operation on the current session, within `op_timeout`.
    async fn run<T, F, Fut>(&self, path: &str, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(zk::Client) -> Fut,
        Fut: Future<Output = Result<T, zk::Error>>,
    {
        validate_path(path)?;
        let result = match self.client() {
            Ok(client) => {
                match tokio::time::timeout(self.inner.options.op_timeout, op(client)).await {
                    Ok(Ok(value)) => Ok(value),
                    Ok(Err(e)) => Err(self.map_error(path, e)),
                    Err(_) => Err(self.unavailable(&format!(
                        "no answer within {} ms",
                        self.inner.options.op_timeout.as_millis()
                    ))),
                }
            }
            Err(e) => Err(e),
        };
        self.count(&result);
        result
    }

    /// Counts an operation asked of ZooKeeper (or refused because the session is down).
    fn count<T>(&self, result: &Result<T, StoreError>) {
        let counters = &self.inner.counters;
        counters.operations.fetch_add(1, Ordering::Relaxed);
        match result {
            Err(StoreError::Unavailable(_)) => {
                counters.unavailable.fetch_add(1, Ordering::Relaxed);
            }
            Err(StoreError::Internal(_)) => {
                counters.failures.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    fn map_error(&self, path: &str, e: zk::Error) -> StoreError {
        let session_usable = self
            .inner
            .client
            .read()
            .map(|slot| slot.as_ref().is_some_and(|c| usable(c.state())))
            .unwrap_or(false);
        match classify(&e, session_usable) {
            Class::NoNode => StoreError::NoNode(path.to_string()),
            Class::NodeExists => StoreError::NodeExists(path.to_string()),
            Class::NotEmpty => StoreError::NotEmpty(path.to_string()),
            Class::BadVersion => StoreError::BadVersion(path.to_string()),
            Class::BadPath => StoreError::BadPath(path.to_string()),
            Class::Unavailable => {
                // The view may be behind now: what it holds was watched by a session that is
                // in trouble.
                if !session_usable {
                    self.inner.session_lost();
                }
                self.unavailable(&e.to_string())
            }
            Class::Internal => StoreError::Internal(format!("ZooKeeper: {e}")),
        }
    }

    /// A read through the view: the cached value, or a watched read whose watch drops it again.
    async fn cached<T, F, Fut>(&self, kind: Kind, path: &str, fetch: F) -> Result<T, StoreError>
    where
        T: Clone,
        F: FnOnce(zk::Client) -> Fut,
        Fut: Future<Output = Result<(T, zk::OneshotWatcher), zk::Error>>,
        View: Lookup<T>,
    {
        validate_path(path)?;
        // The session must be usable even for a cached answer: during an outage the view may
        // be behind, and callers are told so.
        if let Err(e) = self.ensure_usable() {
            let refused = Err(e);
            self.count(&refused);
            return refused;
        }
        let stamp = {
            let view = self.inner.lock_view()?;
            if let Some(value) = view.get(path) {
                self.inner
                    .counters
                    .view_hits
                    .fetch_add(1, Ordering::Relaxed);
                return Ok(value);
            }
            view.stamp(kind, path)
        };
        let (value, watcher) = self.run(path, fetch).await?;
        let weak = Arc::downgrade(&self.inner);
        let watched = path.to_string();
        self.inner.runtime.spawn(async move {
            let _event = watcher.changed().await;
            if let Some(inner) = weak.upgrade() {
                inner.with_view(|view| view.drop_entry(kind, &watched));
            }
        });
        let mut view = self.inner.lock_view()?;
        if view.stamp(kind, path) == stamp {
            view.put(path, value.clone());
        }
        Ok(value)
    }

    /// Runs a write, then drops what it may have changed from the view (even if it failed: a
    /// timed-out write may still have happened).
    async fn write<T, F, Fut>(&self, path: &str, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(zk::Client) -> Fut,
        Fut: Future<Output = Result<T, zk::Error>>,
    {
        let result = self.run(path, op).await;
        self.inner.with_view(|view| view.written(path));
        result
    }
}

/// Typed access to the view's two maps.
trait Lookup<T> {
    fn get(&self, path: &str) -> Option<T>;
    fn put(&mut self, path: &str, value: T);
}

impl Lookup<Vec<String>> for View {
    fn get(&self, path: &str) -> Option<Vec<String>> {
        self.children.get(path).cloned()
    }
    fn put(&mut self, path: &str, value: Vec<String>) {
        self.children.insert(path.to_string(), value);
    }
}

impl Lookup<Vec<u8>> for View {
    fn get(&self, path: &str) -> Option<Vec<u8>> {
        self.data.get(path).cloned()
    }
    fn put(&mut self, path: &str, value: Vec<u8>) {
        self.data.insert(path.to_string(), value);
    }
}

/// What a `zookeeper-client` error means for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    NoNode,
    NodeExists,
    NotEmpty,
    BadVersion,
    BadPath,
    /// ZooKeeper cannot be reached or cannot serve now: 503 "ZooKeeper unavailable".
    Unavailable,
    /// ZooKeeper answered something this service does not expect: a bug or a misconfiguration.
    Internal,
}

/// Every connectivity failure is `Unavailable`, whatever form `zookeeper-client` 0.11 gives it:
/// the session's own states (`ConnectionLoss`, `SessionExpired`, `SessionMoved`, `ClientClosed`,
/// `Timeout`, `NoHosts`), a server that cannot serve now (`Throttled`; `NotReadOnly`: only a
/// read-only server, without quorum, is reachable), and the transport's failures, which come as
/// `Custom` (an I/O error such as "Connection reset by peer", "no response from connection in
/// 4000ms") — and as `UnexpectedError` / `UnmarshalError` when the connection broke on a garbled
/// or unexpected reply, which the session state tells (the client drops the connection first,
/// then fails what was in flight). What remains are answers about the request itself.
fn classify(e: &zk::Error, session_usable: bool) -> Class {
    match e {
        zk::Error::NoNode => Class::NoNode,
        zk::Error::NodeExists => Class::NodeExists,
        zk::Error::NotEmpty => Class::NotEmpty,
        zk::Error::BadVersion => Class::BadVersion,
        zk::Error::BadArguments(_) => Class::BadPath,
        zk::Error::ConnectionLoss
        | zk::Error::SessionExpired
        | zk::Error::SessionMoved
        | zk::Error::ClientClosed
        | zk::Error::Timeout
        | zk::Error::NoHosts
        | zk::Error::Throttled
        | zk::Error::NotReadOnly
        | zk::Error::Custom(_) => Class::Unavailable,
        zk::Error::UnexpectedError(_) | zk::Error::UnmarshalError { .. } if !session_usable => {
            Class::Unavailable
        }
        _ => Class::Internal,
    }
}

fn usable(state: zk::SessionState) -> bool {
    matches!(
        state,
        zk::SessionState::SyncConnected | zk::SessionState::ConnectedReadOnly
    )
}

fn terminal(state: zk::SessionState) -> bool {
    matches!(
        state,
        zk::SessionState::Expired | zk::SessionState::Closed | zk::SessionState::AuthFailed
    )
}

impl Inner {
    fn lock_view(&self) -> Result<std::sync::MutexGuard<'_, View>, StoreError> {
        self.view
            .lock()
            .map_err(|_| StoreError::Internal("ZooKeeper view lock poisoned".into()))
    }

    fn with_view(&self, f: impl FnOnce(&mut View)) {
        if let Ok(mut view) = self.view.lock() {
            f(&mut view);
        }
    }

    /// The session is not connected (seen by a request, or told by the session's states).
    fn session_lost(&self) {
        self.with_view(|view| view.lose(Instant::now()));
    }

    /// Follows the session's states, so that the moment it is lost is known even when no
    /// request comes (the age of stale answers counts from it), and is forgotten once it is
    /// back. Ends with the session.
    fn follow_session(self: &Arc<Self>, client: &zk::Client) {
        let mut states = client.state_watcher();
        let weak = Arc::downgrade(self);
        self.runtime.spawn(async move {
            loop {
                let state = states.changed().await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                if usable(state) {
                    inner.with_view(|view| view.lost = None);
                } else {
                    inner.session_lost();
                }
                if terminal(state) {
                    return;
                }
            }
        });
    }

    /// Builds a new session (creating the chroot if needed) and makes it current.
    async fn reconnect(self: &Arc<Self>) {
        let attempt = tokio::time::timeout(
            self.options.session_timeout + self.options.op_timeout,
            self.connect_once(),
        )
        .await
        .unwrap_or_else(|_| Err("connection attempt timed out".into()));
        match attempt {
            Ok(client) => {
                tracing::info!(zookeeper = %self.connect, session = ?client.session_id(), "ZooKeeper session established");
                self.follow_session(&client);
                // The new session has none of the old one's watches.
                self.with_view(|view| {
                    view.clear();
                    view.lost = None;
                });
                if let Ok(mut slot) = self.client.write() {
                    *slot = Some(client);
                }
                self.counters.sessions.fetch_add(1, Ordering::Relaxed);
            }
            Err(reason) => {
                tracing::warn!(zookeeper = %self.connect, %reason, "cannot connect to ZooKeeper");
                if let Ok(mut last) = self.last_error.write() {
                    *last = reason;
                }
            }
        }
    }

    async fn connect_once(&self) -> Result<zk::Client, String> {
        let client = zk::Client::connector()
            .with_session_timeout(self.options.session_timeout)
            // A refused connection fails at once; a slow handshake (a busy or just-started
            // server) gets the session timeout, not the shorter per-request one.
            .with_connection_timeout(self.options.session_timeout)
            // One pass over the hosts, then report: the maintenance loop retries.
            .with_fail_eagerly()
            .connect(&self.hosts)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.hosts))?;
        if self.chroot.is_empty() {
            return Ok(client);
        }
        // zookeeper-client does not create the chroot; a fresh ensemble must still work.
        let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        client
            .mkdir(&self.chroot, &options)
            .await
            .map_err(|e| format!("cannot create chroot {}: {e}", self.chroot))?;
        client
            .chroot(self.chroot.as_str())
            .map_err(|_| format!("invalid chroot {}", self.chroot))
    }

    fn needs_session(&self) -> bool {
        match self.client.read() {
            Ok(slot) => match slot.as_ref() {
                None => true,
                Some(client) => terminal(client.state()),
            },
            Err(_) => false,
        }
    }
}

/// Reconnects whenever the session is gone; ends when the store is dropped.
async fn maintain(inner: Weak<Inner>) {
    loop {
        let Some(store) = inner.upgrade() else {
            return;
        };
        let delay = store.options.reconnect_delay;
        if store.needs_session() {
            if let Ok(mut slot) = store.client.write() {
                if let Some(old) = slot.take() {
                    tracing::warn!(zookeeper = %store.connect, state = ?old.state(), "ZooKeeper session lost, reconnecting");
                }
            }
            store.reconnect().await;
        }
        drop(store);
        tokio::time::sleep(delay).await;
    }
}

impl Store for ZkStore {
    fn describe(&self) -> String {
        format!("ZooKeeper {}", self.inner.connect)
    }

    fn ready(&self) -> StoreFuture<'_, ()> {
        async move {
            // A round trip proves more than the session state alone.
            self.run("/", |c| async move { c.check_stat("/").await })
                .await
                .map(|_| ())
        }
        .boxed()
    }

    fn ensure_path<'a>(&'a self, path: &'a str) -> StoreFuture<'a, ()> {
        async move {
            if path == "/" {
                return Ok(());
            }
            let result = self
                .write(path, |c| async move {
                    let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
                    c.mkdir(path, &options).await
                })
                .await;
            // mkdir -p may have created every ancestor.
            let mut at = path.len();
            while let Some(i) = path[..at].rfind('/') {
                let ancestor = if i == 0 { "/" } else { &path[..i] };
                self.inner.with_view(|view| view.written(ancestor));
                at = i;
            }
            result
        }
        .boxed()
    }

    fn exists<'a>(&'a self, path: &'a str) -> StoreFuture<'a, bool> {
        async move {
            self.run(path, |c| async move { c.check_stat(path).await })
                .await
                .map(|stat| stat.is_some())
        }
        .boxed()
    }

    fn get_data<'a>(&'a self, path: &'a str) -> StoreFuture<'a, Vec<u8>> {
        async move {
            self.cached(Kind::Data, path, |c| async move {
                c.get_and_watch_data(path)
                    .await
                    .map(|(data, _, watcher)| (data, watcher))
            })
            .await
        }
        .boxed()
    }

    fn children<'a>(&'a self, path: &'a str) -> StoreFuture<'a, Vec<String>> {
        async move {
            self.cached(Kind::Children, path, |c| async move {
                c.list_and_watch_children(path).await
            })
            .await
        }
        .boxed()
    }

    fn create<'a>(
        &'a self,
        path: &'a str,
        data: &'a [u8],
        mode: CreateMode,
    ) -> StoreFuture<'a, String> {
        async move {
            let zk_mode = match mode {
                CreateMode::Persistent => zk::CreateMode::Persistent,
                CreateMode::PersistentSequential => zk::CreateMode::PersistentSequential,
            };
            let result = self
                .write(path, |c| async move {
                    let options = zk_mode.with_acls(zk::Acls::anyone_all());
                    c.create(path, data, &options).await
                })
                .await;
            let (_, sequence) = result?;
            let name = match mode {
                CreateMode::Persistent => name_of(path).to_string(),
                CreateMode::PersistentSequential => format!("{}{sequence}", name_of(path)),
            };
            // `write` dropped the prefix's entries; the new node's path is what changed.
            let created = format!("{}/{name}", parent_of(path).trim_end_matches('/'));
            self.inner.with_view(|view| view.written(&created));
            Ok(name)
        }
        .boxed()
    }

    fn delete<'a>(&'a self, path: &'a str) -> StoreFuture<'a, ()> {
        async move {
            self.write(path, |c| async move { c.delete(path, None).await })
                .await
        }
        .boxed()
    }

    fn get_versioned<'a>(&'a self, path: &'a str) -> StoreFuture<'a, (Vec<u8>, i32)> {
        async move {
            self.run(path, |c| async move { c.get_data(path).await })
                .await
                .map(|(data, stat)| (data, stat.version))
        }
        .boxed()
    }

    fn set_data<'a>(&'a self, path: &'a str, data: &'a [u8], version: i32) -> StoreFuture<'a, ()> {
        async move {
            self.write(path, |c| async move {
                c.set_data(path, data, Some(version)).await
            })
            .await
            .map(|_stat| ())
        }
        .boxed()
    }

    fn generation(&self) -> Result<u64, StoreError> {
        // As for a cached read: while the session is down, what was derived may be behind (and
        // the refusal is counted as one).
        if let Err(e) = self.ensure_usable() {
            let refused = Err(e);
            self.count(&refused);
            return refused;
        }
        Ok(self.inner.lock_view()?.generation)
    }

    fn lost_at(&self) -> Option<(Instant, u64)> {
        self.inner.view.lock().ok().and_then(|view| view.lost)
    }

    fn stats(&self) -> StoreStats {
        let counters = &self.inner.counters;
        let connected = match self.inner.client.read() {
            Ok(slot) => slot.as_ref().is_some_and(|c| usable(c.state())),
            Err(_) => false,
        };
        StoreStats {
            operations: counters.operations.load(Ordering::Relaxed),
            unavailable: counters.unavailable.load(Ordering::Relaxed),
            failures: counters.failures.load(Ordering::Relaxed),
            view_hits: counters.view_hits.load(Ordering::Relaxed),
            sessions: counters.sessions.load(Ordering::Relaxed),
            connected,
        }
    }

    fn kind(&self) -> &'static str {
        "zookeeper"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_strings_are_checked() {
        assert_eq!(
            parse_connect("zk1:2181,zk2:2181/dcp/qa"),
            Ok(("zk1:2181,zk2:2181".to_string(), "/dcp/qa".to_string()))
        );
        assert_eq!(
            parse_connect("127.0.0.1:2181"),
            Ok(("127.0.0.1:2181".to_string(), String::new()))
        );
        for bad in [
            "",
            "/qa",
            "zk1",
            "zk1:0",
            "zk1:x",
            "zk1:2181/",
            "zk1:2181/a/../b",
        ] {
            assert!(parse_connect(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_dropped_entry_is_not_brought_back_by_an_older_fetch() {
        let mut view = View::default();
        let stamp = view.stamp(Kind::Children, "/s");
        // A watch (or a write) drops the entry while a fetch is under way...
        view.drop_entry(Kind::Children, "/s");
        // ...so the fetch's answer, possibly older than the change, must not be stored.
        assert_ne!(view.stamp(Kind::Children, "/s"), stamp);
        // Other entries keep their stamps.
        assert_eq!(view.stamp(Kind::Data, "/s"), (0, 0));

        let stamp = view.stamp(Kind::Data, "/s/member_0000000001");
        view.put("/s/member_0000000001", b"x".to_vec());
        view.clear();
        assert_ne!(view.stamp(Kind::Data, "/s/member_0000000001"), stamp);
        assert_eq!(Lookup::<Vec<u8>>::get(&view, "/s/member_0000000001"), None);
    }

    #[test]
    fn every_connectivity_failure_is_unavailable() {
        for e in [
            zk::Error::ConnectionLoss,
            zk::Error::SessionExpired,
            zk::Error::SessionMoved,
            zk::Error::ClientClosed,
            zk::Error::Timeout,
            zk::Error::NoHosts,
            zk::Error::Throttled,
            zk::Error::NotReadOnly,
        ] {
            assert_eq!(classify(&e, true), Class::Unavailable, "{e}");
            assert_eq!(classify(&e, false), Class::Unavailable, "{e}");
        }
        // A garbled reply breaks the connection (the session is then not connected): that is
        // connectivity; the same error on a connected session is a surprise.
        let garbled =
            zk::Error::UnexpectedError("recv response with xid 7 but no pending request".into());
        assert_eq!(classify(&garbled, false), Class::Unavailable);
        assert_eq!(classify(&garbled, true), Class::Internal);
        // Answers about the request itself.
        assert_eq!(classify(&zk::Error::NoNode, false), Class::NoNode);
        assert_eq!(classify(&zk::Error::NodeExists, true), Class::NodeExists);
        assert_eq!(classify(&zk::Error::NotEmpty, true), Class::NotEmpty);
        assert_eq!(classify(&zk::Error::BadVersion, true), Class::BadVersion);
        for e in [
            zk::Error::NoAuth,
            zk::Error::InvalidAcl,
            zk::Error::NoChildrenForEphemerals,
            zk::Error::UnexpectedErrorCode(-999),
        ] {
            assert_eq!(classify(&e, true), Class::Internal, "{e}");
        }
        // `Custom` (the transport's I/O errors and "no response from connection in 4000ms") has
        // no public constructor; the fault drills (tests/it/faults.rs) meet it for real.
    }

    #[test]
    fn the_moment_the_session_was_lost_is_kept_until_it_is_back() {
        let mut view = View::default();
        view.put("/s", vec!["member_0000000001".to_string()]);
        let generation = view.generation;
        let first = Instant::now();
        view.lose(first);
        assert_eq!(view.lost, Some((first, generation)));
        assert_eq!(Lookup::<Vec<String>>::get(&view, "/s"), None);
        // Seen lost again later: the first moment stands.
        view.lose(first + Duration::from_secs(1));
        assert_eq!(view.lost, Some((first, generation)));
    }

    #[test]
    fn a_write_drops_the_node_and_its_parents_children() {
        let mut view = View::default();
        view.put("/s", vec!["member_0000000001".to_string()]);
        view.put("/s/member_0000000001", b"x".to_vec());
        view.put("/other", vec!["a".to_string()]);
        view.written("/s/member_0000000001");
        assert_eq!(Lookup::<Vec<String>>::get(&view, "/s"), None);
        assert_eq!(Lookup::<Vec<u8>>::get(&view, "/s/member_0000000001"), None);
        assert_eq!(
            Lookup::<Vec<String>>::get(&view, "/other"),
            Some(vec!["a".to_string()])
        );
    }
}
