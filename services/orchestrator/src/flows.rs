//! Expand, shrink and deploy (see `proto-docs/platform-flow.md`): the orchestrator prepares its
//! nodes, creates one task in the task-engine, and then follows that task — on events and on
//! a periodic reconciliation, both through [`Flows::sync`] — to keep its node table true.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use client::{ClientConfig, ClientError, Credentials, TaskEngineClient};
use kit::db::{Db, DbConn};
use secrecy::SecretString;
use serde_json::{json, Map, Value};
use wire::orchestrator::{
    Node, Pool, SdTarget, NODE_FAILED, NODE_PENDING, NODE_REMOVING, NODE_RUNNING, NODE_SUCCESS,
};
use wire::task_engine as te;

use crate::config::TaskEngineConfig;
use crate::error::Error;
use crate::inventory::pools::POOLS;
use crate::store;
use crate::store::flows::{self as fstore, Mark, TaskRow};

/// `node_type` of a node created by an expand request.
pub const NODE_EXPANDED: &str = "expand";
/// `node_type` of a node created by a schedule; only these are shrunk by schedules.
pub const NODE_SCHEDULED: &str = "scheduled";
/// Most nodes one expand may create.
pub const MAX_EXPAND: i64 = 1000;

/// The three flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Expand,
    Shrink,
    Deploy,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Expand => "expand",
            Kind::Shrink => "shrink",
            Kind::Deploy => "deploy",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        match text {
            "expand" => Some(Kind::Expand),
            "shrink" => Some(Kind::Shrink),
            "deploy" => Some(Kind::Deploy),
            _ => None,
        }
    }

    fn template(self, pool: &Pool) -> i64 {
        match self {
            Kind::Expand => pool.expand_tpl,
            Kind::Shrink => pool.shrink_tpl,
            Kind::Deploy => pool.deploy_tpl,
        }
    }

    fn template_key(self) -> &'static str {
        match self {
            Kind::Expand => "expand_tpl",
            Kind::Shrink => "shrink_tpl",
            Kind::Deploy => "deploy_tpl",
        }
    }
}

