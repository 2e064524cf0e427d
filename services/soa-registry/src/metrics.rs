//! soa-registry's own series on `/metrics`, per zkidc: store operations and errors, the
//! session state, services and members, and the health check's work. Rendered at scrape time
//! from the stores' counters (see [`crate::store::StoreStats`]) and a count of the tree.

use std::fmt::Write;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::future::join_all;

use crate::config::HealthConfig;
use crate::registry::{Registry, MEMBER_PREFIX, SERVICES_ROOT};
use crate::store::{Store, StoreError, StoreStats};
use crate::SERVICE;

pub struct RegistryMetrics {
    pub registry: Arc<Registry>,
    pub health: HealthConfig,
}

impl kit::server::ExtraMetrics for RegistryMetrics {
    fn render(&self) -> Pin<Box<dyn Future<Output = String> + Send + '_>> {
        Box::pin(self.render_text())
    }
}

/// One zkidc's figures at scrape time.
struct Sample {
    zkidc: String,
    kind: &'static str,
    stats: StoreStats,
    /// Services and members, or `None` when the tree could not be read (ZooKeeper down): the
    /// gauges are then left out rather than reported as zero.
    tree: Option<(u64, u64)>,
    health_enabled: bool,
    health_leader: bool,
    checks: u64,
    to_alive: u64,
    to_dead: u64,
    failed_rounds: u64,
}

/// `# HELP` and `# TYPE` of one family, then one line per zkidc.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
}

const FAMILIES: [Family; 12] = [
    Family {
        name: "dcp_soa_store_operations_total",
        kind: "counter",
        help: "Operations that reached the zkidc's store (for ZooKeeper: round trips).",
    },
    Family {
        name: "dcp_soa_store_errors_total",
        kind: "counter",
        help: "Store operations that failed: kind unavailable (ZooKeeper unreachable or too slow) or other (unexpected).",
    },
    Family {
        name: "dcp_soa_view_hits_total",
        kind: "counter",
        help: "Reads answered by the watched view without a ZooKeeper round trip.",
    },
    Family {
        name: "dcp_soa_session_connected",
        kind: "gauge",
        help: "1 when the zkidc's ZooKeeper session is connected (the embedded store: always), else 0.",
    },
    Family {
        name: "dcp_soa_sessions_total",
        kind: "counter",
        help: "ZooKeeper sessions established since start (a new one after each expiry).",
    },
    Family {
        name: "dcp_soa_services",
        kind: "gauge",
        help: "Services under /soa/services (absent while the tree cannot be read).",
    },
    Family {
        name: "dcp_soa_members",
        kind: "gauge",
        help: "member_* nodes of every service (absent while the tree cannot be read).",
    },
    Family {
        name: "dcp_soa_health_enabled",
        kind: "gauge",
        help: "1 when the TCP health check runs for the zkidc.",
    },
    Family {
        name: "dcp_soa_health_leader",
        kind: "gauge",
        help: "1 when this process is the zkidc's elected health checker.",
    },
    Family {
        name: "dcp_soa_health_checks_total",
        kind: "counter",
        help: "Members probed by the health check.",
    },
    Family {
        name: "dcp_soa_health_flips_total",
        kind: "counter",
        help: "Member statuses written by the health check, by the status written.",
    },
    Family {
        name: "dcp_soa_health_failed_rounds_total",
        kind: "counter",
        help: "Health check rounds stopped early because the store failed.",
    },
];

impl RegistryMetrics {
    async fn render_text(&self) -> String {
        let samples = join_all(
            self.registry
                .zkidc_names()
                .into_iter()
                .map(|zkidc| self.sample(zkidc)),
        )
        .await;
        render(&samples.into_iter().flatten().collect::<Vec<_>>())
    }

    async fn sample(&self, zkidc: String) -> Option<Sample> {
        let store = self.registry.store_of(&zkidc)?;
        let counters = self.registry.health_counters(&zkidc)?;
        // Counted before the tree is read, so a scrape does not report its own reads.
        let stats = store.stats();
        let tree = count_tree(store.as_ref()).await.ok();
        Some(Sample {
            kind: store.kind(),
            stats,
            tree,
            health_enabled: self.health.enabled_for(&zkidc),
            health_leader: counters.leader.load(Ordering::Relaxed),
            checks: counters.checks.load(Ordering::Relaxed),
            to_alive: counters.to_alive.load(Ordering::Relaxed),
            to_dead: counters.to_dead.load(Ordering::Relaxed),
            failed_rounds: counters.failed_rounds.load(Ordering::Relaxed),
            zkidc,
        })
    }
}

/// (services, members) of a zkidc. For ZooKeeper these reads come from the watched view after
/// the first scrape, so scraping stays cheap.
async fn count_tree(store: &dyn Store) -> Result<(u64, u64), StoreError> {
    let services = match store.children(SERVICES_ROOT).await {
        Ok(services) => services,
        Err(StoreError::NoNode(_)) => return Ok((0, 0)),
        Err(e) => return Err(e),
    };
    let mut members = 0;
    for service in &services {
        match store.children(&format!("{SERVICES_ROOT}/{service}")).await {
            Ok(children) => {
                members += children
                    .iter()
                    .filter(|c| c.starts_with(MEMBER_PREFIX))
                    .count() as u64
            }
            // Deleted between the two reads.
            Err(StoreError::NoNode(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((services.len() as u64, members))
}

fn render(samples: &[Sample]) -> String {
    let mut out = String::new();
    for family in &FAMILIES {
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
        for s in samples {
            // zkidc names are letters, digits, `-` and `_` (checked at start): no escaping.
            let labels = format!(
                "service=\"{SERVICE}\",zkidc=\"{}\",store=\"{}\"",
                s.zkidc, s.kind
            );
            let mut line = |suffix: &str, value: u64| {
                let _ = writeln!(out, "{}{{{labels}{suffix}}} {value}", family.name);
            };
            match family.name {
                "dcp_soa_store_operations_total" => line("", s.stats.operations),
                "dcp_soa_store_errors_total" => {
                    line(",kind=\"unavailable\"", s.stats.unavailable);
                    line(",kind=\"other\"", s.stats.failures);
                }
                "dcp_soa_view_hits_total" => line("", s.stats.view_hits),
                "dcp_soa_session_connected" => line("", u64::from(s.stats.connected)),
                "dcp_soa_sessions_total" => line("", s.stats.sessions),
                "dcp_soa_services" => {
                    if let Some((services, _)) = s.tree {
                        line("", services);
                    }
                }
                "dcp_soa_members" => {
                    if let Some((_, members)) = s.tree {
                        line("", members);
                    }
                }
                "dcp_soa_health_enabled" => line("", u64::from(s.health_enabled)),
                "dcp_soa_health_leader" => line("", u64::from(s.health_leader)),
                "dcp_soa_health_checks_total" => line("", s.checks),
                "dcp_soa_health_flips_total" => {
                    line(",to=\"ALIVE\"", s.to_alive);
                    line(",to=\"DEAD\"", s.to_dead);
                }
                "dcp_soa_health_failed_rounds_total" => line("", s.failed_rounds),
                _ => {}
            }
        }
    }
    out
}
