//! HTTP <-> domain. The route table says which methods each route answers; every route reads
//! its parameters from the query string, a form or a JSON body. Ids in paths must be positive
//! integers. JSON-valued fields (`params`, `steps`, `nodes`, ...) may also come as text holding
//! JSON, since forms carry only text.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use kit::db::Db;
use kit::params::DEFAULT_PAGE_SIZE;
use kit::routes::{RouteTable, GET, GET_POST, POST};
use kit::seed_reply::{listed, parse_id, refused, success};
use serde::Deserialize;
use serde_json::{Map, Value};
use wire::task_engine::{IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED};

use crate::catalog::{self, ActionImplInput, ActionInput, RemoteStepInput, TemplateInput};
use crate::error::Error;
use crate::flows::{self, Created, NewTask};
use kit::access::{Access, Caller, Denied};
use kit::auth::Role;

mod openapi;

type Params = kit::Params<Error>;
type Data = web::Data<Db>;
type Engine = web::Data<crate::engine::Engine>;

/// Every route of the task-engine. Reads answer GET and POST (the seed's examples use both);
/// writes answer POST, and GET only where the seed's own example of that route uses GET
/// (`task/impl/create`; see proto-docs/task-engine.md). Fixed paths come before `{id}` ones,
/// so `list` is never read as an id.
pub fn table() -> RouteTable {
    RouteTable::new(refused)
        .read("/action/list", GET_POST, action_list)
        .allow(VIEWER)
        .write("/action/create", POST, action_create)
        .allow(ADMIN)
        .write("/action/update/{id}", POST, action_update)
        .allow(ADMIN)
        .write("/action/delete/{id}", POST, action_delete)
        .allow(ADMIN)
        // `/action/impl/*` is served as `/actimpl/*` (see proto-docs).
        .read("/action/impl/list", GET_POST, impl_list)
        .allow(VIEWER)
        .write("/action/impl/create", POST, impl_create)
        .allow(ADMIN)
        .write("/action/impl/update/{id}", POST, impl_update)
        .allow(ADMIN)
        .write("/action/impl/delete/{id}", POST, impl_delete)
        .allow(ADMIN)
        .read("/action/impl/{id}", GET_POST, impl_get)
        .allow(VIEWER)
        .read("/action/{id}", GET_POST, action_get)
        .allow(VIEWER)
        .read("/actimpl/list", GET_POST, impl_list)
        .allow(VIEWER)
        .write("/actimpl/create", POST, impl_create)
        .allow(ADMIN)
        .write("/actimpl/update/{id}", POST, impl_update)
        .allow(ADMIN)
        .write("/actimpl/delete/{id}", POST, impl_delete)
        .allow(ADMIN)
        .read("/actimpl/{id}", GET_POST, impl_get)
        .allow(VIEWER)
        .read("/remote_step/list", GET_POST, step_list)
        .allow(VIEWER)
        .write("/remote_step/create", POST, step_create)
        .allow(ADMIN)
        .write("/remote_step/update/{id}", POST, step_update)
        .allow(ADMIN)
        .write("/remote_step/delete/{id}", POST, step_delete)
        .allow(ADMIN)
        .read("/remote_step/{id}", GET_POST, step_get)
        .allow(VIEWER)
        .read("/task_tpl/list", GET_POST, template_list)
        .allow(VIEWER)
        .write("/task_tpl/create", POST, template_create)
        .allow(ADMIN)
        .write("/task_tpl/update/{id}", POST, template_update)
        .allow(ADMIN)
        .write("/task_tpl/delete/{id}", POST, template_delete)
        .allow(ADMIN)
        .read("/task_tpl/{id}", GET_POST, template_get)
        .allow(VIEWER)
        .read("/task/impl/list", GET_POST, template_list)
        .allow(VIEWER)
        .write("/task/impl/create", POST_GET, template_create)
        .allow(ADMIN)
        .write("/task/impl/delete", POST, task_impl_delete)
        .allow(ADMIN)
        .write("/task/impl/delete/{id}", POST, template_delete)
        .allow(ADMIN)
        .read("/task_step/list", GET_POST, task_step_list)
        .allow(VIEWER)
        // Running tasks; then the seed routes the orchestrator serves, said plainly rather
        // than read as ids.
        .write("/task/start", POST, task_start)
        .allow(RUN)
        .write("/task/start/{id}", POST, task_start_path)
        .allow(RUN)
        .write("/task/stop", POST, task_stop)
        .allow(CONTROL)
        .write("/task/stop/{id}", POST, task_stop_path)
        .allow(CONTROL)
        .write("/task/pause", POST, task_pause)
        .allow(CONTROL)
        .write("/task/pause/{id}", POST, task_pause_path)
        .allow(CONTROL)
        .read("/task/saveTask", GET_POST, orchestrator_route)
        .allow(VIEWER)
        .read("/task/expandList/{id}", GET_POST, orchestrator_route)
        .allow(VIEWER)
        .read("/task/uploadList/{id}", GET_POST, orchestrator_route)
        .allow(VIEWER)
        .read("/task/list", GET_POST, task_list)
        .allow(TASK_READ)
        .write("/task/create", POST, task_create)
        .allow(RUN)
        .read("/task/flow/{id}/log", GET_POST, task_log)
        .allow(TASK_READ)
        .read("/task/node/{id}/log", GET_POST, node_log)
        .allow(TASK_READ)
        .read("/task/{id}/log", GET_POST, task_log)
        .allow(TASK_READ)
        .read("/task/{id}/detail", GET_POST, task_detail)
        .allow(TASK_READ)
        .read("/task/{id}", GET_POST, task_get)
        .allow(TASK_READ)
        // Every write of this service, by actor, time and request id (kit::audit).
        .read("/audit/list", GET_POST, kit::audit::seed_list)
        .allow(Access::Role(Role::Viewer))
        .read("/openapi.json", GET, openapi::spec)
        .allow(Access::Public)
}

