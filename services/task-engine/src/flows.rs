//! Tasks (flows): creation from a template, reads of a task, its nodes and its logs.
//! A task copies its template's steps when it is created, so editing or deleting the template
//! later never changes a task. Running a task is `crate::engine`'s (see proto-docs).

use std::collections::HashMap;

use chrono::DateTime;
use kit::db::Db;
use kit::Page;
use serde_json::{Map, Value};
use wire::host::HostAddress;
use wire::task_engine::{self as w, LogRow, Task, TaskNode, TaskState, TemplateStep};

use crate::catalog::{catalog_write, check_name, count, Paged};
use crate::error::Error;
use crate::notify::{EventTargets, ALLOWED_URLS_KEY};
use crate::plan;
use crate::store::{self, FlowRow, NodeRow};

/// States in which a task still needs its template's world (INIT, RUNNING, PAUSED).
pub const UNFINISHED: [TaskState; 3] = [TaskState::Init, TaskState::Running, TaskState::Paused];
/// Most nodes one task may have: bounds the work of one request.
pub const MAX_NODES: usize = 10_000;
/// Longest task timeout, in seconds (30 days).
pub const MAX_TIMEOUT_SECS: i64 = 30 * 24 * 3600;
/// Longest `ip` / `vm_id` of a node.
pub const MAX_NODE_FIELD_CHARS: usize = 255;
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The fields of `/task/create`.
#[derive(Debug, Default)]
pub struct NewTask {
    pub template_id: Option<i64>,
    pub task_name: Option<String>,
    pub pool_name: Option<String>,
    /// Who creates the task: the verified subject of the request (the seed's `opr_user`
    /// parameter is accepted and not believed).
    pub opr_user: Option<String>,
    /// The cluster the task belongs to (the orchestrator sets its pool's); `None`: none.
    pub cluster_id: Option<i64>,
    pub nodes: Option<Value>,
    pub params: Option<Value>,
    pub max_num: Option<i64>,
    pub max_ratio: Option<i64>,
    pub timeout: Option<i64>,
    pub auto: Option<bool>,
    /// Where the engine POSTs the task's events (http or https).
    pub notify_url: Option<String>,
    /// The `Idempotency-Key` of the request: a retry of a creation with the same key (from the
    /// same creator) answers the task the first one created instead of creating another.
    pub idempotency_key: Option<String>,
}

/// Longest `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// What `/task/create` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New(i64),
    /// An earlier request with the same `Idempotency-Key` created this task.
    Replayed(i64),
}

impl Created {
    pub fn id(self) -> i64 {
        match self {
            Created::New(id) | Created::Replayed(id) => id,
        }
    }
}

/// The stored form of an idempotency key: SHA-256 of its creator and the key, so a key is
/// only ever its creator's, and any key fits the column.
fn key_digest(creator: &str, key: &str) -> Result<String, Error> {
    let printable = key.bytes().all(|b| b.is_ascii_graphic());
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_CHARS || !printable {
        return Err(Error::BadArgument(format!(
            "`Idempotency-Key` must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"
        )));
    }
    use sha2::{Digest, Sha256};
    Ok(hex::encode(Sha256::digest(format!("{creator}\n{key}"))))
}

/// Longest `notify_url`.
pub const MAX_NOTIFY_URL_CHARS: usize = 2048;

