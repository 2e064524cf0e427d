//! HTTP <-> domain. The route table says which methods each route answers; every route reads
//! its parameters from the query string, a form or a JSON body. Ids in paths must be positive
//! integers. JSON-valued fields (`params`, `steps`, `nodes`, ...) may also come as text holding
//! JSON, since forms carry only text.

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use kit::db::Db;
use kit::params::DEFAULT_PAGE_SIZE;
use kit::routes::{RouteTable, GET, GET_POST, POST};
use kit::seed_reply::{listed, parse_id, refused, success};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::catalog::{self, ActionImplInput, ActionInput, RemoteStepInput, TemplateInput};
use crate::error::Error;
use crate::flows::{self, NewTask};

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
        .write("/action/create", POST, action_create)
        .write("/action/update/{id}", POST, action_update)
        .write("/action/delete/{id}", POST, action_delete)
        // `/action/impl/*` is served as `/actimpl/*` (see proto-docs).
        .read("/action/impl/list", GET_POST, impl_list)
        .write("/action/impl/create", POST, impl_create)
        .write("/action/impl/update/{id}", POST, impl_update)
        .write("/action/impl/delete/{id}", POST, impl_delete)
        .read("/action/impl/{id}", GET_POST, impl_get)
        .read("/action/{id}", GET_POST, action_get)
        .read("/actimpl/list", GET_POST, impl_list)
        .write("/actimpl/create", POST, impl_create)
        .write("/actimpl/update/{id}", POST, impl_update)
        .write("/actimpl/delete/{id}", POST, impl_delete)
        .read("/actimpl/{id}", GET_POST, impl_get)
        .read("/remote_step/list", GET_POST, step_list)
        .write("/remote_step/create", POST, step_create)
        .write("/remote_step/update/{id}", POST, step_update)
        .write("/remote_step/delete/{id}", POST, step_delete)
        .read("/remote_step/{id}", GET_POST, step_get)
        .read("/task_tpl/list", GET_POST, template_list)
        .write("/task_tpl/create", POST, template_create)
        .write("/task_tpl/update/{id}", POST, template_update)
        .write("/task_tpl/delete/{id}", POST, template_delete)
        .read("/task_tpl/{id}", GET_POST, template_get)
        .read("/task/impl/list", GET_POST, template_list)
        .write("/task/impl/create", POST_GET, template_create)
        .write("/task/impl/delete", POST, task_impl_delete)
        .write("/task/impl/delete/{id}", POST, template_delete)
        .read("/task_step/list", GET_POST, task_step_list)
        // Running tasks; then the seed routes the orchestrator serves, said plainly rather
        // than read as ids.
        .write("/task/start", POST, task_start)
        .write("/task/start/{id}", POST, task_start_path)
        .write("/task/stop", POST, task_stop)
        .write("/task/stop/{id}", POST, task_stop_path)
        .write("/task/pause", POST, task_pause)
        .write("/task/pause/{id}", POST, task_pause_path)
        .read("/task/saveTask", GET_POST, orchestrator_route)
        .read("/task/expandList/{id}", GET_POST, orchestrator_route)
        .read("/task/uploadList/{id}", GET_POST, orchestrator_route)
        .read("/task/list", GET_POST, task_list)
        .write("/task/create", POST, task_create)
        .read("/task/flow/{id}/log", GET_POST, task_log)
        .read("/task/node/{id}/log", GET_POST, node_log)
        .read("/task/{id}/log", GET_POST, task_log)
        .read("/task/{id}/detail", GET_POST, task_detail)
        .read("/task/{id}", GET_POST, task_get)
        .read("/openapi.json", GET, openapi::spec)
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

