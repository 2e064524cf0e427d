//! The run loop: `/task/start` (or `auto` at creation) runs a task's nodes batch after batch
//! (batch N+1 once batch N is done and none of its nodes failed), up to `run.concurrency`
//! nodes at a time inside a batch, each node step after step through the task's copy of its
//! template. Every event is a log row and every node-step result is committed as it happens.

use std::sync::Arc;
use std::time::Duration;

use kit::db::Db;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use wire::host::HostAddress;
use wire::task_engine::{self as w, BuiltinStep, TaskState, TemplateStep};

use crate::builtin::{Facts, NodeRef, Peers};
use crate::config::RunConfig;
use crate::error::Error;
use crate::exec::{prepare, StepExecutor, Vars};
use crate::notify::Notifier;
use crate::store::{self, FlowRow, NodeRow};

/// Starts tasks and owns their run loops.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    /// This engine's name in the tasks' `owner` column.
    id: String,
    db: Db,
    executor: Arc<dyn StepExecutor>,
    config: RunConfig,
    /// The services the built-in steps call.
    peers: Arc<Peers>,
    notifier: Notifier,
}

/// A node's address, instance and variables as a run knows them: what it was created with,
/// plus what built-in steps learnt.
struct NodeNow {
    ip: String,
    vm_id: String,
    vars: Map<String, Value>,
    /// The steps that had a result on this node before this run.
    tried: Vec<String>,
}

/// What a node-step write says, besides the node's progress.
#[derive(Default)]
struct Extra {
    /// The node's learnt facts, written in the same transaction.
    facts: Option<(String, String, String)>,
    /// Whether the task's `notify_url` hears of it.
    notify: bool,
    /// A log row written just before the progress row (the step's last attempt), so that a
    /// node-step costs one transaction.
    attempt_log: Option<String>,
    /// The step the node runs next: the same transaction says whether the run goes on and
    /// reads that step's actions from the catalog.
    next_step: Option<String>,
}

impl Extra {
    /// Nothing more than telling the task's `notify_url`.
    fn notifying() -> Self {
        Extra {
            notify: true,
            ..Extra::default()
        }
    }
}

/// The node a progress write is about: its task, id and batch.
struct NodeAt<'a> {
    flow: &'a FlowRow,
    nid: i64,
    batch: i64,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Whether a run goes on: a stopped or paused task ends its nodes at the next step
/// boundary; a task another engine has taken over is left to it without a further write.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Halt {
    Go,
    Stopped,
    Paused,
    Lost,
}

/// How one node's run ended.
enum NodeEnd {
    Succeeded,
    Failed,
    /// Paused or stopped before a step, or left to another engine.
    Halted,
}

/// How one step ended on one node.
enum StepEnd {
    Succeeded,
    Ignored,
    Failed,
}

impl Engine {
    pub fn new(
        db: Db,
        executor: Arc<dyn StepExecutor>,
        config: RunConfig,
        peers: Arc<Peers>,
        notifier: Notifier,
    ) -> Self {
        Engine {
            inner: Arc::new(Inner {
                id: format!(
                    "te-{}-{}",
                    std::process::id(),
                    &uuid::Uuid::new_v4().simple().to_string()[..12]
                ),
                db,
                executor,
                config,
                peers,
                notifier,
            }),
        }
    }

    /// Where the tasks' events may go (`events.allowed_urls`).
    pub fn event_targets(&self) -> &crate::notify::EventTargets {
        self.inner.notifier.targets()
    }