// Who may call what (issue #13; see proto-docs/task-engine.md, "Identity").

/// The catalog (actions, implementations, remote steps, templates): read by viewers.
const VIEWER: Access = Access::Role(Role::Viewer);
/// Defining the catalog: admins only.
const ADMIN: Access = Access::Role(Role::Admin);
/// Reading tasks: viewers, platform-wide or of the task's cluster (lists show a scoped
/// viewer the tasks of its clusters); and the orchestrator's own identity, which follows the
/// tasks it started.
const TASK_READ: Access = Access::ScopedOr(Role::Viewer, &[Role::Service]);
/// Creating and starting (or resuming) tasks: operators, platform-wide or of the task's
/// cluster; and the orchestrator's own identity, for its schedules.
const RUN: Access = Access::ScopedOr(Role::Operator, &[Role::Service]);
/// Pausing and stopping tasks: operators, platform-wide or of the task's cluster.
const CONTROL: Access = Access::Scoped(Role::Operator);

/// Whether `caller` may act as `role` on a task of `cluster`: the role on that cluster (or
/// platform-wide); a task of no cluster needs it platform-wide. A peer service (`service`)
/// acts on any task its route admits it to.
fn may_on_task(caller: &Caller, role: Role, cluster: Option<i64>) -> Result<(), Denied> {
    if caller.principal.has(Role::Service) {
        return Ok(());
    }
    match cluster {
        Some(cluster) => caller.require_on(role, cluster),
        None => caller.require(role),
    }
}

/// The clusters whose tasks `caller` may read: `None` for every task.
fn readable_clusters(caller: &Caller) -> Option<Vec<i64>> {
    if caller.principal.has(Role::Service) {
        return None;
    }
    caller.clusters(Role::Viewer)
}

