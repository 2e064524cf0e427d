//! Registry targets, the tasks this orchestrator started, and node states.

use diesel::dsl::count_star;
use diesel::prelude::*;
use kit::db::{last_insert_id, DbConn};
use wire::orchestrator::{Node, SdTarget};

use super::schema::{oc_marks, oc_nodes, oc_pools, oc_sd, oc_tasks};
use super::NodeRow;

// ---- registry targets ----

#[derive(Debug, Clone, Queryable)]
struct SdRow {
    id: i64,
    zkidc: String,
    service: String,
    port: i32,
}

impl From<SdRow> for SdTarget {
    fn from(r: SdRow) -> Self {
        SdTarget {
            id: r.id,
            zkidc: r.zkidc,
            service: r.service,
            port: r.port,
        }
    }
}

pub fn sd_target(conn: &mut DbConn, id: i64) -> QueryResult<Option<SdTarget>> {
    oc_sd::table
        .find(id)
        .get_result::<SdRow>(conn)
        .optional()
        .map(|r| r.map(SdTarget::from))
}

pub fn sd_page(conn: &mut DbConn, page: kit::Page) -> QueryResult<(Vec<SdTarget>, i64)> {
    let total = oc_sd::table.select(count_star()).get_result(conn)?;
    let rows: Vec<SdRow> = oc_sd::table
        .order(oc_sd::id)
        .offset(page.offset())
        .limit(page.limit())
        .load(conn)?;
    Ok((rows.into_iter().map(SdTarget::from).collect(), total))
}