/// Which nodes a flow acts on.
#[derive(Debug, Clone)]
pub enum Targets {
    /// `n` new pending nodes of this `node_type`.
    New { count: i64, node_type: &'static str },
    /// These nodes of the pool, by id.
    Existing(Vec<i64>),
    /// Every node of the pool.
    All,
}

/// One flow to start.
#[derive(Debug, Clone)]
pub struct Request {
    pub kind: Kind,
    pub pool_id: i64,
    pub targets: Targets,
    /// Deploy's tag; `None` = the service's `docker_image`.
    pub tag: Option<String>,
    pub max_num: Option<i64>,
    pub max_ratio: Option<i64>,
    /// The request's own extra task parameters.
    pub params: Map<String, Value>,
}

impl Request {
    /// A request made through the API: no tag, no batch bounds, the caller's extra task
    /// `params` (see [`task_params`]).
    fn asked(
        kind: Kind,
        pool_id: i64,
        targets: Targets,
        params: Option<Value>,
    ) -> Result<Request, Error> {
        Ok(Request {
            kind,
            pool_id,
            targets,
            tag: None,
            max_num: None,
            max_ratio: None,
            params: task_params(params)?,
        })
    }
}

/// The person a flow is started for: their token is relayed to the task-engine (which then
/// decides on their roles and records them as the task's `opr_user`). A flow without one
/// (a schedule's) is the orchestrator's own, called as its own identity.
#[derive(Clone)]
pub struct Person {
    pub subject: String,
    pub token: SecretString,
}

/// The `opr_user` sent for the orchestrator's own flows (the task-engine records the verified
/// subject, the orchestrator's client id).
const OWN_OPR_USER: &str = "orchestrator";

/// What was prepared in the database before the task exists, to be undone if it cannot be
/// created.
struct Prepared {
    pool_id: i64,
    /// The cluster of the pool: the task belongs to it.
    cluster_id: i64,
    task: te::TaskRequest,
    tag: String,
    /// What was done to each node (also journalled in `oc_marks`): undone on failure.
    marks: Vec<Mark>,
}

/// The flows of one orchestrator: its database and its task-engine.
#[derive(Clone)]
pub struct Flows {
    db: Db,
    engine: Option<TaskEngineClient>,
    notify_url: Arc<OnceLock<String>>,
    /// Tasks being synced on an event, and whether another event came meanwhile.
    following: Arc<Mutex<HashMap<i64, bool>>>,
    /// How long a preparation may stay unrecorded before reconciliation undoes it: well past
    /// the longest a task creation may take.
    stale_after_secs: i64,
}

impl Flows {
    pub fn new(
        db: Db,
        config: &TaskEngineConfig,
        credentials: Credentials,
        notify_url: Arc<OnceLock<String>>,
    ) -> Result<Flows, ClientError> {
        let url = config.url.trim();
        let timeout_secs = match config.timeout_secs {
            0 => 30,
            n => n,
        };
        let engine = if url.is_empty() {
            None
        } else {
            let mut client = ClientConfig::new(url).with_credentials(credentials);
            client.timeout = Duration::from_secs(timeout_secs);
            Some(TaskEngineClient::new(client)?)
        };
        Ok(Flows {
            db,
            engine,
            notify_url,
            following: Arc::default(),
            stale_after_secs: i64::try_from(timeout_secs).unwrap_or(3600) * 4 + 60,
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    fn engine(&self, what: &str) -> Result<&TaskEngineClient, Error> {
        self.engine.as_ref().ok_or_else(|| {
            Error::Unavailable(format!(
                "{what} needs the task-engine, which is not configured (set task_engine.url)"
            ))
        })
    }

    /// Prepares the nodes, creates and starts the task (for `person`, or as the
    /// orchestrator's own); returns its id.
    pub async fn start(
        &self,
        request: Request,
        request_id: Option<&str>,
        person: Option<Person>,
    ) -> Result<i64, Error> {
        let kind = request.kind;
        let engine = self.engine(kind.name())?;
        let engine = match request_id {
            Some(id) => engine.with_request_id(id),
            None => engine.clone(),
        };
        let (engine, opr_user) = match person {
            Some(person) => (engine.on_behalf_of(person.token), person.subject),
            None => (engine, OWN_OPR_USER.to_string()),
        };
        let notify_url = self.notify_url.get().cloned().unwrap_or_default();
        let prepared = self
            .db
            .write(move |c| prepare(c, &request, &notify_url, &opr_user))
            .await?;
        let fid = match create_task(&engine, &prepared.task, prepared.cluster_id)
            .await
            .map_err(engine_error)
        {
            Ok(fid) => fid,
            Err(e) => {
                self.undo(prepared).await;
                return Err(e);
            }
        };
        let pool_id = prepared.pool_id;
        let nodes: Vec<i64> = prepared.marks.iter().map(|m| m.node_id).collect();
        let tag = prepared.tag.clone();
        let now = chrono::Utc::now().timestamp();
        let recorded = self
            .db
            .write(move |c| {
                fstore::insert_task(c, fid, pool_id, kind.name(), &tag, now)?;
                for id in &nodes {
                    if let Some(node) = fstore::node(c, *id)? {
                        fstore::set_node_state(c, *id, node.status, &node.step, fid)?;
                    }
                }
                // Recorded: the journal of the preparation is no longer needed.
                fstore::delete_marks(c, &nodes)?;
                Ok::<_, Error>(())
            })
            .await;
        if let Err(e) = recorded {
            // The task exists but was never started: it stays INIT in the task-engine, inert.
            self.undo(prepared).await;
            return Err(e);
        }
        // Created without `auto` and started only now that the task is recorded, so that no
        // event can arrive for a task this orchestrator does not know yet.
        engine.start_task(fid).await.map_err(|e| {
            Error::Unavailable(format!(
                "task {fid} was created but not started ({}); start it with /task/start",
                e.message()
            ))
        })?;
        Ok(fid)
    }

    /// Undoes a preparation whose task could not be created: nothing is left half-made.
    async fn undo(&self, prepared: Prepared) {
        let undone = self.db.write(move |c| undo_marks(c, &prepared.marks)).await;
        if let Err(e) = undone {
            tracing::error!(error = %e, "could not undo the nodes of a task never created");
        }
    }

    /// Undoes the preparations an orchestrator stopped in the middle of: marks older than
    /// four task-engine timeouts (and a minute) whose task was never recorded.
    pub async fn undo_stale_marks(&self) {
        let cutoff = chrono::Utc::now().timestamp() - self.stale_after_secs;
        let undone = self
            .db
            .write(move |c| {
                let marks = fstore::stale_marks(c, cutoff)?;
                undo_marks(c, &marks)?;
                Ok::<_, Error>(marks.len())
            })
            .await;
        match undone {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                nodes = n,
                "undid the nodes of flows whose task was never recorded (an orchestrator stopped while starting them)"
            ),
            Err(e) => tracing::warn!(error = %e, "could not undo stale marks"),
        }
    }

    /// Reads task `fid` from the task-engine and brings the node table in line with it.
    /// Idempotent: the same answer applied twice (or by two replicas) gives the same table.
    /// A task this orchestrator did not start is left alone. A task already seen finished is
    /// read again all the same: `/task/start` resumes a failed task, and its nodes must follow.
    pub async fn sync(&self, fid: i64) -> Result<(), Error> {
        let Some(row) = self
            .db
            .read(move |c| fstore::task(c, fid).map_err(Error::from))
            .await?
        else {
            return Ok(());
        };
        let engine = self.engine("following a task")?;
        // The task before its nodes: when it says finished, the nodes read after are final.
        let task = match engine.task(fid).await {
            Ok(task) => task,
            // Gone from the task-engine (its database was reset): the task will never end,
            // so its unfinished nodes fail now rather than wait forever.
            Err(ClientError::Api { status: 404, .. }) => {
                if row.state == fstore::TASK_RUNNING {
                    tracing::warn!(fid, "task gone from the task-engine: its nodes fail");
                }
                return self
                    .db
                    .write(move |c| apply(c, &row, te::STATE_FAILED, &[]))
                    .await;
            }
            Err(e) => return Err(engine_error(e)),
        };
        let detail = engine.task_detail(fid).await.map_err(engine_error)?;
        self.db
            .write(move |c| {
                if row.state != fstore::TASK_RUNNING && !is_finished(task.status) {
                    fstore::reopen_task(c, fid)?;
                }
                apply(c, &row, task.status, &detail)
            })
            .await
    }

    /// [`Flows::sync`] for an event. A task gets one sync at a time: events arriving during it
    /// (a batch of nodes changes at once) make one more sync, not one each.
    pub async fn follow(&self, fid: i64) {
        {
            let mut following = self
                .following
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(again) = following.get_mut(&fid) {
                *again = true;
                return;
            }
            following.insert(fid, false);
        }
        loop {
            if let Err(e) = self.sync(fid).await {
                tracing::warn!(fid, error = %e, "following a task event failed (reconciliation retries)");
            }
            let mut following = self
                .following
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match following.get_mut(&fid) {
                Some(again) if *again => *again = false,
                _ => {
                    following.remove(&fid);
                    return;
                }
            }
        }
    }

    /// Syncs every task not yet seen finished, and every finished one that still owns failed
    /// nodes (it may have been resumed); errors are logged, not returned.
    pub async fn reconcile(&self) {
        self.undo_stale_marks().await;
        let fids = match self
            .db
            .read(|c| {
                let mut fids = fstore::running_tasks(c)?;
                fids.extend(fstore::resumable_tasks(c)?);
                fids.sort_unstable();
                fids.dedup();
                Ok::<_, Error>(fids)
            })
            .await
        {
            Ok(fids) => fids,
            Err(e) => {
                tracing::warn!(error = %e, "reconciliation cannot list the running tasks");
                return;
            }
        };
        for fid in fids {
            if let Err(e) = self.sync(fid).await {
                tracing::warn!(fid, error = %e, "reconciliation of a task failed");
            }
        }
    }

    /// Expands pool `pool_id` by `count` new nodes; `params` are the request's extra task
    /// parameters (see [`task_params`]). Returns the task's id.
    pub async fn expand(
        &self,
        pool_id: i64,
        count: i64,
        params: Option<Value>,
        request_id: Option<&str>,
        person: Option<Person>,
    ) -> Result<i64, Error> {
        let targets = Targets::New {
            count,
            node_type: NODE_EXPANDED,
        };
        let request = Request::asked(Kind::Expand, pool_id, targets, params)?;
        self.start(request, request_id, person).await
    }

    /// Shrinks pool `pool_id` by the nodes of `ips`, every one of which must be in it.
    pub async fn shrink(
        &self,
        pool_id: i64,
        ips: Vec<String>,
        params: Option<Value>,
        request_id: Option<&str>,
        person: Option<Person>,
    ) -> Result<i64, Error> {
        let ids = self
            .db
            .read(move |c| {
                POOLS.found(c, pool_id)?;
                let nodes = fstore::pool_nodes(c, pool_id)?;
                ips.iter()
                    .map(|ip| {
                        nodes
                            .iter()
                            .find(|n| &n.ip == ip)
                            .map(|n| n.id)
                            .ok_or_else(|| {
                                Error::BadArgument(format!(
                                    "IP {ip} is not in pool {pool_id}; nothing was shrunk"
                                ))
                            })
                    })
                    .collect::<Result<Vec<i64>, Error>>()
            })
            .await?;
        let request = Request::asked(Kind::Shrink, pool_id, Targets::Existing(ids), params)?;
        self.start(request, request_id, person).await
    }

    /// Deploys `tag` on every node of pool `pool_id`, `max_num` nodes at a time.
    pub async fn deploy(
        &self,
        pool_id: i64,
        tag: &str,
        max_num: i64,
        params: Option<Value>,
        request_id: Option<&str>,
        person: Option<Person>,
    ) -> Result<i64, Error> {
        let mut request = Request::asked(Kind::Deploy, pool_id, Targets::All, params)?;
        request.tag = Some(tag.trim().to_string());
        request.max_num = Some(max_num);
        self.start(request, request_id, person).await
    }

    /// Scales the schedule-made nodes of a pool to `target`: expands the missing ones, or
    /// shrinks the newest extra ones (those with nothing to give back are simply removed).
    pub async fn scale(
        &self,
        pool_id: i64,
        target: i64,
        max_num: Option<i64>,
        max_ratio: Option<i64>,
    ) -> Result<Option<i64>, Error> {
        let nodes = self
            .db
            .read(move |c| fstore::pool_nodes(c, pool_id).map_err(Error::from))
            .await?;
        let scheduled: Vec<&Node> = nodes
            .iter()
            .filter(|n| n.node_type == NODE_SCHEDULED && n.status != NODE_REMOVING)
            .collect();
        let have = i64::try_from(scheduled.len()).unwrap_or(i64::MAX);
        if have < target {
            let request = Request {
                kind: Kind::Expand,
                pool_id,
                targets: Targets::New {
                    count: target - have,
                    node_type: NODE_SCHEDULED,
                },
                tag: None,
                max_num,
                max_ratio,
                params: Map::new(),
            };
            return self.start(request, None, None).await.map(Some);
        }
        let extra = usize::try_from(have - target).unwrap_or(0);
        if extra == 0 {
            return Ok(None);
        }
        let idle: Vec<&Node> = scheduled
            .iter()
            .rev()
            .filter(|n| n.status == NODE_SUCCESS || n.status == NODE_FAILED)
            .take(extra)
            .copied()
            .collect();
        // A failed node that never got an instance has nothing to give back.
        let (empty, real): (Vec<&Node>, Vec<&Node>) = idle
            .into_iter()
            .partition(|n| n.ip.is_empty() && n.vm_id.is_empty());
        let empty: Vec<i64> = empty.iter().map(|n| n.id).collect();
        if !empty.is_empty() {
            self.db
                .write(move |c| {
                    for id in &empty {
                        fstore::delete_node(c, *id)?;
                    }
                    Ok::<_, Error>(())
                })
                .await?;
        }
        if real.is_empty() {
            return Ok(None);
        }
        let request = Request {
            kind: Kind::Shrink,
            pool_id,
            targets: Targets::Existing(real.iter().map(|n| n.id).collect()),
            tag: None,
            max_num,
            max_ratio,
            params: Map::new(),
        };
        self.start(request, None, None).await.map(Some)
    }
}

/// Creates `task` in the task-engine as belonging to cluster `cluster_id`; returns its id.
async fn create_task(
    engine: &TaskEngineClient,
    task: &te::TaskRequest,
    cluster_id: i64,
) -> Result<i64, ClientError> {
    let task = te::TaskRequest {
        cluster_id: Some(cluster_id),
        ..task.clone()
    };
    engine.create_task(&task).await
}

/// A failed call to the task-engine: a refusal of the person's roles is the caller's 403, its
/// other refusals (4xx) the caller's 400, anything else 503.
fn engine_error(e: ClientError) -> Error {
    match e {
        ClientError::Api {
            status: 401 | 403, ..
        } => Error::Unavailable(format!(
            "the task-engine refused the orchestrator's call: {}",
            e.message()
        )),
        ClientError::Api { status, .. } if status < 500 => {
            Error::BadArgument(format!("the task-engine refused the task: {}", e.message()))
        }
        ClientError::Api { .. } => {
            Error::Unavailable(format!("the task-engine failed: {}", e.message()))
        }
        other => Error::Unavailable(format!("task-engine unreachable: {other}")),
    }
}

/// A request's extra task `params`: a JSON object, or text holding one (forms carry only
/// text); absent, null or blank is none.
pub fn task_params(value: Option<Value>) -> Result<Map<String, Value>, Error> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Map::new()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(Error::BadArgument(
                "invalid parameter `params`: not a JSON object".into(),
            )),
        },
        Some(_) => Err(Error::BadArgument(
            "invalid parameter `params`: not a JSON object".into(),
        )),
    }
}