/// A `notify_url`: empty is none; otherwise an absolute http or https URL with a host, under
/// one of the base URLs of `events.allowed_urls` (`targets`).
pub fn check_notify_url(text: &str, targets: &EventTargets) -> Result<String, Error> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(String::new());
    }
    if text.chars().count() > MAX_NOTIFY_URL_CHARS {
        return Err(Error::BadArgument(format!(
            "`notify_url` is longer than {MAX_NOTIFY_URL_CHARS} characters"
        )));
    }
    let url = reqwest::Url::parse(text)
        .map_err(|e| Error::BadArgument(format!("`notify_url` is not a URL: {e}")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(Error::BadArgument(format!(
            "`notify_url` must be an http or https URL, not `{}`",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::BadArgument("`notify_url` has no host".into()));
    }
    if !targets.allows(&url) {
        let why = if targets.is_empty() {
            "which is empty here: this task-engine sends events nowhere"
        } else {
            "which does not hold it (same scheme, host and port, and a path under a base)"
        };
        return Err(Error::BadArgument(format!(
            "`notify_url` `{text}` is not allowed: a task's events go only to the base URLs of the setting `{ALLOWED_URLS_KEY}`, {why}"
        )));
    }
    Ok(text.to_string())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Unix seconds as the seed's `2017-07-27 13:39:55` (UTC).
pub fn format_time(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .map(|t| t.format(TIME_FORMAT).to_string())
        .unwrap_or_default()
}

/// A task's nodes: a JSON list (or text holding one) of objects such as
/// `{"ip":"10.0.0.1","vm_id":"3"}`, or of plain addresses.
pub fn parse_nodes(value: &Value) -> Result<Vec<Map<String, Value>>, Error> {
    let items = match value {
        Value::Array(items) => items.clone(),
        Value::String(text) => match serde_json::from_str(text) {
            Ok(Value::Array(items)) => items,
            _ => {
                return Err(Error::BadArgument(
                    "`nodes` must be a JSON list of nodes".into(),
                ))
            }
        },
        _ => {
            return Err(Error::BadArgument(
                "`nodes` must be a JSON list of nodes".into(),
            ))
        }
    };
    if items.is_empty() {
        return Err(Error::BadArgument(
            "`nodes` must hold at least one node".into(),
        ));
    }
    if items.len() > MAX_NODES {
        return Err(Error::BadArgument(format!(
            "`nodes` holds {} nodes; at most {MAX_NODES} per task",
            items.len()
        )));
    }
    let nodes = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(mut map) => match map.get("ip") {
                None => Ok(map),
                Some(Value::String(ip)) if ip.trim().is_empty() => Ok(map),
                Some(Value::String(ip)) => {
                    let ip = node_address(i, ip)?;
                    map.insert("ip".into(), Value::String(ip));
                    Ok(map)
                }
                Some(_) => Err(Error::BadArgument(format!(
                    "`nodes[{i}].ip` must be a string"
                ))),
            },
            Value::String(ip) if !ip.trim().is_empty() => {
                let mut map = Map::new();
                map.insert("ip".into(), Value::String(node_address(i, &ip)?));
                Ok(map)
            }
            _ => Err(Error::BadArgument(format!(
                "`nodes[{i}]` must be an object or an address"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Both are indexed columns of at most 255 characters.
    for (i, node) in nodes.iter().enumerate() {
        for key in ["ip", "vm_id"] {
            if node_text(node, key).chars().count() > MAX_NODE_FIELD_CHARS {
                return Err(Error::BadArgument(format!(
                    "`nodes[{i}].{key}` is longer than {MAX_NODE_FIELD_CHARS} characters"
                )));
            }
        }
    }
    Ok(nodes)
}

/// The address of node `i`: an IP literal or a host name (`wire::host::HostAddress`), never
/// something `ssh` or `ansible` could read as an option. Surrounding spaces are dropped.
pub fn node_address(i: usize, text: &str) -> Result<String, Error> {
    HostAddress::parse(text.trim())
        .map(HostAddress::into_string)
        .map_err(|e| Error::BadArgument(format!("`nodes[{i}].ip` {e}")))
}

/// A task's `params`: an object, a list of objects (the seed's example sends one; merged in
/// order), or text holding either. Absent is empty.
pub fn parse_params(value: Option<&Value>) -> Result<Map<String, Value>, Error> {
    let bad = || Error::BadArgument("`params` must be a JSON object".into());
    let value = match value {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::String(text)) if text.trim().is_empty() => return Ok(Map::new()),
        Some(Value::String(text)) => serde_json::from_str(text).map_err(|_| bad())?,
        Some(other) => other.clone(),
    };
    match value {
        Value::Object(map) => Ok(map),
        Value::Array(items) => {
            let mut merged = Map::new();
            for item in items {
                match item {
                    Value::Object(map) => merged.extend(map),
                    _ => return Err(bad()),
                }
            }
            Ok(merged)
        }
        _ => Err(bad()),
    }
}

fn node_text(node: &Map<String, Value>, key: &str) -> String {
    match node.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Creates a task from `/task/create`'s fields; its `notify_url` must lie under `events`.
pub async fn create_task(db: &Db, events: &EventTargets, input: NewTask) -> Result<Created, Error> {
    let missing = |f: &str| Error::BadArgument(format!("missing parameter `{f}`"));
    let template_id = input.template_id.ok_or_else(|| missing("template_id"))?;
    let task_name = check_name(
        "task_name",
        &input.task_name.ok_or_else(|| missing("task_name"))?,
    )?;
    let opr_user = check_name(
        "opr_user",
        &input.opr_user.ok_or_else(|| missing("opr_user"))?,
    )?;
    let pool_name = input.pool_name.unwrap_or_default();
    let cluster_id = input.cluster_id;
    if let Some(cluster) = cluster_id.filter(|c| *c <= 0) {
        return Err(Error::BadArgument(format!(
            "`cluster_id` must be a positive cluster id, not {cluster}"
        )));
    }
    let nodes = parse_nodes(&input.nodes.ok_or_else(|| missing("nodes"))?)?;
    let params = parse_params(input.params.as_ref())?;
    let max_ratio = input.max_ratio.unwrap_or(100);
    if !(1..=100).contains(&max_ratio) {
        return Err(Error::BadArgument(format!(
            "`max_ratio` must be from 1 to 100, not {max_ratio}"
        )));
    }
    // 0 (or absent) means no cap beyond the ratio.
    let max_num = input.max_num.unwrap_or(0);
    if max_num < 0 {
        return Err(Error::BadArgument(format!(
            "`max_num` must not be negative, not {max_num}"
        )));
    }
    let timeout = input.timeout.unwrap_or(0);
    if !(0..=MAX_TIMEOUT_SECS).contains(&timeout) {
        return Err(Error::BadArgument(format!(
            "`timeout` must be from 0 (none) to {MAX_TIMEOUT_SECS} seconds, not {timeout}"
        )));
    }
    let count_nodes = nodes.len() as u64;
    let size = plan::batch_size(count_nodes, max_ratio as u64, max_num as u64);
    let batches = plan::batch_count(count_nodes, size);
    let notify_url = check_notify_url(input.notify_url.as_deref().unwrap_or_default(), events)?;
    let params_text = encode(&params)?;
    let digest = match &input.idempotency_key {
        Some(key) => Some(key_digest(&opr_user, key)?),
        None => None,
    };
    catalog_write(db, move |c| {
        // The catalog lock serializes creations, so the key's check and insert cannot race.
        if let Some(digest) = &digest {
            if let Some(fid) = store::flow_of_key(c, digest)? {
                return replay(c, fid, template_id, &task_name);
            }
        }
        let template = store::template(c, template_id)?
            .ok_or_else(|| Error::NotFound(format!("task template {template_id} not found")))?;
        let steps: Vec<TemplateStep> = serde_json::from_str(&template.steps)
            .map_err(|e| Error::Internal(format!("stored template steps are not valid: {e}")))?;
        let at = now();
        let fid = store::insert_flow(
            c,
            &FlowRow {
                id: 0,
                template_id,
                template_name: template.name.clone(),
                task_name: task_name.clone(),
                pool_name: pool_name.clone(),
                state: TaskState::Init,
                steps: encode(&steps)?,
                params: params_text,
                max_num,
                max_ratio,
                timeout_secs: timeout,
                auto_start: input.auto.unwrap_or(false),
                batch_size: size as i64,
                batch_count: batches as i64,
                opr_user: opr_user.clone(),
                created: at,
                updated: at,
                owner: String::new(),
                lease_until: 0,
                notify_url: notify_url.clone(),
                cluster_id,
            },
        )?;
        let message = format!(
            "task `{task_name}` created by {opr_user} from template {template_id} `{}`: {count_nodes} node(s), {} step(s), {batches} batch(es) of up to {size}",
            template.name,
            steps.len()
        );
        store::insert_log(c, fid, 0, None, &message, at)?;
        for (index, node) in nodes.iter().enumerate() {
            let batch_id = plan::batch_of(index as u64, size) as i64;
            let ip = node_text(node, "ip");
            let nid = store::insert_node(
                c,
                &NodeRow {
                    id: 0,
                    fid,
                    ip: ip.clone(),
                    vars: encode(node)?,
                    state: TaskState::Init,
                    step_index: 0,
                    step_states: "{}".into(),
                    batch_id,
                    vm_id: node_text(node, "vm_id"),
                    created: at,
                    updated: at,
                },
            )?;
            let message = format!("node {nid} `{ip}` queued in batch {batch_id}");
            store::insert_log(c, fid, batch_id, Some(nid), &message, at)?;
        }
        if let Some(digest) = &digest {
            store::insert_flow_key(c, digest, fid)?;
        }
        Ok(Created::New(fid))
    })
    .await
}

/// The answer to a creation whose `Idempotency-Key` already created task `fid`: that task,
/// unless the request asks for another template or name (a key reused by mistake).
fn replay(
    c: &mut kit::db::DbConn,
    fid: i64,
    template_id: i64,
    task_name: &str,
) -> Result<Created, Error> {
    let flow = store::flow(c, fid)?
        .ok_or_else(|| Error::Internal(format!("task {fid} of an idempotency key is gone")))?;
    if flow.template_id != template_id || flow.task_name != task_name {
        return Err(Error::Conflict(format!(
            "this `Idempotency-Key` already created task {fid} (template {}, `{}`); use a new key for another task",
            flow.template_id, flow.task_name
        )));
    }
    Ok(Created::Replayed(fid))
}

fn encode(value: &impl serde::Serialize) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("cannot encode JSON: {e}")))
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, Error> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(format!("stored {what} is not valid: {e}")))
}

fn task_not_found(id: i64) -> Error {
    Error::NotFound(format!("task {id} not found"))
}

fn to_task(row: FlowRow, stat: Vec<i64>) -> Result<Task, Error> {
    let options: Vec<TemplateStep> = decode("task steps", &row.steps)?;
    let created = format_time(row.created);
    Ok(Task {
        id: row.id,
        template_id: row.template_id,
        template_name: row.template_name,
        task_name: row.task_name,
        pool_name: row.pool_name,
        status: row.state,
        step_len: options.len() as i64,
        options,
        opr_user: row.opr_user,
        params: decode("task params", &row.params)?,
        max_num: row.max_num,
        max_ratio: row.max_ratio,
        timeout: row.timeout_secs,
        auto: row.auto_start,
        batch_size: row.batch_size,
        batch_count: row.batch_count,
        created_alias: created.clone(),
        created,
        updated: format_time(row.updated),
        stat_alias: stat.clone(),
        stat,
    })
}

/// Node counts per state for each flow: `[init, running, success, failed, stopped]`.
fn stats(rows: Vec<(i64, i32, i64)>) -> HashMap<i64, Vec<i64>> {
    let mut by_flow: HashMap<i64, Vec<i64>> = HashMap::new();
    for (fid, state, n) in rows {
        let stat = by_flow
            .entry(fid)
            .or_insert_with(|| vec![0; w::STATE_COUNT]);
        if let Some(slot) = usize::try_from(state).ok().and_then(|s| stat.get_mut(s)) {
            *slot += n;
        }
    }
    by_flow
}

/// A page of the tasks; `clusters` limits them to the tasks of these clusters (`None`: all).
pub async fn list_tasks(
    db: &Db,
    page: Page,
    clusters: Option<Vec<i64>>,
) -> Result<Paged<Task>, Error> {
    let (rows, total, counts) = db
        .read(move |c| -> Result<_, Error> {
            let (rows, total) = store::flows_page(c, page, clusters.as_deref())?;
            let fids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let counts = store::node_counts(c, &fids)?;
            Ok((rows, total, counts))
        })
        .await?;
    let mut stat = stats(counts);
    let items = rows
        .into_iter()
        .map(|row| {
            let s = stat
                .remove(&row.id)
                .unwrap_or_else(|| vec![0; w::STATE_COUNT]);
            to_task(row, s)
        })
        .collect::<Result<_, _>>()?;
    Ok((items, count(total)))
}

/// The cluster task `id` belongs to (`None`: none); 404 when there is no such task.
pub async fn task_cluster(db: &Db, id: i64) -> Result<Option<i64>, Error> {
    db.read(move |c| -> Result<_, Error> {
        store::flow_cluster(c, id)?.ok_or_else(|| task_not_found(id))
    })
    .await
}

/// The task of node `nsid` and the cluster it belongs to; 404 when there is no such node.
pub async fn node_task_cluster(db: &Db, nsid: i64) -> Result<(i64, Option<i64>), Error> {
    db.read(move |c| -> Result<_, Error> {
        let fid = store::flow_of_node(c, nsid)?
            .ok_or_else(|| Error::NotFound(format!("task node {nsid} not found")))?;
        let cluster = store::flow_cluster(c, fid)?.ok_or_else(|| task_not_found(fid))?;
        Ok((fid, cluster))
    })
    .await
}

pub async fn get_task(db: &Db, id: i64) -> Result<Task, Error> {
    let (row, counts) = db
        .read(move |c| -> Result<_, Error> {
            let row = store::flow(c, id)?.ok_or_else(|| task_not_found(id))?;
            Ok((row, store::node_counts(c, &[id])?))
        })
        .await?;
    let s = stats(counts)
        .remove(&id)
        .unwrap_or_else(|| vec![0; w::STATE_COUNT]);
    to_task(row, s)
}

pub async fn task_nodes(db: &Db, id: i64) -> Result<Vec<TaskNode>, Error> {
    let (flow, nodes) = db
        .read(move |c| -> Result<_, Error> {
            let flow = store::flow(c, id)?.ok_or_else(|| task_not_found(id))?;
            Ok((flow, store::nodes_of_flow(c, id)?))
        })
        .await?;
    let steps: Vec<TemplateStep> = decode("task steps", &flow.steps)?;
    nodes
        .into_iter()
        .map(|n| {
            let created = format_time(n.created);
            let step_name = usize::try_from(n.step_index)
                .ok()
                .and_then(|i| steps.get(i))
                .map(|s| s.name.clone())
                .unwrap_or_default();
            Ok(TaskNode {
                id: n.id,
                fid: n.fid,
                ip: n.ip,
                state: n.state,
                batch_id: n.batch_id,
                step: n.step_index,
                step_name,
                steps: decode("node step states", &n.step_states)?,
                vars: decode("node", &n.vars)?,
                pool_name: flow.pool_name.clone(),
                vm_id: n.vm_id,
                created_alias: created.clone(),
                created,
                updated: format_time(n.updated),
            })
        })
        .collect()
}

fn to_log(row: store::LogRow) -> LogRow {
    LogRow {
        id: row.id,
        fid: row.fid,
        batch_id: row.batch_id,
        correlation_id: format!("{}-{}", row.fid, row.batch_id),
        node_id: row.node_id,
        message: row.message,
        ctime: row.ctime,
    }
}

pub async fn task_log(db: &Db, id: i64) -> Result<Vec<LogRow>, Error> {
    let rows = db
        .read(move |c| -> Result<_, Error> {
            store::flow(c, id)?.ok_or_else(|| task_not_found(id))?;
            Ok(store::logs_of_flow(c, id)?)
        })
        .await?;
    Ok(rows.into_iter().map(to_log).collect())
}

pub async fn node_log(db: &Db, nsid: i64) -> Result<Vec<LogRow>, Error> {
    let rows = db
        .read(move |c| -> Result<_, Error> {
            store::node(c, nsid)?
                .ok_or_else(|| Error::NotFound(format!("task node {nsid} not found")))?;
            Ok(store::logs_of_node(c, nsid)?)
        })
        .await?;
    Ok(rows.into_iter().map(to_log).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nodes_come_as_a_list_or_as_text_holding_one() {
        let list =
            parse_nodes(&json!([{"ip": "10.0.0.1", "vm_id": "3"}, "10.0.0.2"])).expect("list");
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].get("ip"), Some(&json!("10.0.0.2")));
        let text = parse_nodes(&json!(r#"[{"ip":"10.0.0.1"}]"#)).expect("text");
        assert_eq!(text[0].get("ip"), Some(&json!("10.0.0.1")));
    }

    #[test]
    fn nodes_must_be_a_non_empty_list_of_nodes() {
        assert!(parse_nodes(&json!([])).is_err());
        assert!(parse_nodes(&json!({"ip": "x"})).is_err());
        assert!(parse_nodes(&json!("not json")).is_err());
        assert!(parse_nodes(&json!([1])).is_err());
        assert!(parse_nodes(&json!([{"ip": 5}])).is_err());
    }

    #[test]
    fn params_merge_a_list_of_objects() {
        assert_eq!(
            parse_params(Some(&json!([{"a": 1}, {"b": "x"}]))).expect("list"),
            json!({"a": 1, "b": "x"})
                .as_object()
                .cloned()
                .expect("object")
        );
        assert_eq!(parse_params(None).expect("absent"), Map::new());
        assert!(parse_params(Some(&json!(5))).is_err());
    }

    #[test]
    fn stat_counts_nodes_by_state() {
        let s = stats(vec![(1, 0, 3), (1, 2, 1), (2, 4, 5)]);
        assert_eq!(s[&1], vec![3, 0, 1, 0, 0]);
        assert_eq!(s[&2], vec![0, 0, 0, 0, 5]);
    }

    #[test]
    fn times_are_formatted_as_the_seed_shows_them() {
        assert_eq!(format_time(1501162794), "2017-07-27 13:39:54");
    }
}