async fn task_create(db: Data, engine: Engine, mut p: Params) -> Result<HttpResponse, Error> {
    ignore_id(&mut p)?;
    let template_id = p.take_int::<i64>("template_id")?;
    let task_name = p.take_str("task_name")?;
    let pool_name = p.take_str("pool_name")?;
    let opr_user = p.take_str("opr_user")?;
    let max_num = p.take_int::<i64>("max_num")?;
    let max_ratio = p.take_int::<i64>("max_ratio")?;
    let timeout = p.take_int::<i64>("timeout")?;
    let auto = p.take_bool("auto")?;
    let notify_url = p.take_str("notify_url")?;
    let rest: TaskJson = p.into_struct()?;
    let input = NewTask {
        template_id,
        task_name,
        pool_name,
        opr_user,
        nodes: rest.nodes,
        params: rest.params,
        max_num,
        max_ratio,
        timeout,
        auto,
        notify_url,
    };
    let id = flows::create_task(&db, engine.event_targets(), input).await?;
    // `auto` (the seed's 自动, "automatic"): the task starts as soon as it is created.
    if auto == Some(true) {
        engine.start(id, "auto at creation").await?;
    }
    Ok(success(id))
}

/// `/task/start` with the seed's `{"id": 1}` in the body (or the query string).
async fn task_start(engine: Engine, mut p: Params) -> Result<HttpResponse, Error> {
    let id = p
        .take_str("id")?
        .ok_or_else(|| Error::BadArgument("missing parameter `id`".into()))?;
    p.finish()?;
    engine.start(parse_id(&id)?, "a start request").await?;
    Ok(done())
}

/// `/task/stop` with `{"id": 1}` in the body (or the query string).
async fn task_stop(engine: Engine, mut p: Params) -> Result<HttpResponse, Error> {
    let id = p
        .take_str("id")?
        .ok_or_else(|| Error::BadArgument("missing parameter `id`".into()))?;
    p.finish()?;
    engine.stop(parse_id(&id)?, "a stop request").await?;
    Ok(done())
}

/// `/task/pause` with `{"id": 1}` in the body (or the query string).
async fn task_pause(engine: Engine, mut p: Params) -> Result<HttpResponse, Error> {
    let id = p
        .take_str("id")?
        .ok_or_else(|| Error::BadArgument("missing parameter `id`".into()))?;
    p.finish()?;
    engine.pause(parse_id(&id)?, "a pause request").await?;
    Ok(done())
}

async fn task_pause_path(engine: Engine, id: web::Path<String>) -> Result<HttpResponse, Error> {
    engine.pause(parse_id(&id)?, "a pause request").await?;
    Ok(done())
}

async fn task_stop_path(engine: Engine, id: web::Path<String>) -> Result<HttpResponse, Error> {
    engine.stop(parse_id(&id)?, "a stop request").await?;
    Ok(done())
}

async fn task_start_path(engine: Engine, id: web::Path<String>) -> Result<HttpResponse, Error> {
    engine.start(parse_id(&id)?, "a start request").await?;
    Ok(done())
}

async fn task_list(db: Data, p: Params) -> Result<HttpResponse, Error> {
    let page = list_page(p)?;
    let (rows, total) = flows::list_tasks(&db, page).await?;
    Ok(listed(page, rows, total))
}

async fn task_get(db: Data, id: web::Path<String>) -> Result<HttpResponse, Error> {
    Ok(success(flows::get_task(&db, parse_id(&id)?).await?))
}

async fn task_detail(db: Data, id: web::Path<String>) -> Result<HttpResponse, Error> {
    Ok(success(flows::task_nodes(&db, parse_id(&id)?).await?))
}

async fn task_log(db: Data, id: web::Path<String>) -> Result<HttpResponse, Error> {
    Ok(success(flows::task_log(&db, parse_id(&id)?).await?))
}

async fn node_log(db: Data, id: web::Path<String>) -> Result<HttpResponse, Error> {
    Ok(success(flows::node_log(&db, parse_id(&id)?).await?))
}

#[cfg(test)]
mod tests {
    kit::route_docs_test!("task-engine.md");
}