    /// Marks the task RUNNING and starts its loop. INIT tasks start from the beginning;
    /// FAILED tasks resume: their failed nodes go back to INIT and run again from the step
    /// where each stopped. PAUSED tasks resume every waiting node from its step, once the
    /// paused run has ended (its nodes finished their current step) or its engine died.
    /// RUNNING, SUCCESS and STOPPED tasks are refused (409).
    pub async fn start(&self, fid: i64, who: &str) -> Result<(), Error> {
        let who = who.to_string();
        let (me, lease) = (self.inner.id.clone(), self.inner.lease());
        self.inner
            .db
            .write(move |c| -> Result<(), Error> {
                let flow = store::flow(c, fid)?
                    .ok_or_else(|| Error::NotFound(format!("task {fid} not found")))?;
                let at = now();
                match flow.state {
                    TaskState::Init | TaskState::Failed => {}
                    // The paused run still holds the task while its nodes finish their step.
                    TaskState::Paused if !flow.owner.is_empty() && flow.lease_until >= at => {
                        return Err(Error::Conflict(format!(
                            "task {fid} is still pausing: its running nodes are finishing their current step; start it again when they have"
                        )))
                    }
                    TaskState::Paused => {}
                    other => {
                        return Err(Error::Conflict(format!(
                            "task {fid} is {}; only an INIT, FAILED or PAUSED task can be started",
                            other.name()
                        )))
                    }
                }
                // Guards against a concurrent start: only one moves it out of INIT/FAILED.
                if store::move_flow_state(
                    c,
                    fid,
                    &[TaskState::Init, TaskState::Failed, TaskState::Paused],
                    TaskState::Running,
                    at,
                )? != 1
                {
                    return Err(Error::Conflict(format!("task {fid} is already starting")));
                }
                store::claim_flow(c, fid, &me, at + lease)?;
                let reset = store::reset_nodes(c, fid, TaskState::Failed, TaskState::Init, at)?;
                let message = if flow.state == TaskState::Failed {
                    format!("task started again by {who}: {reset} failed node(s) resume")
                } else if flow.state == TaskState::Paused {
                    format!("task resumed by {who}: its nodes go on from the step where each waits")
                } else {
                    format!("task started by {who}")
                };
                store::insert_log(c, fid, 0, None, &message, at)?;
                Ok(())
            })
            .await?;
        self.inner.clone().spawn(fid);
        Ok(())
    }

    /// Starts the lease keeper: every third of `run.lease_secs` it renews the leases of the
    /// tasks this engine runs and takes over RUNNING tasks whose lease has expired (their
    /// engine died), continuing each from where its nodes were.
    pub fn keep_leases(&self) {
        let inner = self.inner.clone();
        tracing::info!(
            engine = %inner.id,
            lease_secs = inner.config.lease_secs,
            "task lease keeper started"
        );
        tokio::spawn(async move {
            let period = Duration::from_millis(inner.config.lease_secs * 1000 / 3);
            loop {
                if let Err(e) = inner.clone().lease_round().await {
                    tracing::warn!(error = %e, "lease round failed");
                }
                tokio::time::sleep(period).await;
            }
        });
    }

    /// Pauses a RUNNING task: it becomes PAUSED at once; a node in the middle of a step
    /// finishes that step and waits (INIT, at its next step) instead of going on, and no
    /// further node or batch starts. `start` resumes it. Other states are refused (409).
    pub async fn pause(&self, fid: i64, who: &str) -> Result<(), Error> {
        let who = who.to_string();
        self.inner
            .db
            .write(move |c| -> Result<(), Error> {
                let at = now();
                let only = "only a RUNNING task can be paused";
                transition(c, fid, &[TaskState::Running], TaskState::Paused, only, at)?;
                let message =
                    format!("task paused by {who}: running nodes wait after their current step");
                store::insert_log(c, fid, 0, None, &message, at)?;
                Ok(())
            })
            .await
    }

    /// Stops a task for good: INIT, RUNNING, PAUSED and FAILED tasks become STOPPED at once, their
    /// INIT nodes too; a node in the middle of a step finishes that step and stops before the
    /// next one. SUCCESS and STOPPED tasks are refused (409); a stopped task cannot be started.
    pub async fn stop(&self, fid: i64, who: &str) -> Result<(), Error> {
        let who = who.to_string();
        self.inner
            .db
            .write(move |c| -> Result<(), Error> {
                let at = now();
                let from = [
                    TaskState::Init,
                    TaskState::Running,
                    TaskState::Paused,
                    TaskState::Failed,
                ];
                let only = "only an INIT, RUNNING, PAUSED or FAILED task can be stopped";
                transition(c, fid, &from, TaskState::Stopped, only, at)?;
                let parked = store::reset_nodes(c, fid, TaskState::Init, TaskState::Stopped, at)?;
                let message = format!(
                    "task stopped by {who}: {parked} node(s) not started are STOPPED; running nodes stop after their current step"
                );
                store::insert_log(c, fid, 0, None, &message, at)?;
                Ok(())
            })
            .await
    }
}

