//! orchestrator: clusters, services, pools and their nodes; expand, shrink and deploy through
//! the task-engine; schedules (see `proto-docs/orchestrator.md`). `start` builds the whole
//! service so that tests can run it in-process on port 0.

pub mod config;
pub mod domain;
pub mod error;
pub mod flows;
pub mod inventory;
pub mod records;
pub mod registry_targets;
mod routes;
pub mod schedules;
mod store;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use kit::db::{Db, Migrations};
use kit::server::{AppData, StartError};
use tokio::sync::watch;

pub use config::Config;
/// Every route with who may call it (for the route-table test of issue #13).
pub use routes::table;
use schedules::{Clock, Leadership, SystemClock};

pub const SERVICE: &str = "orchestrator";

/// The background loops of one orchestrator (reconciliation, election, scheduler). They stop
/// when this is stopped or dropped.
pub struct Background {
    stop: watch::Sender<bool>,
}

impl Background {
    /// Stops the loops; a leader gives up its lead at once.
    pub fn stop(self) {
        let _ = self.stop.send(true);
    }

    /// Keeps the loops running for the life of the process (the binary).
    pub fn detach(self) {
        std::mem::forget(self.stop);
    }
}

/// A started orchestrator: its server, its background loops and its leadership.
pub struct Started {
    pub bound: kit::server::Bound,
    pub background: Background,
    pub leadership: Arc<Leadership>,
}

/// Opens the database (running migrations), binds the HTTP server and starts the background
/// loops for the life of the process; await `server` to serve.
pub async fn start(config: Config) -> Result<kit::server::Bound, StartError> {
    let started = start_with_clock(config, Arc::new(SystemClock)).await?;
    started.background.detach();
    Ok(started.bound)
}

/// The orchestrator's schema, per backend (for tools and tests that open its database).
pub fn migrations() -> Migrations {
    kit::migrations!()
}

/// [`start`] with the scheduler reading `clock`, and the background loops in the caller's hands.
pub async fn start_with_clock(
    config: Config,
    clock: Arc<dyn Clock>,
) -> Result<Started, StartError> {
    let db = Db::open_async(&config.database, migrations()).await?;
    let shared = actix_web::web::Data::new(db.clone());
    let front_door = actix_web::web::Data::new(
        routes::forward::TaskEngine::new(&config.task_engine, config.identity.credentials())
            .map_err(|e| StartError::Setup(format!("task-engine client: {e}")))?,
    );
    let notify_url = Arc::new(OnceLock::new());
    let flows = flows::Flows::new(
        db.clone(),
        &config.task_engine,
        config.identity.credentials(),
        notify_url.clone(),
    )
    .map_err(|e| StartError::Setup(format!("task-engine client: {e}")))?;
    let flows_data = actix_web::web::Data::new(flows.clone());
    let leadership = Arc::new(Leadership::default());
    let leadership_data = actix_web::web::Data::new(leadership.clone());
    let trail = actix_web::web::Data::new(kit::audit::Trail::new(db.clone()));
    let bound = kit::server::start(
        SERVICE,
        &config.http,
        kit::auth::Verifier::new(config.auth.clone())?,
        Arc::new(db),
        routes::table(),
        AppData::new()
            .with(trail)
            .with(shared)
            .with(front_door)
            .with(flows_data)
            .with(leadership_data),
    )?;
    let _ = notify_url.set(event_url(&config.events.public_url, bound.addr));

    let (stop, stopped) = watch::channel(false);
    let stopped_election = stopped.clone();
    let reconcile_every = Duration::from_millis(config.events.reconcile_interval_ms);
    actix_web::rt::spawn(reconcile(flows.clone(), reconcile_every, stopped.clone()));
    let election = kit::election::Election {
        connect: config.scheduler.zookeeper.clone(),
        path: config.scheduler.election_path.clone(),
        session_timeout: Duration::from_millis(config.scheduler.session_timeout_ms),
        what: "scheduler".into(),
    };
    let leader = leadership.clone();
    actix_web::rt::spawn(async move {
        kit::election::run(
            election,
            move |lead| leader.set_leader(lead),
            stopped_election,
        )
        .await
    });
    actix_web::rt::spawn(schedules::run(
        flows,
        leadership.clone(),
        clock,
        Duration::from_millis(config.scheduler.tick_ms),
        stopped,
    ));
    Ok(Started {
        bound,
        background: Background { stop },
        leadership,
    })
}

/// `notify_url`: the configured public URL, else the bound address (0.0.0.0 as 127.0.0.1).
fn event_url(public_url: &str, addr: std::net::SocketAddr) -> String {
    let base = public_url.trim().trim_end_matches('/');
    if !base.is_empty() {
        return format!("{base}/internal/task_event");
    }
    let host = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_string(),
        ip if ip.is_unspecified() => "[::1]".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{}/internal/task_event", addr.port())
}

/// Reads every unfinished task again every `every`, until stopped: a lost event or a restart
/// costs only this delay.
async fn reconcile(flows: flows::Flows, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => flows.reconcile().await,
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::event_url;

    #[test]
    fn the_event_url_comes_from_the_public_url_or_the_bound_address() {
        let any = "0.0.0.0:8002".parse().expect("an address");
        assert_eq!(
            event_url("", any),
            "http://127.0.0.1:8002/internal/task_event"
        );
        assert_eq!(
            event_url("http://oc:8002/", any),
            "http://oc:8002/internal/task_event"
        );
        let local = "127.0.0.1:4000".parse().expect("an address");
        assert_eq!(
            event_url(" ", local),
            "http://127.0.0.1:4000/internal/task_event"
        );
    }
}
