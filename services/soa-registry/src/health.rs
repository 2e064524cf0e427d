//! The optional TCP health check: every `health.interval_ms`, each member of each service of a
//! checked zkidc gets a TCP connect to its `host:port`; a member whose ServerSet `status` is
//! `ALIVE` and cannot be reached becomes `DEAD`, a `DEAD` one that can be reached becomes
//! `ALIVE`. Members in any other status (`STARTING`, `STOPPING`, ...) are someone else's
//! business and are never touched, nor are members whose data does not parse.
//!
//! A flip is a compare-and-set on the znode's version: a member changed by someone else between
//! our read and our write is left alone until the next round, so the checker never overwrites
//! another writer's change. Several soa-registry processes on one ZooKeeper zkidc elect one
//! checker (`kit::election`, a lock under [`ELECTION_PATH`] in the zkidc's chroot); the others
//! skip their rounds until they lead. An embedded zkidc belongs to one process: it checks.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use tokio::sync::watch;
use wire::soa_registry::{Member, Status};

use crate::config::{Config, HealthConfig, EMBEDDED};
use crate::registry::{parse_member, service_path, Registry, MEMBER_PREFIX, SERVICES_ROOT};
use crate::store::{Store, StoreError};

/// What the checker of one zkidc has done, for `/metrics`.
#[derive(Debug, Default)]
pub struct HealthCounters {
    /// Members probed (ALIVE or DEAD ones only).
    pub checks: AtomicU64,
    /// Flips written, by the status written.
    pub to_alive: AtomicU64,
    pub to_dead: AtomicU64,
    /// Rounds that stopped early because the store failed (ZooKeeper unavailable, ...).
    pub failed_rounds: AtomicU64,
    /// Whether this process is the zkidc's elected checker.
    pub leader: AtomicBool,
}

/// The election's lock folder inside a ZooKeeper zkidc (beside `/soa/services`, which holds
/// only services, so ServerSet readers never see it).
pub const ELECTION_PATH: &str = "/soa/health-checker";

/// The status a member should get after a probe, if it should change: only `ALIVE` and `DEAD`
/// are the checker's to flip.
pub fn next_status(current: Status, reachable: bool) -> Option<Status> {
    match (current, reachable) {
        (Status::Alive, false) => Some(Status::Dead),
        (Status::Dead, true) => Some(Status::Alive),
        _ => None,
    }
}

/// Starts one checker task per zkidc the configuration enables, each with its election on a
/// ZooKeeper zkidc; they end when the registry is dropped (the service stopped).
pub fn spawn(registry: &Arc<Registry>, config: &Config) {
    for zkidc in registry.zkidc_names() {
        if !config.health.enabled_for(&zkidc) {
            continue;
        }
        tracing::info!(%zkidc, interval_ms = config.health.interval_ms, "health check enabled");
        let connect = config
            .zkidcs
            .get(&zkidc)
            .filter(|target| target.as_str() != EMBEDDED)
            .cloned()
            .unwrap_or_default();
        let election = kit::election::Election {
            connect,
            path: ELECTION_PATH.into(),
            session_timeout: Duration::from_millis(config.store.session_timeout_ms),
            what: format!("health check of zkidc {zkidc}"),
        };
        // Dropped with the checker task, which ends the election.
        let (stop, stopped) = watch::channel(false);
        let weak = Arc::downgrade(registry);
        let name = zkidc.clone();
        tokio::spawn(async move {
            let on_change = move |lead: bool| {
                if let Some(counters) = weak
                    .upgrade()
                    .as_ref()
                    .and_then(|r| r.health_counters(&name))
                {
                    let was = counters.leader.swap(lead, Ordering::Relaxed);
                    if was != lead {
                        tracing::info!(zkidc = %name, leader = lead, "health check leadership changed");
                    }
                }
            };
            kit::election::run(election, on_change, stopped).await
        });
        tokio::spawn(run(
            Arc::downgrade(registry),
            zkidc,
            config.health.clone(),
            stop,
        ));
    }
}

async fn run(
    registry: Weak<Registry>,
    zkidc: String,
    config: HealthConfig,
    _election: watch::Sender<bool>,
) {
    let interval = Duration::from_millis(config.interval_ms);
    loop {
        // Holding the registry only for one round lets the service stop between rounds.
        let Some(held) = registry.upgrade() else {
            return;
        };
        let (Some(store), Some(counters)) = (held.store_of(&zkidc), held.health_counters(&zkidc))
        else {
            return;
        };
        if !counters.leader.load(Ordering::Relaxed) {
            // Another process checks this zkidc (or the election has not decided yet).
            drop(held);
            tokio::time::sleep(interval).await;
            continue;
        }
        if let Err(e) = round(store.as_ref(), &zkidc, &config, counters).await {
            counters.failed_rounds.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%zkidc, error = %e, "health check round stopped");
        }
        drop(held);
        tokio::time::sleep(interval).await;
    }
}