/// Moves task `fid` from one of `from` to `to`, or refuses (409) naming its state and `only`,
/// the states it could have been moved from.
fn transition(
    c: &mut kit::db::DbConn,
    fid: i64,
    from: &[TaskState],
    to: TaskState,
    only: &str,
    at: i64,
) -> Result<(), Error> {
    let flow =
        store::flow(c, fid)?.ok_or_else(|| Error::NotFound(format!("task {fid} not found")))?;
    if store::move_flow_state(c, fid, from, to, at)? != 1 {
        return Err(Error::Conflict(format!(
            "task {fid} is {}; {only}",
            flow.state.name()
        )));
    }
    Ok(())
}

impl Inner {
    fn lease(&self) -> i64 {
        i64::try_from(self.config.lease_secs).unwrap_or(i64::MAX / 2)
    }

    async fn lease_round(self: Arc<Self>) -> Result<(), Error> {
        let (me, lease) = (self.id.clone(), self.lease());
        let taken = self
            .db
            .write(move |c| -> Result<Vec<i64>, Error> {
                let at = now();
                store::renew_leases(c, &me, at + lease)?;
                let mut taken = Vec::new();
                for fid in store::expired_flows(c, at)? {
                    let (before, until) = store::flow(c, fid)?
                        .map(|f| (f.owner, f.lease_until))
                        .unwrap_or_default();
                    if store::take_over_flow(c, fid, &me, at, at + lease)? == 1 {
                        let message = format!(
                            "task taken over by engine `{me}`: the lease of engine `{before}` expired {} s ago; steps that were running are run again",
                            at - until
                        );
                        store::insert_log(c, fid, 0, None, &message, at)?;
                        taken.push(fid);
                    }
                }
                Ok(taken)
            })
            .await?;
        for fid in taken {
            tracing::info!(task = fid, "task taken over");
            self.clone().spawn(fid);
        }
        Ok(())
    }

    fn spawn(self: Arc<Self>, fid: i64) {
        let inner = self;
        tokio::spawn(async move {
            let mut outage = Outage::default();
            let failure = loop {
                match inner.clone().run_flow(fid).await {
                    Ok(()) => return,
                    // The database went away under the run: once it is back, the run goes on
                    // from what it recorded (finished steps are recorded, see `progress`).
                    Err(e) if e.is_unavailable() => outage.wait(fid, "the task's run", &e).await,
                    Err(e) => break e,
                }
            };
            tracing::error!(task = fid, error = %failure, "task loop failed");
            // Best effort: say so in the task's log and leave it FAILED.
            let message = format!("task loop failed: {failure}");
            let _ = inner
                .db
                .write(move |c| -> Result<(), Error> {
                    let at = now();
                    store::move_flow_state(c, fid, &[TaskState::Running], TaskState::Failed, at)?;
                    store::insert_log(c, fid, 0, None, &message, at)?;
                    Ok(())
                })
                .await;
        });
    }

    /// Runs a write of the run loop again while the database is unavailable, until it is
    /// taken: a step that finished while the database was away is recorded when it comes
    /// back, not run a second time. Safe to repeat: the writes check the task's owner first
    /// and set absolute values (a write that outlived its deadline and was committed after
    /// all leaves, at worst, its log line twice).
    async fn until_recorded<T, Fut>(
        &self,
        fid: i64,
        what: &str,
        mut write: impl FnMut() -> Fut,
    ) -> Result<T, Error>
    where
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        let mut outage = Outage::default();
        loop {
            match write().await {
                Err(e) if e.is_unavailable() => outage.wait(fid, what, &e).await,
                other => return other,
            }
        }
    }
}

/// Waiting out a database outage in the run loop: a warning once, then pauses that grow to
/// two seconds.
#[derive(Default)]
struct Outage {
    waits: u32,
}

