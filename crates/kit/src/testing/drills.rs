//! Database fault drills of a whole service over HTTP, on a [`PrivateMariaDb`]: SIGKILL and
//! restart, SIGSTOP for longer than the request deadline and SIGCONT. Each service's suite
//! says how to write, read and check one thing ([`DrillTarget`]); the drills assert what its
//! clients see: no 500 ever, fast 503s while the database is known down, an answer within the
//! deadline while it is frozen, the first request after it answers again served, and every
//! acknowledged write stored afterwards.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::mariadb::PrivateMariaDb;

/// While the database is known down, refusals arrive within this (the bound): nine in
/// ten of them, and every one within [`SLOW_REFUSAL`] — on a loaded two-core machine a single
/// HTTP round trip can stall, but a refusal that waited on the database takes seconds.
pub const FAST_REFUSAL: Duration = Duration::from_millis(100);
pub const SLOW_REFUSAL: Duration = Duration::from_secs(1);
/// What a loaded two-core machine may add to a bound before a drill calls it broken.
const MARGIN: Duration = Duration::from_millis(750);
/// `/readyz`'s own limit (kit::db).
const READY_LIMIT: Duration = Duration::from_secs(2);

/// One service under drill.
#[allow(async_fn_in_trait)]
pub trait DrillTarget {
    /// `http://127.0.0.1:PORT`, for `/readyz`.
    fn url(&self) -> String;
    /// Writes thing number `n` (a create with a key of its own); the HTTP status.
    async fn write(&self, n: u32) -> u16;
    /// A read that needs the database; the HTTP status.
    async fn read(&self) -> u16;
    /// Whether thing `n` is stored, asked of the service once the drills are over.
    async fn stored(&self, n: u32) -> bool;
}

/// What clients saw in one drill, for BENCHMARKS.md's "Faults" table.
#[derive(Debug, Default)]
pub struct DrillReport {
    pub drill: &'static str,
    /// Answers other than 2xx while the database was down or frozen, by status.
    pub refusals: BTreeMap<u16, usize>,
    /// The refusals once the service knew the database was down, slowest last.
    pub known_refusals: Vec<Duration>,
    /// The slowest answer of all while the database was down or frozen.
    pub slowest_answer: Duration,
    /// From the database answering again to the service's first successful write.
    pub first_success_after: Duration,
    /// Requests that failed after the database answered again (the issue's "stale
    /// connection" failures): always zero, or the drill fails.
    pub failures_after_recovery: usize,
}

impl DrillReport {
    /// Nine in ten refusals once the service knew were at most this fast.
    pub fn known_refusal_p90(&self) -> Duration {
        let mut sorted = self.known_refusals.clone();
        sorted.sort();
        let at = (sorted.len() * 9).div_ceil(10).saturating_sub(1);
        sorted.get(at).copied().unwrap_or_default()
    }

    /// A Markdown table row: drill | refusals | p90 known refusal | slowest answer | first
    /// success | failures after recovery.
    pub fn row(&self, service: &str) -> String {
        let refusals: Vec<String> = self
            .refusals
            .iter()
            .map(|(status, n)| format!("{n}× {status}"))
            .collect();
        format!(
            "| {service} | {} | {} | {} ms | {} ms | {} ms | {} |",
            self.drill,
            refusals.join(", "),
            self.known_refusal_p90().as_millis(),
            self.slowest_answer.as_millis(),
            self.first_success_after.as_millis(),
            self.failures_after_recovery
        )
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

struct Drill<'a, T: DrillTarget> {
    target: &'a T,
    http: reqwest::Client,
    next: u32,
    acknowledged: Vec<u32>,
}

impl<T: DrillTarget> Drill<'_, T> {
    /// A write or a read (alternately), its status and how long it took.
    async fn request(&mut self, write: bool) -> (u16, Duration) {
        let started = Instant::now();
        let status = if write {
            self.next += 1;
            let n = self.next;
            let status = self.target.write(n).await;
            if is_success(status) {
                self.acknowledged.push(n);
            }
            status
        } else {
            self.target.read().await
        };
        assert_ne!(status, 500, "a 500 during a database drill");
        (status, started.elapsed())
    }

    async fn ready(&self) -> (u16, Duration) {
        let started = Instant::now();
        let status = self
            .http
            .get(format!("{}/readyz", self.target.url()))
            .send()
            .await
            .map(|reply| reply.status().as_u16())
            .unwrap_or_else(|e| panic!("/readyz did not answer: {e}"));
        (status, started.elapsed())
    }

