//! The embedded store for `make run`: ZooKeeper's tree semantics in-process, persisted as a
//! JSON snapshot written atomically (temp file, fsync, rename) on every change, so a restart
//! finds every write that was acknowledged.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use serde::{Deserialize, Serialize};

use super::{
    name_of, parent_of, validate_path, CreateMode, Store, StoreError, StoreFuture, StoreStats,
};

#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    file: PathBuf,
    tree: Mutex<Tree>,
    operations: AtomicU64,
    failures: AtomicU64,
    /// Successful writes so far (see `Store::generation`).
    generation: AtomicU64,
}

impl Inner {
    /// Counts one operation, and its failure if it is one the caller did not expect.
    fn count<T>(&self, result: &Result<T, StoreError>) {
        self.operations.fetch_add(1, Ordering::Relaxed);
        if matches!(result, Err(StoreError::Internal(_))) {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Tree {
    /// Path -> node; the root `/` is always there.
    nodes: BTreeMap<String, Node>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Node {
    data: Data,
    /// Children created so far, as ZooKeeper counts them: the next sequence number.
    cversion: i32,
    /// Changes of the data so far (ZooKeeper's `dataVersion`); absent in older snapshots.
    #[serde(default)]
    version: i32,
}

/// Node data in the snapshot: text when it is UTF-8 (readable), else the bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Data {
    Text(String),
    Bytes(Vec<u8>),
}

impl Data {
    fn from_bytes(bytes: &[u8]) -> Data {
        match std::str::from_utf8(bytes) {
            Ok(text) => Data::Text(text.to_string()),
            Err(_) => Data::Bytes(bytes.to_vec()),
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        match self {
            Data::Text(text) => text.as_bytes().to_vec(),
            Data::Bytes(bytes) => bytes.clone(),
        }
    }
}

fn empty_node() -> Node {
    Node {
        data: Data::Text(String::new()),
        cversion: 0,
        version: 0,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("embedded store {file}: {reason}")]
    Snapshot { file: String, reason: String },
}

impl EmbeddedStore {
    /// Opens (or creates) the store persisted in `file`.
    pub fn open(file: &Path) -> Result<EmbeddedStore, OpenError> {
        let fail = |reason: String| OpenError::Snapshot {
            file: file.display().to_string(),
            reason,
        };
        let tree = match std::fs::read(file) {
            Ok(bytes) => {
                let tree: Tree = serde_json::from_slice(&bytes)
                    .map_err(|e| fail(format!("not a snapshot: {e}")))?;
                check_tree(&tree).map_err(fail)?;
                tree
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| fail(format!("cannot create its folder: {e}")))?;
                }
                let mut tree = Tree::default();
                tree.nodes.insert("/".into(), empty_node());
                write_snapshot(file, &tree).map_err(fail)?;
                tree
            }
            Err(e) => return Err(fail(format!("cannot read: {e}"))),
        };
        Ok(EmbeddedStore {
            inner: Arc::new(Inner {
                file: file.to_path_buf(),
                tree: Mutex::new(tree),
                operations: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                generation: AtomicU64::new(0),
            }),
        })
    }

    /// Reads under the lock; memory only, so it runs inline.
    fn read<T>(&self, f: impl FnOnce(&Tree) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let result = match self.inner.tree.lock() {
            Ok(tree) => f(&tree),
            Err(_) => Err(StoreError::Internal("embedded store lock poisoned".into())),
        };
        self.inner.count(&result);
        result
    }

    /// Applies a change to a copy, writes the copy to disk, then makes it current: a change that
    /// could not be persisted is not made. Runs on the blocking pool (it writes a file).
    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tree) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'static, T> {
        let inner = self.inner.clone();
        async move {
            let counter = inner.clone();
            let result = tokio::task::spawn_blocking(move || {
                let mut tree = inner
                    .tree
                    .lock()
                    .map_err(|_| StoreError::Internal("embedded store lock poisoned".into()))?;
                let mut next = tree.clone();
                let value = f(&mut next)?;
                write_snapshot(&inner.file, &next).map_err(|reason| {
                    StoreError::Internal(format!(
                        "embedded store {}: {reason}",
                        inner.file.display()
                    ))
                })?;
                *tree = next;
                // After the swap, under the lock: a reader that saw the old number and then the
                // new tree only recomputes once more; never the reverse.
                inner.generation.fetch_add(1, Ordering::SeqCst);
                Ok(value)
            })
            .await
            .map_err(|e| StoreError::Internal(format!("embedded store task: {e}")))
            .and_then(|result| result);
            counter.count(&result);
            result
        }
        .boxed()
    }
}