impl Outage {
    async fn wait(&mut self, fid: i64, what: &str, error: &Error) {
        if self.waits == 0 {
            tracing::warn!(task = fid, %what, %error, "database unavailable: the run waits for it");
        }
        self.waits = self.waits.saturating_add(1);
        let pause = Duration::from_millis(100).saturating_mul(1 << self.waits.min(5));
        tokio::time::sleep(pause.min(Duration::from_secs(2))).await;
    }
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, Error> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(format!("stored {what} is not valid: {e}")))
}

impl Inner {
    async fn log(
        &self,
        fid: i64,
        batch: i64,
        node: Option<i64>,
        message: String,
    ) -> Result<(), Error> {
        self.until_recorded(fid, "a log line", || {
            let message = message.clone();
            self.db.write(move |c| -> Result<(), Error> {
                store::insert_log(c, fid, batch, node, &message, now())?;
                Ok(())
            })
        })
        .await
    }

    async fn halt(&self, fid: i64) -> Result<Halt, Error> {
        let me = self.id.clone();
        self.db
            .read(move |c| -> Result<_, Error> { Ok(halt_of(store::flow(c, fid)?, &me)) })
            .await
    }

    async fn run_flow(self: Arc<Self>, fid: i64) -> Result<(), Error> {
        let flow = self
            .db
            .read(move |c| -> Result<_, Error> {
                store::flow(c, fid)?.ok_or_else(|| Error::NotFound(format!("task {fid} not found")))
            })
            .await?;
        let steps: Arc<Vec<TemplateStep>> = Arc::new(decode("task steps", &flow.steps)?);
        let params: Arc<Map<String, Value>> = Arc::new(decode("task params", &flow.params)?);
        let flow = Arc::new(flow);
        // The task timeout counts from this start (a resumed task gets its full time again).
        let deadline = u64::try_from(flow.timeout_secs)
            .ok()
            .filter(|&secs| secs > 0)
            .map(|secs| Instant::now() + Duration::from_secs(secs));
        let expired = move || deadline.is_some_and(|d| Instant::now() >= d);
        let mut stopped_at = None;
        for batch in 1..=flow.batch_count {
            match self.halt(fid).await? {
                Halt::Go if !expired() => {}
                Halt::Lost => return Ok(()),
                _ => break,
            }
            let nodes = self
                .db
                .read(move |c| -> Result<_, Error> {
                    Ok(store::nodes_of_batch(
                        c,
                        fid,
                        batch,
                        &[TaskState::Init, TaskState::Running],
                    )?)
                })
                .await?;
            if nodes.is_empty() {
                continue;
            }
            self.log(
                fid,
                batch,
                None,
                format!("batch {batch} started: {} node(s)", nodes.len()),
            )
            .await?;
            let limit = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
            let mut set = JoinSet::new();
            for node in nodes {
                let inner = self.clone();
                let limit = limit.clone();
                let (flow, steps, params) = (flow.clone(), steps.clone(), params.clone());
                set.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    inner.run_node(&flow, &steps, &params, node, deadline).await
                });
            }
            let (mut ok, mut failed, mut halted) = (0, 0, 0);
            let mut first_error = None;
            while let Some(joined) = set.join_next().await {
                match joined {
                    Ok(Ok(NodeEnd::Succeeded)) => ok += 1,
                    Ok(Ok(NodeEnd::Failed)) => failed += 1,
                    Ok(Ok(NodeEnd::Halted)) => halted += 1,
                    Ok(Err(e)) => {
                        failed += 1;
                        first_error.get_or_insert(e);
                    }
                    Err(e) => {
                        failed += 1;
                        first_error.get_or_insert(Error::Internal(format!("node run: {e}")));
                    }
                }
            }
            if let Some(e) = first_error {
                return Err(e);
            }
            self.log(
                fid,
                batch,
                None,
                if halted > 0 {
                    format!("batch {batch} halted: {ok} node(s) succeeded, {failed} failed, {halted} paused or stopped")
                } else {
                    format!("batch {batch} done: {ok} node(s) succeeded, {failed} failed")
                },
            )
            .await?;
            if failed > 0 && batch < flow.batch_count {
                stopped_at = Some(batch);
                break;
            }
        }
        let timeout = expired().then_some(flow.timeout_secs);
        self.finish(fid, stopped_at, timeout).await
    }

    /// The task's end state from its nodes: SUCCESS when every node succeeded, otherwise
    /// FAILED (partial success included; the message says how many succeeded).
    async fn finish(
        &self,
        fid: i64,
        stopped_at: Option<i64>,
        timeout: Option<i64>,
    ) -> Result<(), Error> {
        let me = self.id.clone();
        let ended = self
            .db
            .write(move |c| -> Result<Option<(TaskState, String)>, Error> {
                let nodes = store::nodes_of_flow(c, fid)?;
                let total = nodes.len();
                let at = now();
                let flow = store::flow(c, fid)?;
                let Some(flow) = flow.filter(|f| f.owner == me) else {
                    return Ok(None);
                };
                let url = flow.notify_url.clone();
                let waiting = nodes
                    .iter()
                    .filter(|n| n.state == TaskState::Init || n.state == TaskState::Running)
                    .count();
                // A paused run that left nodes waiting stays PAUSED; one with nothing left to
                // run, or whose batch failed (later batches would not start), ends as usual.
                let paused = flow.state == TaskState::Paused;
                if paused && waiting > 0 && stopped_at.is_none() {
                    let ok = nodes.iter().filter(|n| n.state == TaskState::Success).count();
                    let message = format!(
                        "task run paused: {ok} of {total} node(s) succeeded, {waiting} wait for /task/start"
                    );
                    // The run is over: a start may now resume the task (on any engine).
                    store::release_flow(c, fid, &me)?;
                    store::insert_log(c, fid, 0, None, &message, at)?;
                    return Ok(Some((TaskState::Paused, url)));
                }
                if flow.state == TaskState::Stopped {
                    let ok = nodes.iter().filter(|n| n.state == TaskState::Success).count();
                    let message =
                        format!("task run ended STOPPED: {ok} of {total} node(s) succeeded");
                    store::insert_log(c, fid, 0, None, &message, at)?;
                    return Ok(Some((TaskState::Stopped, url)));
                }
                let ok = nodes.iter().filter(|n| n.state == TaskState::Success).count();
                let state = if ok == total {
                    TaskState::Success
                } else {
                    TaskState::Failed
                };
                let mut message = format!(
                    "task finished {}: {ok} of {total} node(s) succeeded",
                    state.name()
                );
                if ok > 0 && ok < total {
                    message.push_str(" (partial success)");
                }
                if let Some(secs) = timeout {
                    message.push_str(&format!("; the task timeout of {secs} s was reached"));
                } else if let Some(batch) = stopped_at {
                    message.push_str(&format!(
                        "; batch {batch} had failed node(s), so the later batches did not start"
                    ));
                }
                store::set_flow_state(c, fid, state, at)?;
                store::insert_log(c, fid, 0, None, &message, at)?;
                Ok(Some((state, url)))
            })
            .await?;
        if let Some((state, url)) = ended {
            self.notifier.send(
                &url,
                w::TaskEvent {
                    fid,
                    state,
                    node_id: None,
                },
            );
        }
        Ok(())
    }

    /// Runs one node from its current step.
    async fn run_node(
        &self,
        flow: &FlowRow,
        steps: &[TemplateStep],
        params: &Map<String, Value>,
        node: NodeRow,
        deadline: Option<Instant>,
    ) -> Result<NodeEnd, Error> {
        let (fid, nid, batch) = (flow.id, node.id, node.batch_id);
        let at = NodeAt { flow, nid, batch };
        let mut now = NodeNow {
            ip: node.ip.clone(),
            vm_id: node.vm_id.clone(),
            vars: decode("node", &node.vars)?,
            tried: Vec::new(),
        };
        if !now.ip.is_empty() {
            now.vars
                .entry("ip")
                .or_insert_with(|| Value::String(now.ip.clone()));
        }
        let mut step_states: Map<String, Value> = decode("node step states", &node.step_states)?;
        now.tried = step_states.keys().cloned().collect();
        let start = usize::try_from(node.step_index).unwrap_or(0);
        let changed = Extra {
            notify: true,
            next_step: steps.get(start).map(|s| s.name.clone()),
            ..Extra::default()
        };
        let mut next = self
            .progress(
                &at,
                TaskState::Running,
                node.step_index,
                &step_states,
                format!(
                    "node {nid} `{}` running from step {} of {}",
                    now.ip,
                    start + 1,
                    steps.len()
                ),
                changed,
            )
            .await?;
        for (index, step) in steps.iter().enumerate().skip(start) {
            let halt = next.halt;
            if halt == Halt::Lost {
                return Ok(NodeEnd::Halted);
            }
            if halt == Halt::Paused || halt == Halt::Stopped {
                // A paused node waits as INIT at this step: a resumed run picks it up here.
                let (state, verb) = if halt == Halt::Paused {
                    (TaskState::Init, "paused")
                } else {
                    (TaskState::Stopped, "stopped")
                };
                self.progress(
                    &at,
                    state,
                    index as i64,
                    &step_states,
                    format!("node {nid} `{}` {verb} before step `{}`", now.ip, step.name),
                    Extra::notifying(),
                )
                .await?;
                return Ok(NodeEnd::Halted);
            }
            let timed_out = format!(
                "node {nid} `{}` failed at step `{}`: the task timeout of {} s was reached",
                now.ip, step.name, flow.timeout_secs
            );
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let extra = Extra::default();
                return self
                    .fail_node(&at, index, &step_states, timed_out, extra)
                    .await;
            }
            let run = self.run_step(
                fid,
                &node,
                &now,
                index,
                steps.len(),
                step,
                params,
                &next.actions,
            );
            let (end, facts, attempt_log) = match deadline {
                None => run.await?,
                // Dropping the step kills its ssh (kill_on_drop).
                Some(d) => match tokio::time::timeout_at(d, run).await {
                    Ok(end) => end?,
                    Err(_) => {
                        step_states.insert(step.name.clone(), Value::String("failed".into()));
                        let message = format!("{timed_out}; its command was killed");
                        let extra = Extra::default();
                        return self
                            .fail_node(&at, index, &step_states, message, extra)
                            .await;
                    }
                },
            };
            let (label, message) = match end {
                StepEnd::Succeeded => ("success", format!("step `{}` succeeded", step.name)),
                StepEnd::Ignored => (
                    "ignored",
                    format!("step `{}` failed; error ignored (ignore_error)", step.name),
                ),
                StepEnd::Failed => ("failed", format!("step `{}` failed; node stops", step.name)),
            };
            step_states.insert(step.name.clone(), Value::String(label.into()));
            // What the step learnt goes into the same write as its result.
            let mut extra = Extra {
                attempt_log: Some(attempt_log),
                next_step: steps.get(index + 1).map(|s| s.name.clone()),
                ..Extra::default()
            };
            if !facts.is_empty() {
                now.apply(facts);
                extra.facts = Some((now.ip.clone(), now.vm_id.clone(), encode(&now.vars)?));
                extra.notify = true;
            }
            if let StepEnd::Failed = end {
                return self
                    .fail_node(&at, index, &step_states, message, extra)
                    .await;
            }
            next = self
                .progress(
                    &at,
                    TaskState::Running,
                    index as i64 + 1,
                    &step_states,
                    message,
                    extra,
                )
                .await?;
        }
        self.progress(
            &at,
            TaskState::Success,
            steps.len() as i64,
            &step_states,
            format!("node {nid} `{}` succeeded", now.ip),
            Extra::notifying(),
        )
        .await?;
        Ok(NodeEnd::Succeeded)
    }

    /// Ends the node as failed at step `index` (the run of the node stops there), with what
    /// `extra` says, and tells the task's `notify_url`.
    async fn fail_node(
        &self,
        at: &NodeAt<'_>,
        index: usize,
        step_states: &Map<String, Value>,
        message: String,
        extra: Extra,
    ) -> Result<NodeEnd, Error> {
        let extra = Extra {
            notify: true,
            ..extra
        };
        let step_index = index as i64;
        self.progress(
            at,
            TaskState::Failed,
            step_index,
            step_states,
            message,
            extra,
        )
        .await?;
        Ok(NodeEnd::Failed)
    }

    /// Commits a node's state, step and step states (and what its step learnt) together with
    /// a log row; then tells the task's `notify_url` when `extra.notify`. Answers, from the
    /// same transaction, whether the run goes on and the actions of `extra.next_step`.
    async fn progress(
        &self,
        at: &NodeAt<'_>,
        state: TaskState,
        step_index: i64,
        step_states: &Map<String, Value>,
        message: String,
        extra: Extra,
    ) -> Result<Next, Error> {
        let states = encode(step_states)?;
        let me = self.id.clone();
        let NodeAt { flow, nid, batch } = *at;
        let fid = flow.id;
        let facts = extra.facts;
        let attempt_log = extra.attempt_log;
        let next_step = extra.next_step;
        let record =
            move |c: &mut kit::db::DbConn| -> Result<(Halt, Actions, Option<TaskState>), Error> {
                // A task another engine has taken over is left to it.
                let Some(flow) = store::flow(c, fid)?.filter(|f| f.owner == me) else {
                    return Ok((Halt::Lost, Ok(Vec::new()), None));
                };
                let at = now();
                store::set_node_progress(c, nid, state, step_index, &states, at)?;
                if let Some((ip, vm_id, vars)) = &facts {
                    store::set_node_facts(c, nid, ip, vm_id, vars)?;
                }
                if let Some(text) = &attempt_log {
                    store::insert_log(c, fid, batch, Some(nid), text, at)?;
                }
                store::insert_log(c, fid, batch, Some(nid), &message, at)?;
                let task_state = flow.state;
                let halt = halt_of(Some(flow), &me);
                let actions = match &next_step {
                    Some(name) if halt == Halt::Go && BuiltinStep::parse(name).is_none() => {
                        load_actions(c, name)?
                    }
                    _ => Ok(Vec::new()),
                };
                Ok((halt, actions, Some(task_state)))
            };
        let (halt, actions, task_state) = self
            .until_recorded(fid, "a node's progress", || self.db.write(record.clone()))
            .await?;
        if let (true, Some(task_state)) = (extra.notify, task_state) {
            self.notifier.send(
                &flow.notify_url,
                w::TaskEvent {
                    fid,
                    state: task_state,
                    node_id: Some(nid),
                },
            );
        }
        Ok(Next { halt, actions })
    }

    /// One step on one node, with its retries; each attempt is a log row. Answers how it
    /// ended, what the step learnt (built-in steps only), and the log row of its last attempt
    /// (written by the caller with the step's result).
    #[allow(clippy::too_many_arguments)]
    async fn run_step(
        &self,
        fid: i64,
        node: &NodeRow,
        now: &NodeNow,
        index: usize,
        count: usize,
        step: &TemplateStep,
        params: &Map<String, Value>,
        actions: &Actions,
    ) -> Result<(StepEnd, Facts, String), Error> {
        let attempts = step.retry.retry_times + 1;
        // Whether the step may have run on this node before (see `NodeRef::fresh`).
        let first_time = node.state == TaskState::Init && !now.tried.contains(&step.name);
        for attempt in 1..=attempts {
            let fresh = first_time && attempt == 1;
            let (ok, output, learnt) = self
                .attempt(node, now, step, params, actions, fresh)
                .await?;
            let message = format!(
                "step {}/{count} `{}` attempt {attempt}/{attempts} on `{}`: {}\n{output}",
                index + 1,
                step.name,
                now.ip,
                if ok { "ok" } else { "failed" }
            );
            if ok {
                return Ok((StepEnd::Succeeded, learnt, message));
            }
            if attempt == attempts {
                let end = if step.retry.ignore_error {
                    StepEnd::Ignored
                } else {
                    StepEnd::Failed
                };
                return Ok((end, learnt, message));
            }
            self.log(fid, node.batch_id, Some(node.id), message).await?;
            tokio::time::sleep(Duration::from_millis(self.config.retry_pause_ms)).await;
        }
        Err(Error::Internal(format!(
            "step `{}` ran no attempt",
            step.name
        )))
    }

    /// One attempt of a step: (succeeded, log text, what it learnt).
    async fn attempt(
        &self,
        node: &NodeRow,
        now: &NodeNow,
        step: &TemplateStep,
        params: &Map<String, Value>,
        actions: &Actions,
        fresh: bool,
    ) -> Result<(bool, String, Facts), Error> {
        let lookup = Vars::new(&step.param_values, params, &now.vars);
        if let Some(builtin) = BuiltinStep::parse(&step.name) {
            let target = NodeRef {
                fid: node.fid,
                nid: node.id,
                ip: &now.ip,
                vm_id: &now.vm_id,
                fresh,
            };
            return Ok(match self.peers.run(builtin, &target, &lookup).await {
                Ok(done) => (true, done.text, done.facts),
                Err(e) => (false, e.to_string(), Facts::default()),
            });
        }
        if now.ip.trim().is_empty() {
            return Ok((
                false,
                "the node has no `ip` to connect to".into(),
                Facts::default(),
            ));
        }
        // Checked where it entered; a row written before that check is refused here.
        let host = match HostAddress::parse(now.ip.trim()) {
            Ok(host) => host,
            Err(e) => {
                return Ok((
                    false,
                    format!("the node's `ip` {e}: not connecting"),
                    Facts::default(),
                ))
            }
        };
        let actions = match actions {
            Ok(actions) => actions,
            Err(reason) => return Ok((false, reason.clone(), Facts::default())),
        };
        let mut text = String::new();
        for (action, template) in actions {
            let command = match prepare(template, &lookup) {
                Ok(command) => command,
                Err(e) => {
                    text.push_str(&format!("action `{action}`: {e}\n"));
                    return Ok((false, text, Facts::default()));
                }
            };
            match self.executor.execute(&host, &command).await {
                Ok(out) => {
                    text.push_str(&format!("action `{action}`: {}\n", out.log_text()));
                    if !out.success() {
                        return Ok((false, text, Facts::default()));
                    }
                }
                Err(e) => {
                    text.push_str(&format!("action `{action}`: {e}\n"));
                    return Ok((false, text, Facts::default()));
                }
            }
        }
        Ok((true, text, Facts::default()))
    }
}