/// One pass over every member of every service of the zkidc.
async fn round(
    store: &dyn Store,
    zkidc: &str,
    config: &HealthConfig,
    counters: &HealthCounters,
) -> Result<(), StoreError> {
    let services = match store.children(SERVICES_ROOT).await {
        Ok(services) => services,
        Err(StoreError::NoNode(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    let timeout = Duration::from_millis(config.connect_timeout_ms);
    for service in services {
        let path = service_path(&service);
        let members = match store.children(&path).await {
            Ok(members) => members,
            Err(StoreError::NoNode(_)) => continue,
            Err(e) => return Err(e),
        };
        let checks =
            members
                .into_iter()
                .filter(|key| key.starts_with(MEMBER_PREFIX))
                .map(|key| {
                    let member_path = format!("{path}/{key}");
                    let service = service.as_str();
                    async move {
                        check_member(store, zkidc, service, &member_path, timeout, counters).await
                    }
                });
        let results: Vec<Result<(), StoreError>> = stream::iter(checks)
            .buffer_unordered(config.concurrency)
            .collect()
            .await;
        if let Some(e) = results.into_iter().find_map(Result::err) {
            return Err(e);
        }
    }
    Ok(())
}

async fn check_member(
    store: &dyn Store,
    zkidc: &str,
    service: &str,
    path: &str,
    timeout: Duration,
    counters: &HealthCounters,
) -> Result<(), StoreError> {
    // The view's copy decides whether to probe at all; a flip re-reads with the version.
    let data = match store.get_data(path).await {
        Ok(data) => data,
        Err(StoreError::NoNode(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    let Ok(member) = parse_member(&data) else {
        return Ok(());
    };
    if !matches!(member.status, Status::Alive | Status::Dead) {
        return Ok(());
    }
    let endpoint = &member.service_endpoint;
    let reachable = probe(&endpoint.host, endpoint.port, timeout).await;
    counters.checks.fetch_add(1, Ordering::Relaxed);
    if next_status(member.status, reachable).is_none() {
        return Ok(());
    }
    let (data, version) = match store.get_versioned(path).await {
        Ok(found) => found,
        Err(StoreError::NoNode(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    // Decided again on the fresh data: it may have changed since the view's copy.
    let Ok(member) = parse_member(&data) else {
        return Ok(());
    };
    let Some(next) = next_status(member.status, reachable) else {
        return Ok(());
    };
    let Some(rewritten) = with_status(&data, &member, next) else {
        return Ok(());
    };
    match store.set_data(path, &rewritten, version).await {
        Ok(()) => {}
        // Changed or removed by someone else meanwhile: theirs wins, the next round decides.
        Err(StoreError::BadVersion(_) | StoreError::NoNode(_)) => return Ok(()),
        Err(e) => return Err(e),
    }
    let counter = match next {
        Status::Alive => &counters.to_alive,
        _ => &counters.to_dead,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    tracing::info!(
        zkidc,
        service,
        member = %path,
        host = %endpoint.host,
        port = endpoint.port,
        from = member.status.as_str(),
        to = next.as_str(),
        "health check changed a member's status"
    );
    Ok(())
}

/// True if a TCP connection to host:port opens within `timeout`.
async fn probe(host: &str, port: u16, timeout: Duration) -> bool {
    matches!(
        tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port))).await,
        Ok(Ok(_))
    )
}

/// The member's data with `status` replaced. Data in our own standard encoding is re-encoded
/// the same way (byte for byte but the status); any other writer's document keeps its keys,
/// their letter case and unknown fields, only the status value changes (JSON key order is not
/// kept there). `None` if the data is not a JSON object with a status.
pub fn with_status(data: &[u8], member: &Member, status: Status) -> Option<Vec<u8>> {
    let standard = serde_json::to_vec(member).ok()?;
    if standard == data {
        let changed = Member {
            status,
            ..member.clone()
        };
        return serde_json::to_vec(&changed).ok();
    }
    let mut value: Value = serde_json::from_slice(data).ok()?;
    let object = value.as_object_mut()?;
    let key = object
        .keys()
        .find(|k| k.eq_ignore_ascii_case("status"))?
        .clone();
    object.insert(key, Value::String(status.as_str().to_string()));
    serde_json::to_vec(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_alive_and_dead_are_flipped() {
        assert_eq!(next_status(Status::Alive, false), Some(Status::Dead));
        assert_eq!(next_status(Status::Dead, true), Some(Status::Alive));
        assert_eq!(next_status(Status::Alive, true), None);
        assert_eq!(next_status(Status::Dead, false), None);
        for other in [
            Status::Starting,
            Status::Stopping,
            Status::Stopped,
            Status::Warning,
        ] {
            assert_eq!(next_status(other, true), None, "{other:?}");
            assert_eq!(next_status(other, false), None, "{other:?}");
        }
    }

    #[test]
    fn standard_data_keeps_its_exact_encoding() {
        let data = br#"{"serviceEndpoint":{"host":"10.0.0.1","port":80},"additionalEndpoints":{},"status":"ALIVE"}"#;
        let member = parse_member(data).expect("parses");
        let dead = with_status(data, &member, Status::Dead).expect("rewritten");
        assert_eq!(
            dead,
            br#"{"serviceEndpoint":{"host":"10.0.0.1","port":80},"additionalEndpoints":{},"status":"DEAD"}"#
        );
    }

    #[test]
    fn other_writers_keep_their_keys_and_fields() {
        let data = br#"{"ServiceEndpoint":{"Host":"h","Port":"81"},"Status":"Alive","extra":7}"#;
        let member = parse_member(data).expect("parses");
        let dead = with_status(data, &member, Status::Dead).expect("rewritten");
        let value: Value = serde_json::from_slice(&dead).expect("JSON");
        assert_eq!(value["Status"], "DEAD");
        assert_eq!(value["extra"], 7);
        assert_eq!(value["ServiceEndpoint"]["Port"], "81");
        assert!(value.get("status").is_none(), "{value}");
    }
}
