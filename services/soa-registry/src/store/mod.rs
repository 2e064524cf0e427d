//! The tree store behind the registry: ZooKeeper, or the embedded in-process tree that keeps
//! ZooKeeper's znode semantics (absolute paths, parents before children, persistent and
//! persistent-sequential nodes named `<prefix><10 digits>`, bytes as data, delete only when
//! empty). The contract test suite (tests/it/contract.rs) runs against both.

pub mod embedded;
pub mod zookeeper;

use futures_util::future::BoxFuture;

pub use embedded::EmbeddedStore;
pub use zookeeper::ZkStore;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("no node {0}")]
    NoNode(String),
    #[error("node {0} already exists")]
    NodeExists(String),
    #[error("node {0} has children")]
    NotEmpty(String),
    /// `set_data` with a version the node no longer has (someone changed it meanwhile).
    #[error("node {0} changed meanwhile")]
    BadVersion(String),
    #[error("invalid path `{0}`")]
    BadPath(String),
    /// The store cannot be reached (ZooKeeper down, session lost, timeout).
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateMode {
    Persistent,
    /// The name gets the parent's child-change counter appended as 10 digits.
    PersistentSequential,
}

pub type StoreFuture<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

/// What a store has done so far, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Operations that reached the store itself (for ZooKeeper: round trips; reads answered by
    /// the watched view are `view_hits` instead).
    pub operations: u64,
    /// Operations that failed because the store could not be reached (or timed out).
    pub unavailable: u64,
    /// Operations that failed otherwise unexpectedly (not "no node", "exists" and the like,
    /// which are answers).
    pub failures: u64,
    /// Reads served from the watched view (always 0 for the embedded store).
    pub view_hits: u64,
    /// Sessions established since start (the embedded store counts its one "session").
    pub sessions: u64,
    /// The store can serve requests now (ZooKeeper: the session is connected).
    pub connected: bool,
}

/// A ZooKeeper-like tree. Boxed futures keep it object safe (`Arc<dyn Store>` per zkidc).
pub trait Store: Send + Sync + 'static {
    /// What it is, for logs and `/readyz` (`ZooKeeper 127.0.0.1:2181/qa`, `embedded var/qa.json`).
    fn describe(&self) -> String;
    /// Ok when the store can serve requests now.
    fn ready(&self) -> StoreFuture<'_, ()>;
    /// Creates `path` and its missing ancestors as empty persistent nodes (`mkdir -p`).
    fn ensure_path<'a>(&'a self, path: &'a str) -> StoreFuture<'a, ()>;
    fn exists<'a>(&'a self, path: &'a str) -> StoreFuture<'a, bool>;
    fn get_data<'a>(&'a self, path: &'a str) -> StoreFuture<'a, Vec<u8>>;
    /// Names (not paths) of the children, in no particular order.
    fn children<'a>(&'a self, path: &'a str) -> StoreFuture<'a, Vec<String>>;
    /// Creates a node and returns its name (the last segment, with the sequence if any).
    fn create<'a>(
        &'a self,
        path: &'a str,
        data: &'a [u8],
        mode: CreateMode,
    ) -> StoreFuture<'a, String>;
    /// Deletes a node without children.
    fn delete<'a>(&'a self, path: &'a str) -> StoreFuture<'a, ()>;
    /// The data and its version (ZooKeeper's `dataVersion`), read from the store itself rather
    /// than a view, for a compare-and-set with [`Store::set_data`].
    fn get_versioned<'a>(&'a self, path: &'a str) -> StoreFuture<'a, (Vec<u8>, i32)>;
    /// Replaces the data if the node's version is still `version` (`BadVersion` otherwise), so a
    /// change made by someone else meanwhile is never overwritten.
    fn set_data<'a>(&'a self, path: &'a str, data: &'a [u8], version: i32) -> StoreFuture<'a, ()>;
    /// A number that changes whenever anything a read could answer may have changed (a write,
    /// a watch that fired, a new session), so that callers can keep what they derived from
    /// reads until it moves. `Unavailable` when the store cannot serve now.
    fn generation(&self) -> Result<u64, StoreError>;
    /// When the store was last seen losing its connection to its data, and its
    /// [`Store::generation`] then: what was derived at that generation was current until that
    /// moment. `None` while connected, and always for a store that cannot lose it.
    fn lost_at(&self) -> Option<(std::time::Instant, u64)> {
        None
    }
    /// Counters and connection state, for `/metrics`.
    fn stats(&self) -> StoreStats;
    /// `zookeeper` or `embedded`, a label of the metrics.
    fn kind(&self) -> &'static str;
}

/// ZooKeeper's path rules: absolute, `/`-separated, no empty, `.` or `..` segment, no trailing
/// `/` (except the root), no control characters.
pub fn validate_path(path: &str) -> Result<(), StoreError> {
    let bad = || StoreError::BadPath(path.to_string());
    if path == "/" {
        return Ok(());
    }
    let rest = path.strip_prefix('/').ok_or_else(bad)?;
    for segment in rest.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(bad());
        }
        if segment
            .chars()
            .any(|c| c.is_control() || c == '\u{fffe}' || c == '\u{ffff}')
        {
            return Err(bad());
        }
    }
    Ok(())
}

/// The parent of a valid non-root path.
pub fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last segment of a valid path.
pub fn name_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_zookeeper_rules() {
        for good in ["/", "/soa", "/soa/services/ip2city.http/member_0000000001"] {
            assert!(validate_path(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "soa",
            "/soa/",
            "//soa",
            "/soa/../x",
            "/soa/./x",
            "/a\u{0}b",
        ] {
            assert!(validate_path(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parent_of("/soa"), "/");
        assert_eq!(parent_of("/soa/services"), "/soa");
        assert_eq!(name_of("/soa/services"), "services");
    }
}
