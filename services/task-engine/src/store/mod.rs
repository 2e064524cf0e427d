//! The queries of task-engine, written once for SQLite and MySQL over `kit::db::DbConn`.
//! Functions here run inside `Db::read` / `Db::write`, on the blocking pool. JSON documents
//! are stored as text and decoded by the domain modules.

pub mod schema;

use diesel::dsl::count_star;
use diesel::prelude::*;
use kit::db::{last_insert_id, DbConn};
use kit::Page;
use wire::task_engine::TaskState;

use schema::{
    te_action_impls, te_actions, te_catalog_lock, te_flow_keys, te_flow_logs, te_flow_nodes,
    te_flows, te_remote_steps, te_templates,
};

/// Takes the catalog lock for the rest of the transaction (see the migration).
pub fn lock_catalog(conn: &mut DbConn) -> QueryResult<usize> {
    diesel::update(te_catalog_lock::table.find(1))
        .set(te_catalog_lock::bumps.eq(te_catalog_lock::bumps + 1))
        .execute(conn)
}

// ---- actions ----

#[derive(Debug, Clone, Queryable)]
pub struct ActionRow {
    pub id: i64,
    pub name: String,
    pub descr: String,
    pub params: String,
}

pub fn action(conn: &mut DbConn, id: i64) -> QueryResult<Option<ActionRow>> {
    te_actions::table.find(id).get_result(conn).optional()
}

pub fn action_by_name(conn: &mut DbConn, name: &str) -> QueryResult<Option<ActionRow>> {
    te_actions::table
        .filter(te_actions::name.eq(name))
        .get_result(conn)
        .optional()
}

pub fn actions_page(conn: &mut DbConn, page: Page) -> QueryResult<(Vec<ActionRow>, i64)> {
    let total = te_actions::table.select(count_star()).get_result(conn)?;
    let rows = te_actions::table
        .order(te_actions::id)
        .offset(page.offset())
        .limit(page.limit())
        .load(conn)?;
    Ok((rows, total))
}

pub fn all_actions(conn: &mut DbConn) -> QueryResult<Vec<ActionRow>> {
    te_actions::table.order(te_actions::id).load(conn)
}