/// Checks that `caller` may act as `role` on task `id` (404 when there is none).
async fn check_task(db: &Db, caller: &Caller, role: Role, id: i64) -> Result<(), Error> {
    let cluster = flows::task_cluster(db, id).await?;
    may_on_task(caller, role, cluster)?;
    Ok(())
}

/// Who the task's log names as the actor of a request: the verified subject, and the
/// service that relayed it.
fn actor(caller: &Caller) -> String {
    match &caller.via {
        Some(via) => format!("{} (via {via})", caller.subject()),
        None => caller.subject().to_string(),
    }
}

/// A write the seed shows with GET as well as POST.
const POST_GET: &[Method] = &[Method::POST, Method::GET];

fn done() -> HttpResponse {
    success(Value::Null)
}

async fn orchestrator_route(req: HttpRequest) -> Result<HttpResponse, Error> {
    Err(Error::NotFound(format!(
        "{} (scheduled expand / upload items) is served by the orchestrator, not the task-engine",
        req.path()
    )))
}

// ---- parameters ----

fn page_of(p: &mut Params) -> Result<kit::Page, Error> {
    Ok(p.take_page(DEFAULT_PAGE_SIZE)?)
}

/// A list's parameters: `page` and `page_size`, nothing else.
fn list_page(mut p: Params) -> Result<kit::Page, Error> {
    let page = page_of(&mut p)?;
    p.finish()?;
    Ok(page)
}

/// A JSON field that may also come as text holding JSON. Empty text is absent.
fn json_field(name: &str, value: Option<Value>) -> Result<Option<Value>, Error> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::BadArgument(format!("`{name}` is not valid JSON: {e}"))),
        Some(other) => Ok(Some(other)),
    }
}

fn object_field(name: &str, value: Option<Value>) -> Result<Option<Map<String, Value>>, Error> {
    match json_field(name, value)? {
        None => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(Error::BadArgument(format!(
            "`{name}` must be a JSON object"
        ))),
    }
}

/// The seed's create examples send an `id`; it is ignored (ids are the service's).
fn ignore_id(p: &mut Params) -> Result<(), Error> {
    p.take_str("id")?;
    Ok(())
}

// ---- actions ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionJson {
    #[serde(default)]
    params: Option<Value>,
}

fn action_input(mut p: Params) -> Result<ActionInput, Error> {
    ignore_id(&mut p)?;
    let name = p.take_str("name")?;
    let desc = p.take_str("desc")?;
    let rest: ActionJson = p.into_struct()?;
    Ok(ActionInput {
        name,
        desc,
        params: object_field("params", rest.params)?,
    })
}

async fn action_list(db: Data, p: Params) -> Result<HttpResponse, Error> {
    let page = list_page(p)?;
    let (rows, total) = catalog::list_actions(&db, page).await?;
    Ok(listed(page, rows, total))
}

async fn action_get(db: Data, id: web::Path<String>) -> Result<HttpResponse, Error> {
    Ok(success(catalog::get_action(&db, parse_id(&id)?).await?))
}

async fn action_create(db: Data, p: Params) -> Result<HttpResponse, Error> {
    Ok(success(
        catalog::create_action(&db, action_input(p)?).await?,
    ))
}

async fn action_update(db: Data, id: web::Path<String>, p: Params) -> Result<HttpResponse, Error> {
    let id = parse_id(&id)?;
    catalog::update_action(&db, id, action_input(p)?).await?;
    Ok(done())
}

async fn action_delete(db: Data, id: web::Path<String>) -> Result<HttpResponse, Error> {
    catalog::delete_action(&db, parse_id(&id)?).await?;
    Ok(done())
}

// ---- action implementations ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImplJson {
    #[serde(default)]
    template: Option<Value>,
}

fn impl_input(mut p: Params) -> Result<ActionImplInput, Error> {
    ignore_id(&mut p)?;
    let action_id = p.take_int::<i64>("action_id")?;
    let impl_type = p.take_str("type")?;
    let rest: ImplJson = p.into_struct()?;
    Ok(ActionImplInput {
        action_id,
        impl_type,
        template: object_field("template", rest.template)?,
    })
}

