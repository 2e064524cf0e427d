//! One leader among replicas, through ZooKeeper: a Curator-compatible lock under a path. The
//! holder leads while its session is connected; on a disconnection it steps down at once
//! (another replica may take over when the session expires) and contends again with a new
//! session. With no ZooKeeper configured the process is alone and leads.

use std::time::Duration;

use tokio::sync::watch;
use zookeeper_client as zk;

/// Where and how to contend.
#[derive(Debug, Clone)]
pub struct Election {
    /// ZooKeeper connect string `host:port[,host:port][/chroot]`; empty = no election, lead.
    pub connect: String,
    /// The lock's znode folder (below the chroot; created with its ancestors when missing).
    pub path: String,
    /// The session timeout asked for: how long a dead leader keeps the lead.
    pub session_timeout: Duration,
    /// Said in logs: what the leader does ("scheduler", "health check of zkidc qa").
    pub what: String,
}

/// Contends until `stop` says so or its sender is dropped, calling `on_change(true)` when this
/// process becomes the leader and `on_change(false)` when it stops being one.
pub async fn run(
    election: Election,
    on_change: impl Fn(bool) + Send + Sync,
    mut stop: watch::Receiver<bool>,
) {
    let connect = election.connect.trim().to_string();
    if connect.is_empty() {
        on_change(true);
        return;
    }
    loop {
        if let Err(e) = contend(&election, &connect, &on_change, &mut stop).await {
            tracing::warn!(what = %election.what, error = %e, "election: contending again");
        }
        on_change(false);
        if stopped(&stop) {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.changed() => return,
        }
    }
}

fn stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// One session: waits for the lock, leads while connected, releases on stop.
async fn contend(
    election: &Election,
    connect: &str,
    on_change: &(impl Fn(bool) + Send + Sync),
    stop: &mut watch::Receiver<bool>,
) -> Result<(), zk::Error> {
    // A chroot in the connect string becomes part of the path, so that it need not exist:
    // the lock creates every missing ancestor.
    let (hosts, chroot) = match connect.find('/') {
        Some(at) => (&connect[..at], connect[at..].trim_end_matches('/')),
        None => (connect, ""),
    };
    let path = format!("{chroot}{}", election.path);
    let client = zk::Client::connector()
        .with_session_timeout(election.session_timeout)
        .connect(hosts)
        .await?;
    let options = zk::LockOptions::new(zk::Acls::anyone_all())
        .with_ancestor_options(zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all()))?;
    let prefix = zk::LockPrefix::new_curator(&path, "leader")?;
    let lock = tokio::select! {
        lock = client.lock(prefix, b"", options) => lock?,
        _ = stop.changed() => return Ok(()),
    };
    on_change(true);
    let mut states = client.state_watcher();
    loop {
        tokio::select! {
            state = states.changed() => {
                if state != zk::SessionState::SyncConnected {
                    tracing::warn!(what = %election.what, ?state, "election: session not connected, stepping down");
                    break;
                }
            }
            _ = stop.changed() => break,
        }
    }
    on_change(false);
    // Delete the lock now rather than at session expiry, so another replica takes over at once.
    let path = lock.lock_path().to_string();
    let _ = tokio::time::timeout(Duration::from_secs(2), client.delete(&path, None)).await;
    drop(lock);
    Ok(())
}