pub fn insert_action(conn: &mut DbConn, name: &str, descr: &str, params: &str) -> QueryResult<i64> {
    diesel::insert_into(te_actions::table)
        .values((
            te_actions::name.eq(name),
            te_actions::descr.eq(descr),
            te_actions::params.eq(params),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn update_action(conn: &mut DbConn, row: &ActionRow) -> QueryResult<usize> {
    diesel::update(te_actions::table.find(row.id))
        .set((
            te_actions::name.eq(&row.name),
            te_actions::descr.eq(&row.descr),
            te_actions::params.eq(&row.params),
        ))
        .execute(conn)
}

pub fn delete_action(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(te_actions::table.find(id)).execute(conn)
}

// ---- action implementations ----

#[derive(Debug, Clone, Queryable)]
pub struct ActionImplRow {
    pub id: i64,
    pub action_id: i64,
    pub impl_type: String,
    pub template: String,
}

pub fn action_impl(conn: &mut DbConn, id: i64) -> QueryResult<Option<ActionImplRow>> {
    te_action_impls::table.find(id).get_result(conn).optional()
}

pub fn action_impls_page(conn: &mut DbConn, page: Page) -> QueryResult<(Vec<ActionImplRow>, i64)> {
    let total = te_action_impls::table
        .select(count_star())
        .get_result(conn)?;
    let rows = te_action_impls::table
        .order(te_action_impls::id)
        .offset(page.offset())
        .limit(page.limit())
        .load(conn)?;
    Ok((rows, total))
}

pub fn impls_of_action(conn: &mut DbConn, action_id: i64) -> QueryResult<i64> {
    te_action_impls::table
        .filter(te_action_impls::action_id.eq(action_id))
        .select(count_star())
        .get_result(conn)
}

pub fn insert_action_impl(
    conn: &mut DbConn,
    action_id: i64,
    impl_type: &str,
    template: &str,
) -> QueryResult<i64> {
    diesel::insert_into(te_action_impls::table)
        .values((
            te_action_impls::action_id.eq(action_id),
            te_action_impls::impl_type.eq(impl_type),
            te_action_impls::template.eq(template),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn update_action_impl(conn: &mut DbConn, row: &ActionImplRow) -> QueryResult<usize> {
    diesel::update(te_action_impls::table.find(row.id))
        .set((
            te_action_impls::action_id.eq(row.action_id),
            te_action_impls::impl_type.eq(&row.impl_type),
            te_action_impls::template.eq(&row.template),
        ))
        .execute(conn)
}

pub fn delete_action_impl(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(te_action_impls::table.find(id)).execute(conn)
}

// ---- remote steps ----

#[derive(Debug, Clone, Queryable)]
pub struct RemoteStepRow {
    pub id: i64,
    pub name: String,
    pub descr: String,
    pub actions: String,
}

pub fn remote_step(conn: &mut DbConn, id: i64) -> QueryResult<Option<RemoteStepRow>> {
    te_remote_steps::table.find(id).get_result(conn).optional()
}

pub fn remote_step_by_name(conn: &mut DbConn, name: &str) -> QueryResult<Option<RemoteStepRow>> {
    te_remote_steps::table
        .filter(te_remote_steps::name.eq(name))
        .get_result(conn)
        .optional()
}

pub fn remote_steps_page(conn: &mut DbConn, page: Page) -> QueryResult<(Vec<RemoteStepRow>, i64)> {
    let total = te_remote_steps::table
        .select(count_star())
        .get_result(conn)?;
    let rows = te_remote_steps::table
        .order(te_remote_steps::id)
        .offset(page.offset())
        .limit(page.limit())
        .load(conn)?;
    Ok((rows, total))
}

pub fn all_remote_steps(conn: &mut DbConn) -> QueryResult<Vec<RemoteStepRow>> {
    te_remote_steps::table.order(te_remote_steps::id).load(conn)
}

pub fn insert_remote_step(
    conn: &mut DbConn,
    name: &str,
    descr: &str,
    actions: &str,
) -> QueryResult<i64> {
    diesel::insert_into(te_remote_steps::table)
        .values((
            te_remote_steps::name.eq(name),
            te_remote_steps::descr.eq(descr),
            te_remote_steps::actions.eq(actions),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn update_remote_step(conn: &mut DbConn, row: &RemoteStepRow) -> QueryResult<usize> {
    diesel::update(te_remote_steps::table.find(row.id))
        .set((
            te_remote_steps::name.eq(&row.name),
            te_remote_steps::descr.eq(&row.descr),
            te_remote_steps::actions.eq(&row.actions),
        ))
        .execute(conn)
}

pub fn delete_remote_step(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(te_remote_steps::table.find(id)).execute(conn)
}

// ---- templates ----

#[derive(Debug, Clone, Queryable)]
pub struct TemplateRow {
    pub id: i64,
    pub name: String,
    pub descr: String,
    pub steps: String,
}

pub fn template(conn: &mut DbConn, id: i64) -> QueryResult<Option<TemplateRow>> {
    te_templates::table.find(id).get_result(conn).optional()
}

pub fn templates_page(conn: &mut DbConn, page: Page) -> QueryResult<(Vec<TemplateRow>, i64)> {
    let total = te_templates::table.select(count_star()).get_result(conn)?;
    let rows = te_templates::table
        .order(te_templates::id)
        .offset(page.offset())
        .limit(page.limit())
        .load(conn)?;
    Ok((rows, total))
}

pub fn all_templates(conn: &mut DbConn) -> QueryResult<Vec<TemplateRow>> {
    te_templates::table.order(te_templates::id).load(conn)
}

pub fn insert_template(
    conn: &mut DbConn,
    name: &str,
    descr: &str,
    steps: &str,
) -> QueryResult<i64> {
    diesel::insert_into(te_templates::table)
        .values((
            te_templates::name.eq(name),
            te_templates::descr.eq(descr),
            te_templates::steps.eq(steps),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn update_template(conn: &mut DbConn, row: &TemplateRow) -> QueryResult<usize> {
    diesel::update(te_templates::table.find(row.id))
        .set((
            te_templates::name.eq(&row.name),
            te_templates::descr.eq(&row.descr),
            te_templates::steps.eq(&row.steps),
        ))
        .execute(conn)
}

pub fn delete_template(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(te_templates::table.find(id)).execute(conn)
}

// ---- flows ----

#[derive(Debug, Clone, Queryable)]
pub struct FlowRow {
    pub id: i64,
    pub template_id: i64,
    pub template_name: String,
    pub task_name: String,
    pub pool_name: String,
    /// Read from its number; an unknown number is a deserialization error.
    #[diesel(deserialize_as = i32)]
    pub state: TaskState,
    pub steps: String,
    pub params: String,
    pub max_num: i64,
    pub max_ratio: i64,
    pub timeout_secs: i64,
    pub auto_start: bool,
    pub batch_size: i64,
    pub batch_count: i64,
    pub opr_user: String,
    pub created: i64,
    pub updated: i64,
    /// The engine running it (empty: none yet) and until when its lease holds.
    pub owner: String,
    pub lease_until: i64,
    /// Where the task's events are POSTed; empty: nowhere.
    pub notify_url: String,
    /// The cluster the task belongs to; `None`: none (only platform-wide roles control it).
    pub cluster_id: Option<i64>,
}

/// A flow to insert (`id`, `owner`, `lease_until` are ignored).
pub fn insert_flow(conn: &mut DbConn, f: &FlowRow) -> QueryResult<i64> {
    diesel::insert_into(te_flows::table)
        .values((
            te_flows::template_id.eq(f.template_id),
            te_flows::template_name.eq(&f.template_name),
            te_flows::task_name.eq(&f.task_name),
            te_flows::pool_name.eq(&f.pool_name),
            te_flows::state.eq(f.state.code()),
            te_flows::steps.eq(&f.steps),
            te_flows::params.eq(&f.params),
            te_flows::max_num.eq(f.max_num),
            te_flows::max_ratio.eq(f.max_ratio),
            te_flows::timeout_secs.eq(f.timeout_secs),
            te_flows::auto_start.eq(f.auto_start),
            te_flows::batch_size.eq(f.batch_size),
            te_flows::batch_count.eq(f.batch_count),
            te_flows::opr_user.eq(&f.opr_user),
            te_flows::created.eq(f.created),
            te_flows::updated.eq(f.updated),
            te_flows::notify_url.eq(&f.notify_url),
            te_flows::cluster_id.eq(f.cluster_id),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

/// The task created under the idempotency `digest`, if any.
pub fn flow_of_key(conn: &mut DbConn, digest: &str) -> QueryResult<Option<i64>> {
    te_flow_keys::table
        .find(digest)
        .select(te_flow_keys::fid)
        .get_result(conn)
        .optional()
}

/// Records that the idempotency `digest` created task `fid` (a second insert of the same
/// digest is refused by the primary key).
pub fn insert_flow_key(conn: &mut DbConn, digest: &str, fid: i64) -> QueryResult<usize> {
    diesel::insert_into(te_flow_keys::table)
        .values((te_flow_keys::digest.eq(digest), te_flow_keys::fid.eq(fid)))
        .execute(conn)
}

pub fn flow(conn: &mut DbConn, id: i64) -> QueryResult<Option<FlowRow>> {
    te_flows::table.find(id).get_result(conn).optional()
}

/// A page of the tasks, newest first; `clusters` limits them to the tasks of these clusters
/// (`None`: every task).
pub fn flows_page(
    conn: &mut DbConn,
    page: Page,
    clusters: Option<&[i64]>,
) -> QueryResult<(Vec<FlowRow>, i64)> {
    let scoped = || {
        let mut query = te_flows::table.into_boxed();
        if let Some(ids) = clusters {
            query = query.filter(te_flows::cluster_id.eq_any(ids.to_vec()));
        }
        query
    };
    let total = scoped().select(count_star()).get_result(conn)?;
    // Newest first: an operator looks for the task just started.
    let rows = scoped()
        .order(te_flows::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .load(conn)?;
    Ok((rows, total))
}

/// The cluster of task `id` (`Some(None)`: a task of no cluster; `None`: no such task).
pub fn flow_cluster(conn: &mut DbConn, id: i64) -> QueryResult<Option<Option<i64>>> {
    te_flows::table
        .find(id)
        .select(te_flows::cluster_id)
        .get_result(conn)
        .optional()
}

/// The task of node `nsid`, if the node exists.
pub fn flow_of_node(conn: &mut DbConn, nsid: i64) -> QueryResult<Option<i64>> {
    te_flow_nodes::table
        .find(nsid)
        .select(te_flow_nodes::fid)
        .get_result(conn)
        .optional()
}

/// Tasks of the template in one of `states`.
pub fn flows_of_template_in(
    conn: &mut DbConn,
    template_id: i64,
    states: &[TaskState],
) -> QueryResult<Vec<i64>> {
    te_flows::table
        .filter(te_flows::template_id.eq(template_id))
        .filter(te_flows::state.eq_any(codes(states)))
        .select(te_flows::id)
        .order(te_flows::id)
        .load(conn)
}

/// `(fid, state, count)` of the nodes of these flows.
pub fn node_counts(conn: &mut DbConn, fids: &[i64]) -> QueryResult<Vec<(i64, i32, i64)>> {
    te_flow_nodes::table
        .filter(te_flow_nodes::fid.eq_any(fids))
        .group_by((te_flow_nodes::fid, te_flow_nodes::state))
        .select((te_flow_nodes::fid, te_flow_nodes::state, count_star()))
        .load(conn)
}

#[derive(Debug, Clone, Queryable)]
pub struct NodeRow {
    pub id: i64,
    pub fid: i64,
    pub ip: String,
    pub vars: String,
    /// Read from its number; an unknown number is a deserialization error.
    #[diesel(deserialize_as = i32)]
    pub state: TaskState,
    pub step_index: i64,
    pub step_states: String,
    pub batch_id: i64,
    pub vm_id: String,
    pub created: i64,
    pub updated: i64,
}

/// A node to insert (`id` is ignored).
pub fn insert_node(conn: &mut DbConn, n: &NodeRow) -> QueryResult<i64> {
    diesel::insert_into(te_flow_nodes::table)
        .values((
            te_flow_nodes::fid.eq(n.fid),
            te_flow_nodes::ip.eq(&n.ip),
            te_flow_nodes::vars.eq(&n.vars),
            te_flow_nodes::state.eq(n.state.code()),
            te_flow_nodes::step_index.eq(n.step_index),
            te_flow_nodes::step_states.eq(&n.step_states),
            te_flow_nodes::batch_id.eq(n.batch_id),
            te_flow_nodes::vm_id.eq(&n.vm_id),
            te_flow_nodes::created.eq(n.created),
            te_flow_nodes::updated.eq(n.updated),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn nodes_of_flow(conn: &mut DbConn, fid: i64) -> QueryResult<Vec<NodeRow>> {
    te_flow_nodes::table
        .filter(te_flow_nodes::fid.eq(fid))
        .order(te_flow_nodes::id)
        .load(conn)
}

pub fn node(conn: &mut DbConn, id: i64) -> QueryResult<Option<NodeRow>> {
    te_flow_nodes::table.find(id).get_result(conn).optional()
}

#[derive(Debug, Clone, Queryable)]
pub struct LogRow {
    pub id: i64,
    pub fid: i64,
    pub batch_id: i64,
    pub node_id: Option<i64>,
    pub message: String,
    pub ctime: i64,
}

pub fn insert_log(
    conn: &mut DbConn,
    fid: i64,
    batch_id: i64,
    node_id: Option<i64>,
    message: &str,
    ctime: i64,
) -> QueryResult<usize> {
    diesel::insert_into(te_flow_logs::table)
        .values((
            te_flow_logs::fid.eq(fid),
            te_flow_logs::batch_id.eq(batch_id),
            te_flow_logs::node_id.eq(node_id),
            te_flow_logs::message.eq(message),
            te_flow_logs::ctime.eq(ctime),
        ))
        .execute(conn)
}

pub fn logs_of_flow(conn: &mut DbConn, fid: i64) -> QueryResult<Vec<LogRow>> {
    te_flow_logs::table
        .filter(te_flow_logs::fid.eq(fid))
        .order(te_flow_logs::id)
        .load(conn)
}

pub fn logs_of_node(conn: &mut DbConn, node_id: i64) -> QueryResult<Vec<LogRow>> {
    te_flow_logs::table
        .filter(te_flow_logs::node_id.eq(node_id))
        .order(te_flow_logs::id)
        .load(conn)
}

// ---- execution ----

pub fn set_flow_state(conn: &mut DbConn, id: i64, state: TaskState, at: i64) -> QueryResult<usize> {
    diesel::update(te_flows::table.find(id))
        .set((te_flows::state.eq(state.code()), te_flows::updated.eq(at)))
        .execute(conn)
}

/// Moves the flow from one of `from` to `to`; 0 rows when it was in another state.
pub fn move_flow_state(
    conn: &mut DbConn,
    id: i64,
    from: &[TaskState],
    to: TaskState,
    at: i64,
) -> QueryResult<usize> {
    diesel::update(
        te_flows::table
            .find(id)
            .filter(te_flows::state.eq_any(codes(from))),
    )
    .set((te_flows::state.eq(to.code()), te_flows::updated.eq(at)))
    .execute(conn)
}

/// The nodes of one batch of a flow that are in one of `states`, in creation order.
pub fn nodes_of_batch(
    conn: &mut DbConn,
    fid: i64,
    batch_id: i64,
    states: &[TaskState],
) -> QueryResult<Vec<NodeRow>> {
    te_flow_nodes::table
        .filter(te_flow_nodes::fid.eq(fid))
        .filter(te_flow_nodes::batch_id.eq(batch_id))
        .filter(te_flow_nodes::state.eq_any(codes(states)))
        .order(te_flow_nodes::id)
        .load(conn)
}

/// Sets the nodes of a flow in state `from` to `to` (a restart puts failed nodes back).
pub fn reset_nodes(
    conn: &mut DbConn,
    fid: i64,
    from: TaskState,
    to: TaskState,
    at: i64,
) -> QueryResult<usize> {
    diesel::update(
        te_flow_nodes::table
            .filter(te_flow_nodes::fid.eq(fid))
            .filter(te_flow_nodes::state.eq(from.code())),
    )
    .set((
        te_flow_nodes::state.eq(to.code()),
        te_flow_nodes::updated.eq(at),
    ))
    .execute(conn)
}

pub fn set_node_progress(
    conn: &mut DbConn,
    id: i64,
    state: TaskState,
    step_index: i64,
    step_states: &str,
    at: i64,
) -> QueryResult<usize> {
    diesel::update(te_flow_nodes::table.find(id))
        .set((
            te_flow_nodes::state.eq(state.code()),
            te_flow_nodes::step_index.eq(step_index),
            te_flow_nodes::step_states.eq(step_states),
            te_flow_nodes::updated.eq(at),
        ))
        .execute(conn)
}

/// What a built-in step learnt about a node: its address, instance and variables, written
/// together with the step's progress.
pub fn set_node_facts(
    conn: &mut DbConn,
    id: i64,
    ip: &str,
    vm_id: &str,
    vars: &str,
) -> QueryResult<usize> {
    diesel::update(te_flow_nodes::table.find(id))
        .set((
            te_flow_nodes::ip.eq(ip),
            te_flow_nodes::vm_id.eq(vm_id),
            te_flow_nodes::vars.eq(vars),
        ))
        .execute(conn)
}

/// The implementations of an action, oldest first.
pub fn impls_of(conn: &mut DbConn, action_id: i64) -> QueryResult<Vec<ActionImplRow>> {
    te_action_impls::table
        .filter(te_action_impls::action_id.eq(action_id))
        .order(te_action_impls::id)
        .load(conn)
}

/// Claims the flow for `owner` until `until`.
pub fn claim_flow(conn: &mut DbConn, id: i64, owner: &str, until: i64) -> QueryResult<usize> {
    diesel::update(te_flows::table.find(id))
        .set((te_flows::owner.eq(owner), te_flows::lease_until.eq(until)))
        .execute(conn)
}

/// Gives up `owner`'s claim on a flow (its run has ended); 0 rows when another holds it.
pub fn release_flow(conn: &mut DbConn, id: i64, owner: &str) -> QueryResult<usize> {
    diesel::update(te_flows::table.find(id).filter(te_flows::owner.eq(owner)))
        .set((te_flows::owner.eq(""), te_flows::lease_until.eq(0)))
        .execute(conn)
}

/// Renews the leases of the RUNNING flows `owner` holds, and of the PAUSED ones whose run
/// it has not yet released (nodes still finishing their step); returns how many.
pub fn renew_leases(conn: &mut DbConn, owner: &str, until: i64) -> QueryResult<usize> {
    diesel::update(
        te_flows::table
            .filter(te_flows::owner.eq(owner))
            .filter(te_flows::state.eq_any(codes(&[TaskState::Running, TaskState::Paused]))),
    )
    .set(te_flows::lease_until.eq(until))
    .execute(conn)
}

/// RUNNING flows whose lease ended before `now`.
pub fn expired_flows(conn: &mut DbConn, now: i64) -> QueryResult<Vec<i64>> {
    te_flows::table
        .filter(te_flows::state.eq(w_running()))
        .filter(te_flows::lease_until.lt(now))
        .select(te_flows::id)
        .order(te_flows::id)
        .load(conn)
}

/// Takes over a RUNNING flow whose lease ended before `now`; 0 rows when another engine was
/// quicker or the lease was renewed.
pub fn take_over_flow(
    conn: &mut DbConn,
    id: i64,
    owner: &str,
    now: i64,
    until: i64,
) -> QueryResult<usize> {
    diesel::update(
        te_flows::table
            .find(id)
            .filter(te_flows::state.eq(w_running()))
            .filter(te_flows::lease_until.lt(now)),
    )
    .set((te_flows::owner.eq(owner), te_flows::lease_until.eq(until)))
    .execute(conn)
}

fn w_running() -> i32 {
    TaskState::Running.code()
}

/// The states' numbers, as the `state` columns hold them.
fn codes(states: &[TaskState]) -> Vec<i32> {
    states.iter().map(|s| s.code()).collect()
}