/// Every node's parent is there, and the root exists.
fn check_tree(tree: &Tree) -> Result<(), String> {
    if !tree.nodes.contains_key("/") {
        return Err("the root node `/` is missing".into());
    }
    for path in tree.nodes.keys() {
        validate_path(path).map_err(|e| e.to_string())?;
        if path != "/" && !tree.nodes.contains_key(parent_of(path)) {
            return Err(format!("{path} has no parent node"));
        }
    }
    Ok(())
}

fn write_snapshot(file: &Path, tree: &Tree) -> Result<(), String> {
    let bytes = serde_json::to_vec_pretty(tree).map_err(|e| format!("cannot encode: {e}"))?;
    let tmp = file.with_extension("json.tmp");
    let mut out = std::fs::File::create(&tmp).map_err(|e| format!("cannot write: {e}"))?;
    out.write_all(&bytes)
        .and_then(|()| out.sync_all())
        .map_err(|e| format!("cannot write: {e}"))?;
    std::fs::rename(&tmp, file).map_err(|e| format!("cannot replace the snapshot: {e}"))?;
    // The rename itself is durable once the folder is synced.
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _best_effort = dir.sync_all();
        }
    }
    Ok(())
}

fn children_of(tree: &Tree, path: &str) -> Result<Vec<String>, StoreError> {
    if !tree.nodes.contains_key(path) {
        return Err(StoreError::NoNode(path.to_string()));
    }
    let prefix = if path == "/" {
        "/".to_string()
    } else {
        format!("{path}/")
    };
    Ok(tree
        .nodes
        .range(prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&prefix))
        .map(|(p, _)| &p[prefix.len()..])
        .filter(|rest| !rest.is_empty() && !rest.contains('/'))
        .map(str::to_string)
        .collect())
}

fn create_in(
    tree: &mut Tree,
    path: &str,
    data: &[u8],
    mode: CreateMode,
) -> Result<String, StoreError> {
    validate_path(path)?;
    if path == "/" {
        return Err(StoreError::BadPath(path.to_string()));
    }
    let parent = parent_of(path).to_string();
    let parent_node = tree
        .nodes
        .get_mut(&parent)
        .ok_or_else(|| StoreError::NoNode(parent.clone()))?;
    let full = match mode {
        CreateMode::Persistent => path.to_string(),
        // As ZooKeeper: the parent's cversion, 10 digits.
        CreateMode::PersistentSequential => format!("{path}{:010}", parent_node.cversion),
    };
    if tree.nodes.contains_key(&full) {
        return Err(StoreError::NodeExists(full));
    }
    if let Some(parent_node) = tree.nodes.get_mut(&parent) {
        parent_node.cversion = parent_node.cversion.wrapping_add(1);
    }
    tree.nodes.insert(
        full.clone(),
        Node {
            data: Data::from_bytes(data),
            cversion: 0,
            version: 0,
        },
    );
    Ok(name_of(&full).to_string())
}

impl Store for EmbeddedStore {
    fn describe(&self) -> String {
        format!("embedded {}", self.inner.file.display())
    }