pub fn insert_sd(conn: &mut DbConn, t: &SdTarget) -> QueryResult<i64> {
    diesel::insert_into(oc_sd::table)
        .values((
            oc_sd::zkidc.eq(&t.zkidc),
            oc_sd::service.eq(&t.service),
            oc_sd::port.eq(t.port),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn update_sd(conn: &mut DbConn, t: &SdTarget) -> QueryResult<usize> {
    diesel::update(oc_sd::table.find(t.id))
        .set((
            oc_sd::zkidc.eq(&t.zkidc),
            oc_sd::service.eq(&t.service),
            oc_sd::port.eq(t.port),
        ))
        .execute(conn)
}

pub fn delete_sd(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(oc_sd::table.find(id)).execute(conn)
}

/// Ids of the pools whose `sd_id` is `id`.
pub fn pools_using_sd(conn: &mut DbConn, id: i64) -> QueryResult<Vec<i64>> {
    oc_pools::table
        .filter(oc_pools::sd_id.eq(id))
        .select(oc_pools::id)
        .order(oc_pools::id)
        .load(conn)
}

// ---- tasks ----

/// A task this orchestrator started (`oc_tasks`).
#[derive(Debug, Clone, Queryable)]
pub struct TaskRow {
    pub fid: i64,
    /// `expand`, `shrink` or `deploy`.
    pub kind: String,
    /// `running` until the task-engine says it finished, then `done`.
    pub state: String,
    /// The tag a deploy records on its nodes.
    pub tag: String,
}

pub const TASK_RUNNING: &str = "running";
pub const TASK_DONE: &str = "done";

pub fn insert_task(
    conn: &mut DbConn,
    fid: i64,
    pool_id: i64,
    kind: &str,
    tag: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::insert_into(oc_tasks::table)
        .values((
            oc_tasks::fid.eq(fid),
            oc_tasks::pool_id.eq(pool_id),
            oc_tasks::kind.eq(kind),
            oc_tasks::state.eq(TASK_RUNNING),
            oc_tasks::tag.eq(tag),
            oc_tasks::created.eq(now),
        ))
        .execute(conn)
}

pub fn task(conn: &mut DbConn, fid: i64) -> QueryResult<Option<TaskRow>> {
    oc_tasks::table
        .find(fid)
        .select((
            oc_tasks::fid,
            oc_tasks::kind,
            oc_tasks::state,
            oc_tasks::tag,
        ))
        .get_result::<TaskRow>(conn)
        .optional()
}

/// The fids of every task not yet seen finished.
pub fn running_tasks(conn: &mut DbConn) -> QueryResult<Vec<i64>> {
    oc_tasks::table
        .filter(oc_tasks::state.eq(TASK_RUNNING))
        .select(oc_tasks::fid)
        .order(oc_tasks::fid)
        .load(conn)
}

/// The fids of finished tasks that still own failed nodes: a `/task/start` may resume them.
pub fn resumable_tasks(conn: &mut DbConn) -> QueryResult<Vec<i64>> {
    oc_nodes::table
        .filter(oc_nodes::status.eq(wire::orchestrator::NODE_FAILED))
        .filter(oc_nodes::task_id.gt(0))
        .select(oc_nodes::task_id)
        .distinct()
        .order(oc_nodes::task_id)
        .load(conn)
}

/// Follows a finished task again (it was resumed).
pub fn reopen_task(conn: &mut DbConn, fid: i64) -> QueryResult<usize> {
    diesel::update(oc_tasks::table.find(fid))
        .set(oc_tasks::state.eq(TASK_RUNNING))
        .execute(conn)
}

pub fn finish_task(conn: &mut DbConn, fid: i64) -> QueryResult<usize> {
    diesel::update(oc_tasks::table.find(fid))
        .set(oc_tasks::state.eq(TASK_DONE))
        .execute(conn)
}

// ---- nodes of flows ----

/// Every node of a pool, oldest first.
pub fn pool_nodes(conn: &mut DbConn, pool_id: i64) -> QueryResult<Vec<Node>> {
    let rows: Vec<NodeRow> = oc_nodes::table
        .filter(oc_nodes::pool_id.eq(pool_id))
        .order(oc_nodes::id)
        .load(conn)?;
    Ok(rows.into_iter().map(Node::from).collect())
}

pub fn node(conn: &mut DbConn, id: i64) -> QueryResult<Option<Node>> {
    oc_nodes::table
        .find(id)
        .get_result::<NodeRow>(conn)
        .optional()
        .map(|r| r.map(Node::from))
}

/// The nodes task `fid` acts on.
pub fn task_nodes(conn: &mut DbConn, fid: i64) -> QueryResult<Vec<Node>> {
    let rows: Vec<NodeRow> = oc_nodes::table
        .filter(oc_nodes::task_id.eq(fid))
        .order(oc_nodes::id)
        .load(conn)?;
    Ok(rows.into_iter().map(Node::from).collect())
}

/// A node without IP (expand, before its instance exists).
pub fn insert_pending_node(
    conn: &mut DbConn,
    pool_id: i64,
    status: i32,
    node_type: &str,
    tag: &str,
) -> QueryResult<i64> {
    diesel::insert_into(oc_nodes::table)
        .values((
            oc_nodes::pool_id.eq(pool_id),
            oc_nodes::ip.eq(None::<String>),
            oc_nodes::vm_id.eq(""),
            oc_nodes::status.eq(status),
            oc_nodes::node_type.eq(node_type),
            oc_nodes::tag.eq(tag),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn delete_node(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(oc_nodes::table.find(id)).execute(conn)
}

/// Sets the status, failed step and task of a node.
pub fn set_node_state(
    conn: &mut DbConn,
    id: i64,
    status: i32,
    step: &str,
    task_id: i64,
) -> QueryResult<usize> {
    diesel::update(oc_nodes::table.find(id))
        .set((
            oc_nodes::status.eq(status),
            oc_nodes::step.eq(step),
            oc_nodes::task_id.eq(task_id),
        ))
        .execute(conn)
}

/// Records a node's instance; an empty `ip` stays NULL (unique: empty strings would clash).
pub fn set_node_instance(conn: &mut DbConn, id: i64, ip: &str, vm_id: &str) -> QueryResult<usize> {
    let ip = (!ip.is_empty()).then_some(ip);
    diesel::update(oc_nodes::table.find(id))
        .set((oc_nodes::ip.eq(ip), oc_nodes::vm_id.eq(vm_id)))
        .execute(conn)
}

pub fn set_node_tag(conn: &mut DbConn, id: i64, tag: &str) -> QueryResult<usize> {
    diesel::update(oc_nodes::table.find(id))
        .set(oc_nodes::tag.eq(tag))
        .execute(conn)
}

/// The node holding `ip`, if any.
pub fn node_with_ip(conn: &mut DbConn, ip: &str) -> QueryResult<Option<i64>> {
    oc_nodes::table
        .filter(oc_nodes::ip.eq(ip))
        .select(oc_nodes::id)
        .first(conn)
        .optional()
}

// ---- the journal of flows being started ----

/// What a flow being started did to one node: created it (`created`), or marked it, with its
/// status and step before.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct Mark {
    pub node_id: i64,
    pub created: bool,
    pub status: i32,
    pub step: String,
}

pub fn insert_mark(conn: &mut DbConn, mark: &Mark, now: i64) -> QueryResult<usize> {
    diesel::insert_into(oc_marks::table)
        .values((
            oc_marks::node_id.eq(mark.node_id),
            oc_marks::created.eq(i32::from(mark.created)),
            oc_marks::status.eq(mark.status),
            oc_marks::step.eq(&mark.step),
            oc_marks::marked_at.eq(now),
        ))
        .execute(conn)
}

pub fn delete_marks(conn: &mut DbConn, node_ids: &[i64]) -> QueryResult<usize> {
    diesel::delete(oc_marks::table.filter(oc_marks::node_id.eq_any(node_ids))).execute(conn)
}

/// Marks written before `cutoff` (unix seconds) and never cleared: their flow never started.
pub fn stale_marks(conn: &mut DbConn, cutoff: i64) -> QueryResult<Vec<Mark>> {
    let rows: Vec<(i64, i32, i32, String)> = oc_marks::table
        .filter(oc_marks::marked_at.lt(cutoff))
        .select((
            oc_marks::node_id,
            oc_marks::created,
            oc_marks::status,
            oc_marks::step,
        ))
        .order(oc_marks::node_id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(node_id, created, status, step)| Mark {
            node_id,
            created: created != 0,
            status,
            step,
        })
        .collect())
}