/// A remote step's actions with their first implementation's template, or why it cannot run.
type Actions = Result<Vec<(String, Value)>, String>;

/// What a node's last write said about its next step.
struct Next {
    halt: Halt,
    actions: Actions,
}

/// Whether a run goes on, from its task's row.
fn halt_of(flow: Option<FlowRow>, me: &str) -> Halt {
    match flow {
        Some(f) if f.owner != me => Halt::Lost,
        Some(f) if f.state == TaskState::Stopped => Halt::Stopped,
        Some(f) if f.state == TaskState::Paused => Halt::Paused,
        Some(f) if f.state == TaskState::Running => Halt::Go,
        _ => Halt::Lost,
    }
}

/// The remote step `name` and its actions, read from the catalog when the step runs.
fn load_actions(c: &mut kit::db::DbConn, name: &str) -> Result<Actions, Error> {
    let Some(remote) = store::remote_step_by_name(c, name)? else {
        return Ok(Err(format!("remote step `{name}` no longer exists")));
    };
    let names: Vec<String> = decode("remote step actions", &remote.actions)?;
    let mut actions = Vec::new();
    for action in names {
        let Some(row) = store::action_by_name(c, &action)? else {
            return Ok(Err(format!("action `{action}` no longer exists")));
        };
        let Some(first) = store::impls_of(c, row.id)?.into_iter().next() else {
            return Ok(Err(format!("action `{action}` has no implementation")));
        };
        let template: Value = decode("action implementation", &first.template)?;
        actions.push((action, template));
    }
    Ok(Ok(actions))
}

impl NodeNow {
    /// Takes in what a built-in step learnt.
    fn apply(&mut self, facts: Facts) {
        if let Some(ip) = facts.ip {
            self.ip = ip;
        }
        if let Some(vm_id) = facts.vm_id {
            self.vm_id = vm_id;
        }
        for key in facts.removed {
            self.vars.remove(&key);
        }
        self.vars.extend(facts.vars);
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("cannot encode JSON: {e}")))
}