/// In one transaction: checks the request, makes or marks the nodes, builds the task.
fn prepare(
    c: &mut DbConn,
    request: &Request,
    notify_url: &str,
    opr_user: &str,
) -> Result<Prepared, Error> {
    let kind = request.kind;
    let pool_id = request.pool_id;
    let pool = store::pool(c, pool_id)?
        .ok_or_else(|| Error::NotFound(format!("pool {pool_id} not found")))?;
    let template_id = kind.template(&pool);
    if template_id == 0 {
        return Err(Error::BadArgument(format!(
            "pool {pool_id} has no {} template ({} is 0): set one with /pool/update/{pool_id}",
            kind.name(),
            kind.template_key()
        )));
    }
    let sd = if pool.sd_id > 0 {
        Some(fstore::sd_target(c, pool.sd_id)?.ok_or_else(|| {
            Error::BadArgument(format!(
                "pool {pool_id} has sd_id {}, which names no registry target (see /sd/list)",
                pool.sd_id
            ))
        })?)
    } else {
        None
    };
    let service = store::service(c, pool.service_id)?.ok_or_else(|| {
        Error::Internal(format!(
            "service {} of pool {pool_id} is gone",
            pool.service_id
        ))
    })?;
    let cluster = store::cluster(c, service.cluster_id)?.ok_or_else(|| {
        Error::Internal(format!(
            "cluster {} of service {} is gone",
            service.cluster_id, service.id
        ))
    })?;
    let tag = request
        .tag
        .clone()
        .unwrap_or_else(|| service.docker_image.clone());

    let now = chrono::Utc::now().timestamp();
    let mut marks = Vec::new();
    let mut nodes = Vec::new();
    match &request.targets {
        Targets::New { count, node_type } => {
            for _ in 0..*count {
                let id = fstore::insert_pending_node(c, pool_id, NODE_PENDING, node_type, &tag)?;
                let mark = Mark {
                    node_id: id,
                    created: true,
                    status: NODE_PENDING,
                    step: String::new(),
                };
                fstore::insert_mark(c, &mark, now)?;
                marks.push(mark);
                nodes.push(json!({"ip": "", "node_id": id, "vm_id": ""}));
            }
        }
        Targets::Existing(_) | Targets::All => {
            let all = fstore::pool_nodes(c, pool_id)?;
            let chosen: Vec<Node> = match &request.targets {
                Targets::Existing(ids) => {
                    let mut chosen = Vec::new();
                    for id in ids {
                        let node = all.iter().find(|n| n.id == *id).ok_or_else(|| {
                            Error::BadArgument(format!("node {id} is not in pool {pool_id}"))
                        })?;
                        chosen.push(node.clone());
                    }
                    chosen
                }
                _ => all,
            };
            if chosen.is_empty() {
                return Err(Error::BadArgument(format!(
                    "pool {pool_id} has no node to {}",
                    kind.name()
                )));
            }
            if let Some(busy) = chosen
                .iter()
                .find(|n| !(n.status == NODE_SUCCESS || n.status == NODE_FAILED))
            {
                return Err(Error::Conflict(format!(
                    "node {} ({}) of pool {pool_id} is {} with task {}: wait until it ends",
                    busy.id,
                    if busy.ip.is_empty() {
                        "no IP yet"
                    } else {
                        &busy.ip
                    },
                    busy.state,
                    busy.task_id
                )));
            }
            let status = if kind == Kind::Shrink {
                NODE_REMOVING
            } else {
                NODE_RUNNING
            };
            for node in &chosen {
                let mark = Mark {
                    node_id: node.id,
                    created: false,
                    status: node.status,
                    step: node.step.clone(),
                };
                fstore::insert_mark(c, &mark, now)?;
                marks.push(mark);
                fstore::set_node_state(c, node.id, status, "", node.task_id)?;
                nodes.push(json!({"ip": node.ip, "node_id": node.id, "vm_id": node.vm_id}));
            }
        }
    }

    let mut params = request.params.clone();
    params.insert("vm_type_id".into(), json!(pool.vm_type));
    if let Some(SdTarget {
        zkidc,
        service: sd_service,
        port,
        ..
    }) = &sd
    {
        params.insert("zkidc".into(), json!(zkidc));
        params.insert("service".into(), json!(sd_service));
        params.insert("port".into(), json!(port));
    }
    params.insert("tag".into(), json!(tag));
    params.insert("cluster".into(), json!(cluster.name));
    params.insert("service_name".into(), json!(service.name));
    params.insert("pool".into(), json!(pool.name));

    let task_name = match kind {
        Kind::Expand => format!("expand-{}-{}", pool.name, nodes.len()),
        Kind::Shrink => format!("shrink-{}-{}", pool.name, nodes.len()),
        Kind::Deploy => format!("deploy-{}-{}", pool.name, tag),
    };
    // Not `auto`: started only once recorded (see `Flows::start`).
    let task = te::TaskRequest {
        template_id,
        task_name,
        opr_user: opr_user.to_string(),
        nodes,
        params: Some(params),
        pool_name: Some(pool.name.clone()),
        max_num: request.max_num,
        max_ratio: Some(request.max_ratio.unwrap_or(100)),
        timeout: None,
        auto: Some(false),
        notify_url: (!notify_url.is_empty()).then(|| notify_url.to_string()),
        cluster_id: None,
    };
    Ok(Prepared {
        pool_id,
        cluster_id: cluster.id,
        task,
        tag,
        marks,
    })
}