async fn impl_list(db: Data, p: Params) -> Result<HttpResponse, Error> {
    let page = list_page(p)?;
    let (rows, total) = catalog::list_action_impls(&db, page).await?;
    Ok(listed(page, rows, total))
}

async fn impl_get(db: Data, id: web::Path<String>) -> Result<HttpResponse, Error> {
    Ok(success(
        catalog::get_action_impl(&db, parse_id(&id)?).await?,
    ))
}

async fn impl_create(db: Data, p: Params) -> Result<HttpResponse, Error> {
    Ok(success(
        catalog::create_action_impl(&db, impl_input(p)?).await?,
    ))
}

async fn impl_update(db: Data, id: web::Path<String>, p: Params) -> Result<HttpResponse, Error> {
    let id = parse_id(&id)?;
    catalog::update_action_impl(&db, id, impl_input(p)?).await?;
    Ok(done())
}

async fn impl_delete(db: Data, id: web::Path<String>) -> Result<HttpResponse, Error> {
    catalog::delete_action_impl(&db, parse_id(&id)?).await?;
    Ok(done())
}

// ---- remote steps ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepJson {
    #[serde(default)]
    actions: Option<Value>,
    /// The key the seed's list example uses.
    #[serde(default)]
    action: Option<Value>,
}

fn step_input(mut p: Params) -> Result<RemoteStepInput, Error> {
    ignore_id(&mut p)?;
    let name = p.take_str("name")?;
    let desc = p.take_str("desc")?;
    let rest: StepJson = p.into_struct()?;
    let actions = match json_field("actions", rest.actions.or(rest.action))? {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(Error::BadArgument(format!(
                        "`actions[{i}]` must be an action name"
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => {
            return Err(Error::BadArgument(
                "`actions` must be a list of action names".into(),
            ))
        }
    };
    Ok(RemoteStepInput {
        name,
        desc,
        actions,
    })
}

async fn step_list(db: Data, p: Params) -> Result<HttpResponse, Error> {
    let page = list_page(p)?;
    let (rows, total) = catalog::list_remote_steps(&db, page).await?;
    Ok(listed(page, rows, total))
}

async fn step_get(db: Data, id: web::Path<String>) -> Result<HttpResponse, Error> {
    Ok(success(
        catalog::get_remote_step(&db, parse_id(&id)?).await?,
    ))
}

async fn step_create(db: Data, p: Params) -> Result<HttpResponse, Error> {
    Ok(success(
        catalog::create_remote_step(&db, step_input(p)?).await?,
    ))
}

async fn step_update(db: Data, id: web::Path<String>, p: Params) -> Result<HttpResponse, Error> {
    let id = parse_id(&id)?;
    catalog::update_remote_step(&db, id, step_input(p)?).await?;
    Ok(done())
}

async fn step_delete(db: Data, id: web::Path<String>) -> Result<HttpResponse, Error> {
    catalog::delete_remote_step(&db, parse_id(&id)?).await?;
    Ok(done())
}

// ---- templates (task impls) ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateJson {
    #[serde(default)]
    steps: Option<Value>,
}

fn template_input(mut p: Params) -> Result<TemplateInput, Error> {
    ignore_id(&mut p)?;
    let name = p.take_str("name")?;
    let desc = p.take_str("desc")?;
    let rest: TemplateJson = p.into_struct()?;
    let steps = json_field("steps", rest.steps)?
        .map(|v| catalog::parse_steps(&v))
        .transpose()?;
    Ok(TemplateInput { name, desc, steps })
}

async fn template_list(db: Data, p: Params) -> Result<HttpResponse, Error> {
    let page = list_page(p)?;
    let (rows, total) = catalog::list_templates(&db, page).await?;
    Ok(listed(page, rows, total))
}

async fn template_get(db: Data, id: web::Path<String>) -> Result<HttpResponse, Error> {
    Ok(success(catalog::get_template(&db, parse_id(&id)?).await?))
}

async fn template_create(db: Data, p: Params) -> Result<HttpResponse, Error> {
    Ok(success(
        catalog::create_template(&db, template_input(p)?).await?,
    ))
}

async fn template_update(
    db: Data,
    id: web::Path<String>,
    p: Params,
) -> Result<HttpResponse, Error> {
    // The path names the template; an `id` in the body is ignored (the seed's example
    // sends a different one).
    let id = parse_id(&id)?;
    catalog::update_template(&db, id, template_input(p)?).await?;
    Ok(done())
}

async fn template_delete(db: Data, id: web::Path<String>) -> Result<HttpResponse, Error> {
    catalog::delete_template(&db, parse_id(&id)?).await?;
    Ok(done())
}

/// `/task/impl/delete` takes the id in the body or the query string.
async fn task_impl_delete(db: Data, mut p: Params) -> Result<HttpResponse, Error> {
    let id = p
        .take_str("id")?
        .ok_or_else(|| Error::BadArgument("missing parameter `id`".into()))?;
    p.finish()?;
    catalog::delete_template(&db, parse_id(&id)?).await?;
    Ok(done())
}

// ---- task steps ----

async fn task_step_list(db: Data, p: Params) -> Result<HttpResponse, Error> {
    let page = list_page(p)?;
    let (rows, total) = catalog::list_task_steps(&db, page).await?;
    Ok(listed(page, rows, total))
}

// ---- tasks ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskJson {
    #[serde(default)]
    nodes: Option<Value>,
    #[serde(default)]
    params: Option<Value>,
}

/// `/task/create`. `opr_user` is the verified subject of the request (for a task the
/// orchestrator creates for a person, that person); the seed's `opr_user` parameter is still
/// accepted and not believed. `cluster_id` (optional) is the cluster the task belongs to:
/// creating it needs the operator role on that cluster.
async fn task_create(
    req: HttpRequest,
    db: Data,
    engine: Engine,
    caller: Caller,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let idempotency_key = match req.headers().get(IDEMPOTENCY_KEY) {
        Some(value) => Some(value.to_str().map(str::to_string).map_err(|_| {
            Error::BadArgument("`Idempotency-Key` must be visible ASCII characters".into())
        })?),
        None => None,
    };
    ignore_id(&mut p)?;
    let template_id = p.take_int::<i64>("template_id")?;
    let task_name = p.take_str("task_name")?;
    let pool_name = p.take_str("pool_name")?;
    // Accepted for the seed's clients; the verified subject is recorded instead.
    p.take_str("opr_user")?;
    let cluster_id = p.take_int::<i64>("cluster_id")?;
    let max_num = p.take_int::<i64>("max_num")?;
    let max_ratio = p.take_int::<i64>("max_ratio")?;
    let timeout = p.take_int::<i64>("timeout")?;
    let auto = p.take_bool("auto")?;
    let notify_url = p.take_str("notify_url")?;
    let rest: TaskJson = p.into_struct()?;
    may_on_task(&caller, Role::Operator, cluster_id)?;
    let input = NewTask {
        template_id,
        task_name,
        pool_name,
        opr_user: Some(caller.subject().to_string()),
        cluster_id,
        nodes: rest.nodes,
        params: rest.params,
        max_num,
        max_ratio,
        timeout,
        auto,
        notify_url,
        idempotency_key,
    };
    let created = flows::create_task(&db, engine.event_targets(), input).await?;
    let id = created.id();
    // `auto` (the seed's 自动, "automatic"): the task starts as soon as it is created (by the
    // request that created it, not by a replay).
    if auto == Some(true) && created == Created::New(id) {
        engine
            .start(id, &format!("{} (auto at creation)", actor(&caller)))
            .await?;
    }
    let mut answer = success(id);
    if let Created::Replayed(_) = created {
        answer.headers_mut().insert(
            HeaderName::from_static(IDEMPOTENT_REPLAYED),
            HeaderValue::from_static("true"),
        );
    }
    Ok(answer)
}

/// The id of `/task/start`, `/task/stop`, `/task/pause`: `{"id": 1}` in the body (or the
/// query string).
fn body_id(mut p: Params) -> Result<i64, Error> {
    let id = p
        .take_str("id")?
        .ok_or_else(|| Error::BadArgument("missing parameter `id`".into()))?;
    p.finish()?;
    parse_id(&id)
}

/// What a request does to a task.
#[derive(Clone, Copy)]
enum Control {
    Start,
    Stop,
    Pause,
}

/// Starts, stops or pauses task `id` for `caller`: the operator role on the task's cluster.
async fn control(
    db: &Db,
    engine: &Engine,
    caller: &Caller,
    id: i64,
    what: Control,
) -> Result<HttpResponse, Error> {
    check_task(db, caller, Role::Operator, id).await?;
    match what {
        Control::Start => engine.start(id, &actor(caller)).await?,
        Control::Stop => engine.stop(id, &actor(caller)).await?,
        Control::Pause => engine.pause(id, &actor(caller)).await?,
    }
    Ok(done())
}

async fn task_start(
    db: Data,
    engine: Engine,
    caller: Caller,
    p: Params,
) -> Result<HttpResponse, Error> {
    control(&db, &engine, &caller, body_id(p)?, Control::Start).await
}

async fn task_stop(
    db: Data,
    engine: Engine,
    caller: Caller,
    p: Params,
) -> Result<HttpResponse, Error> {
    control(&db, &engine, &caller, body_id(p)?, Control::Stop).await
}

async fn task_pause(
    db: Data,
    engine: Engine,
    caller: Caller,
    p: Params,
) -> Result<HttpResponse, Error> {
    control(&db, &engine, &caller, body_id(p)?, Control::Pause).await
}

async fn task_start_path(
    db: Data,
    engine: Engine,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    control(&db, &engine, &caller, parse_id(&id)?, Control::Start).await
}

async fn task_stop_path(
    db: Data,
    engine: Engine,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    control(&db, &engine, &caller, parse_id(&id)?, Control::Stop).await
}

async fn task_pause_path(
    db: Data,
    engine: Engine,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    control(&db, &engine, &caller, parse_id(&id)?, Control::Pause).await
}

/// The tasks; a caller holding the viewer role only on some clusters sees their tasks.
async fn task_list(db: Data, caller: Caller, p: Params) -> Result<HttpResponse, Error> {
    let page = list_page(p)?;
    let (rows, total) = flows::list_tasks(&db, page, readable_clusters(&caller)).await?;
    Ok(listed(page, rows, total))
}

/// The task of the path's id, once the caller may read it.
async fn readable_task(db: &Db, caller: &Caller, id: &web::Path<String>) -> Result<i64, Error> {
    let id = parse_id(id)?;
    check_task(db, caller, Role::Viewer, id).await?;
    Ok(id)
}

async fn task_get(db: Data, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, Error> {
    let id = readable_task(&db, &caller, &id).await?;
    Ok(success(flows::get_task(&db, id).await?))
}

async fn task_detail(
    db: Data,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let id = readable_task(&db, &caller, &id).await?;
    Ok(success(flows::task_nodes(&db, id).await?))
}

async fn task_log(db: Data, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, Error> {
    let id = readable_task(&db, &caller, &id).await?;
    Ok(success(flows::task_log(&db, id).await?))
}

async fn node_log(db: Data, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, Error> {
    let nsid = parse_id(&id)?;
    let (_, cluster) = flows::node_task_cluster(&db, nsid).await?;
    may_on_task(&caller, Role::Viewer, cluster)?;
    Ok(success(flows::node_log(&db, nsid).await?))
}

#[cfg(test)]
mod tests {
    kit::route_docs_test!("task-engine.md");
}