    fn ready(&self) -> StoreFuture<'_, ()> {
        let result = self.read(|_| Ok(()));
        async move { result }.boxed()
    }

    fn ensure_path<'a>(&'a self, path: &'a str) -> StoreFuture<'a, ()> {
        if let Err(e) = validate_path(path) {
            return async move { Err(e) }.boxed();
        }
        // Nothing to write when it is all there already (the common case).
        match self.read(|tree| Ok(tree.nodes.contains_key(path))) {
            Ok(true) => return async { Ok(()) }.boxed(),
            Ok(false) => {}
            Err(e) => return async move { Err(e) }.boxed(),
        }
        let path = path.to_string();
        self.write(move |tree| {
            let mut at = 0;
            while let Some(i) = path[at + 1..].find('/').map(|i| i + at + 1) {
                ensure_node(tree, &path[..i])?;
                at = i;
            }
            ensure_node(tree, &path)
        })
    }

    fn exists<'a>(&'a self, path: &'a str) -> StoreFuture<'a, bool> {
        let result =
            validate_path(path).and_then(|()| self.read(|t| Ok(t.nodes.contains_key(path))));
        async move { result }.boxed()
    }

    fn get_data<'a>(&'a self, path: &'a str) -> StoreFuture<'a, Vec<u8>> {
        let result = validate_path(path).and_then(|()| {
            self.read(|t| {
                t.nodes
                    .get(path)
                    .map(|n| n.data.to_bytes())
                    .ok_or_else(|| StoreError::NoNode(path.to_string()))
            })
        });
        async move { result }.boxed()
    }

    fn children<'a>(&'a self, path: &'a str) -> StoreFuture<'a, Vec<String>> {
        let result = validate_path(path).and_then(|()| self.read(|t| children_of(t, path)));
        async move { result }.boxed()
    }

    fn create<'a>(
        &'a self,
        path: &'a str,
        data: &'a [u8],
        mode: CreateMode,
    ) -> StoreFuture<'a, String> {
        let path = path.to_string();
        let data = data.to_vec();
        self.write(move |tree| create_in(tree, &path, &data, mode))
    }

    fn delete<'a>(&'a self, path: &'a str) -> StoreFuture<'a, ()> {
        let path = path.to_string();
        self.write(move |tree| {
            validate_path(&path)?;
            if path == "/" {
                return Err(StoreError::BadPath(path));
            }
            if !tree.nodes.contains_key(&path) {
                return Err(StoreError::NoNode(path));
            }
            if !children_of(tree, &path)?.is_empty() {
                return Err(StoreError::NotEmpty(path));
            }
            // As ZooKeeper 3.8 does (checked by the contract suite): a delete does not move the
            // parent's sequence counter, and a number is still never reused.
            tree.nodes.remove(&path);
            Ok(())
        })
    }

    fn get_versioned<'a>(&'a self, path: &'a str) -> StoreFuture<'a, (Vec<u8>, i32)> {
        let result = validate_path(path).and_then(|()| {
            self.read(|t| {
                t.nodes
                    .get(path)
                    .map(|n| (n.data.to_bytes(), n.version))
                    .ok_or_else(|| StoreError::NoNode(path.to_string()))
            })
        });
        async move { result }.boxed()
    }

    fn set_data<'a>(&'a self, path: &'a str, data: &'a [u8], version: i32) -> StoreFuture<'a, ()> {
        let path = path.to_string();
        let data = data.to_vec();
        self.write(move |tree| {
            validate_path(&path)?;
            let node = tree
                .nodes
                .get_mut(&path)
                .ok_or_else(|| StoreError::NoNode(path.clone()))?;
            if node.version != version {
                return Err(StoreError::BadVersion(path));
            }
            node.data = Data::from_bytes(&data);
            node.version = node.version.wrapping_add(1);
            Ok(())
        })
    }

    fn generation(&self) -> Result<u64, StoreError> {
        Ok(self.inner.generation.load(Ordering::SeqCst))
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            operations: self.inner.operations.load(Ordering::Relaxed),
            unavailable: 0,
            failures: self.inner.failures.load(Ordering::Relaxed),
            view_hits: 0,
            sessions: 1,
            connected: self.inner.tree.lock().is_ok(),
        }
    }

    fn kind(&self) -> &'static str {
        "embedded"
    }
}

fn ensure_node(tree: &mut Tree, path: &str) -> Result<(), StoreError> {
    match create_in(tree, path, &[], CreateMode::Persistent) {
        Ok(_) | Err(StoreError::NodeExists(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