/// Deletes the nodes a preparation created and gives the others back their status and step;
/// clears the marks.
fn undo_marks(c: &mut DbConn, marks: &[Mark]) -> Result<(), Error> {
    for mark in marks {
        if mark.created {
            fstore::delete_node(c, mark.node_id)?;
        } else if let Some(node) = fstore::node(c, mark.node_id)? {
            fstore::set_node_state(c, mark.node_id, mark.status, &mark.step, node.task_id)?;
        }
    }
    let ids: Vec<i64> = marks.iter().map(|m| m.node_id).collect();
    fstore::delete_marks(c, &ids)?;
    Ok(())
}

/// Applies what the task-engine says of task `row.fid` to the nodes it acts on.
fn apply(
    c: &mut DbConn,
    row: &TaskRow,
    task_state: te::TaskState,
    detail: &[te::TaskNode],
) -> Result<(), Error> {
    let Some(kind) = Kind::parse(&row.kind) else {
        return Err(Error::Internal(format!(
            "task {} has an unknown kind `{}`",
            row.fid, row.kind
        )));
    };
    for tn in detail {
        let Some(node_id) = tn.vars.get("node_id").and_then(value_id) else {
            continue;
        };
        let Some(node) = fstore::node(c, node_id)? else {
            continue; // shrunk already
        };
        if node.task_id != row.fid {
            continue; // a later task owns it now
        }
        apply_node(c, kind, row, &node, tn)?;
    }
    if is_finished(task_state) {
        // A node the task ended without finishing (never reached, or missing from the task).
        for node in fstore::task_nodes(c, row.fid)? {
            if node.status == NODE_PENDING
                || node.status == NODE_RUNNING
                || node.status == NODE_REMOVING
            {
                let step = format!("task {} ended before this node finished", row.fid);
                fstore::set_node_state(c, node.id, NODE_FAILED, &step, row.fid)?;
            }
        }
        fstore::finish_task(c, row.fid)?;
    }
    Ok(())
}

