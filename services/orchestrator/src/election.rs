//! Leader election through ZooKeeper, so that exactly one replica runs the scheduler: a
//! Curator-compatible lock under `scheduler.election_path`. The holder leads while its session
//! is connected; on a disconnection it steps down at once (another replica may take over when
//! the session expires) and contends again with a new session.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use zookeeper_client as zk;

use crate::config::SchedulerConfig;
use crate::schedules::Leadership;

/// Runs until `stop` says so (or its sender is dropped). With no ZooKeeper configured this
/// replica is alone and leads.
pub async fn run(
    config: SchedulerConfig,
    leadership: Arc<Leadership>,
    mut stop: watch::Receiver<bool>,
) {
    let connect = config.zookeeper.trim().to_string();
    if connect.is_empty() {
        leadership.set_leader(true);
        return;
    }
    loop {
        if let Err(e) = contend(&config, &connect, &leadership, &mut stop).await {
            tracing::warn!(error = %e, "scheduler election: contending again");
        }
        leadership.set_leader(false);
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
    config: &SchedulerConfig,
    connect: &str,
    leadership: &Leadership,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), zk::Error> {
    // A chroot in the connect string becomes part of the path, so that it need not exist:
    // the lock creates every missing ancestor.
    let (hosts, chroot) = match connect.find('/') {
        Some(at) => (&connect[..at], connect[at..].trim_end_matches('/')),
        None => (connect, ""),
    };
    let path = format!("{chroot}{}", config.election_path);
    let client = zk::Client::connector()
        .with_session_timeout(Duration::from_millis(config.session_timeout_ms))
        .connect(hosts)
        .await?;
    let options = zk::LockOptions::new(zk::Acls::anyone_all())
        .with_ancestor_options(zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all()))?;
    let prefix = zk::LockPrefix::new_curator(&path, "leader")?;
    let lock = tokio::select! {
        lock = client.lock(prefix, b"", options) => lock?,
        _ = stop.changed() => return Ok(()),
    };
    leadership.set_leader(true);
    let mut states = client.state_watcher();
    loop {
        tokio::select! {
            state = states.changed() => {
                if state != zk::SessionState::SyncConnected {
                    tracing::warn!(?state, "scheduler election: session not connected, stepping down");
                    break;
                }
            }
            _ = stop.changed() => break,
        }
    }
    leadership.set_leader(false);
    // Delete the lock now rather than at session expiry, so another replica takes over at once.
    let path = lock.lock_path().to_string();
    let _ = tokio::time::timeout(Duration::from_secs(2), client.delete(&path, None)).await;
    drop(lock);
    Ok(())
}