    /// Requests while the database is healthy: every one succeeds.
    async fn healthy(&mut self, what: &str) {
        for i in 0..6 {
            let (status, _) = self.request(i % 2 == 0).await;
            assert!(is_success(status), "{what}: request {i} answered {status}");
        }
        let (status, _) = self.ready().await;
        assert_eq!(status, 200, "{what}: /readyz");
    }

    /// Right after the database answers again: the first write succeeds, and so does
    /// everything after it.
    async fn recovered(&mut self, report: &mut DrillReport, answered: Instant) {
        let (status, _) = self.request(true).await;
        report.first_success_after = answered.elapsed();
        if !is_success(status) {
            report.failures_after_recovery += 1;
        }
        for _ in 0..8 {
            let (status, _) = self.request(false).await;
            if !is_success(status) {
                report.failures_after_recovery += 1;
            }
        }
        assert_eq!(
            report.failures_after_recovery, 0,
            "{}: requests failed after the database answered again",
            report.drill
        );
        self.healthy(report.drill).await;
    }
}

fn assert_fast(report: &DrillReport) {
    let p90 = report.known_refusal_p90();
    let slowest = report
        .known_refusals
        .iter()
        .max()
        .copied()
        .unwrap_or_default();
    assert!(
        p90 < FAST_REFUSAL && slowest < SLOW_REFUSAL,
        "{}: refusals once the outage was known took {p90:?} (p90), {slowest:?} at most",
        report.drill
    );
}

/// Runs both drills against `target`, whose database is `database` and whose request deadline
/// is `deadline`; returns what clients saw.
pub async fn run_database_drills<T: DrillTarget>(
    database: &mut PrivateMariaDb,
    target: &T,
    deadline: Duration,
) -> Vec<DrillReport> {
    let mut drill = Drill {
        target,
        http: reqwest::Client::builder()
            // A hang is a failure of its own; nothing here should come near this.
            .timeout(deadline * 4 + Duration::from_secs(5))
            .build()
            .expect("an HTTP client"),
        next: 0,
        acknowledged: Vec::new(),
    };
    drill.healthy("before the drills").await;
    let mut reports = Vec::new();

    // SIGKILL, requests while down, restart.
    let mut report = DrillReport {
        drill: "database SIGKILL + restart",
        ..DrillReport::default()
    };
    database.kill();
    for i in 0..12 {
        let (status, took) = drill.request(i % 2 == 0).await;
        assert_eq!(status, 503, "request {i} while the database is down");
        *report.refusals.entry(status).or_default() += 1;
        report.slowest_answer = report.slowest_answer.max(took);
        if i > 0 {
            report.known_refusals.push(took);
        }
    }
    let (status, took) = drill.ready().await;
    assert_eq!(status, 503, "/readyz while the database is down");
    report.known_refusals.push(took);
    assert_fast(&report);
    database.launch();
    let answered = Instant::now();
    drill.recovered(&mut report, answered).await;
    reports.push(report);

    // SIGSTOP for longer than the deadline, SIGCONT.
    let mut report = DrillReport {
        drill: "database SIGSTOP > deadline + SIGCONT",
        ..DrillReport::default()
    };
    database.freeze();
    let frozen = Instant::now();
    for i in 0..8 {
        let (status, took) = drill.request(i % 2 == 0).await;
        assert_eq!(status, 503, "request {i} while the database is frozen");
        assert!(
            took < deadline + MARGIN,
            "request {i} took {took:?} on a frozen database (deadline {deadline:?})"
        );
        *report.refusals.entry(status).or_default() += 1;
        report.slowest_answer = report.slowest_answer.max(took);
        // Once the freeze is known, a request waits only for the probe under way (which
        // hangs with the database) before it is refused.
        if i > 0 {
            report.known_refusals.push(took);
        }
    }
    let (status, took) = drill.ready().await;
    assert_eq!(status, 503, "/readyz while the database is frozen");
    assert!(
        took < READY_LIMIT + MARGIN,
        "/readyz took {took:?} while frozen"
    );
    // Frozen for longer than the deadline before it thaws.
    let frozen_for = frozen.elapsed();
    if frozen_for < deadline * 2 {
        tokio::time::sleep(deadline * 2 - frozen_for).await;
    }
    database.thaw();
    database.wait_until_answers(Duration::from_secs(10));
    let answered = Instant::now();
    drill.recovered(&mut report, answered).await;
    reports.push(report);

    for n in &drill.acknowledged {
        assert!(
            target.stored(*n).await,
            "acknowledged write {n} is not stored after the drills"
        );
    }
    reports
}