fn apply_node(
    c: &mut DbConn,
    kind: Kind,
    row: &TaskRow,
    node: &Node,
    tn: &te::TaskNode,
) -> Result<(), Error> {
    let fid = row.fid;
    if kind == Kind::Expand && !tn.ip.is_empty() && node.ip != tn.ip {
        // The instance's address: refused if another node holds it (one IP, one pool).
        if let Some(other) = fstore::node_with_ip(c, &tn.ip)? {
            if other != node.id {
                let step = format!("IP {} is already node {other}", tn.ip);
                fstore::set_node_state(c, node.id, NODE_FAILED, &step, fid)?;
                return Ok(());
            }
        }
        fstore::set_node_instance(c, node.id, &tn.ip, &tn.vm_id)?;
    } else if kind == Kind::Expand && !tn.vm_id.is_empty() && node.vm_id != tn.vm_id {
        fstore::set_node_instance(c, node.id, &tn.ip, &tn.vm_id)?;
    }
    match tn.state {
        te::STATE_RUNNING => {
            let status = if kind == Kind::Shrink {
                NODE_REMOVING
            } else {
                NODE_RUNNING
            };
            fstore::set_node_state(c, node.id, status, "", fid)?;
        }
        te::STATE_SUCCESS => match kind {
            Kind::Shrink => {
                fstore::delete_node(c, node.id)?;
            }
            Kind::Expand | Kind::Deploy => {
                fstore::set_node_state(c, node.id, NODE_SUCCESS, "", fid)?;
                fstore::set_node_tag(c, node.id, &row.tag)?;
            }
        },
        te::STATE_FAILED | te::STATE_STOPPED => {
            let step = if tn.step_name.is_empty() {
                if tn.state == te::STATE_STOPPED {
                    "stopped".to_string()
                } else {
                    format!("step {}", tn.step)
                }
            } else {
                tn.step_name.clone()
            };
            fstore::set_node_state(c, node.id, NODE_FAILED, &step, fid)?;
        }
        // INIT: not reached yet; the node keeps the state the flow gave it.
        _ => {}
    }
    Ok(())
}

fn is_finished(task_state: te::TaskState) -> bool {
    matches!(
        task_state,
        te::STATE_SUCCESS | te::STATE_FAILED | te::STATE_STOPPED
    )
}

/// An id given as a JSON number or a decimal string.
fn value_id(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
