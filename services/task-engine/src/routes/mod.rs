//! HTTP <-> domain. Every route answers GET and POST (the seed's examples use both) and reads
//! its parameters from the query string, a form or a JSON body. Ids in paths must be positive
//! integers. JSON-valued fields (`params`, `steps`, `nodes`, ...) may also come as text holding
//! JSON, since forms carry only text.

use actix_web::{web, HttpRequest, HttpResponse};
use kit::db::Db;
use kit::params::DEFAULT_PAGE_SIZE;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wire::task_engine::{ListReply, Reply};

use crate::catalog::{self, ActionImplInput, ActionInput, Paged, RemoteStepInput, TemplateInput};
use crate::error::Error;
use crate::flows::{self, NewTask};

mod openapi;

type Params = kit::Params<Error>;
type Data = web::Data<Db>;
type Engine = web::Data<crate::engine::Engine>;

macro_rules! route {
    ($cfg:expr, $path:expr, $handler:path) => {
        $cfg.service(
            web::resource($path)
                .route(web::get().to($handler))
                .route(web::post().to($handler))
                .default_service(web::to(method_not_allowed)),
        )
    };
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Fixed paths before `{id}` ones, so `list` is never read as an id.
    route!(cfg, "/action/list", action_list);
    route!(cfg, "/action/create", action_create);
    route!(cfg, "/action/update/{id}", action_update);
    route!(cfg, "/action/delete/{id}", action_delete);
    // `/action/impl/*` is served as `/actimpl/*` (see proto-docs).
    route!(cfg, "/action/impl/list", impl_list);
    route!(cfg, "/action/impl/create", impl_create);
    route!(cfg, "/action/impl/update/{id}", impl_update);
    route!(cfg, "/action/impl/delete/{id}", impl_delete);
    route!(cfg, "/action/impl/{id}", impl_get);
    route!(cfg, "/action/{id}", action_get);

    route!(cfg, "/actimpl/list", impl_list);
    route!(cfg, "/actimpl/create", impl_create);
    route!(cfg, "/actimpl/update/{id}", impl_update);
    route!(cfg, "/actimpl/delete/{id}", impl_delete);
    route!(cfg, "/actimpl/{id}", impl_get);

    route!(cfg, "/remote_step/list", step_list);
    route!(cfg, "/remote_step/create", step_create);
    route!(cfg, "/remote_step/update/{id}", step_update);
    route!(cfg, "/remote_step/delete/{id}", step_delete);
    route!(cfg, "/remote_step/{id}", step_get);

    route!(cfg, "/task_tpl/list", template_list);
    route!(cfg, "/task_tpl/create", template_create);
    route!(cfg, "/task_tpl/update/{id}", template_update);
    route!(cfg, "/task_tpl/delete/{id}", template_delete);
    route!(cfg, "/task_tpl/{id}", template_get);
    route!(cfg, "/task/impl/list", template_list);
    route!(cfg, "/task/impl/create", template_create);
    route!(cfg, "/task/impl/delete", task_impl_delete);
    route!(cfg, "/task/impl/delete/{id}", template_delete);

    route!(cfg, "/task_step/list", task_step_list);

    // Running tasks; then the seed routes the orchestrator serves, said plainly rather than
    // read as ids.
    route!(cfg, "/task/start", task_start);
    route!(cfg, "/task/start/{id}", task_start_path);
    route!(cfg, "/task/stop", task_stop);
    route!(cfg, "/task/stop/{id}", task_stop_path);
    route!(cfg, "/task/pause", task_pause);
    route!(cfg, "/task/pause/{id}", task_pause_path);
    for path in [
        "/task/saveTask",
        "/task/expandList/{id}",
        "/task/uploadList/{id}",
    ] {
        route!(cfg, path, orchestrator_route);
    }
    route!(cfg, "/task/list", task_list);
    route!(cfg, "/task/create", task_create);
    route!(cfg, "/task/flow/{id}/log", task_log);
    route!(cfg, "/task/node/{id}/log", node_log);
    route!(cfg, "/task/{id}/log", task_log);
    route!(cfg, "/task/{id}/detail", task_detail);
    route!(cfg, "/task/{id}", task_get);
    cfg.route("/openapi.json", web::get().to(openapi::spec));
    cfg.default_service(web::to(not_found));
}

fn success<T: Serialize>(data: T) -> HttpResponse {
    HttpResponse::Ok().json(Reply {
        code: 0,
        msg: "success".to_string(),
        data: Some(data),
    })
}

fn done() -> HttpResponse {
    success(Value::Null)
}

fn listed<T: Serialize>(page: kit::Page, (data, query_count): Paged<T>) -> HttpResponse {
    HttpResponse::Ok().json(ListReply {
        code: 0,
        msg: "success".to_string(),
        data,
        page: page.page,
        page_size: page.page_size,
        query_count,
    })
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, Error> {
    Err(Error::NotFound(format!(
        "no such route: {} {}",
        req.method(),
        req.path()
    )))
}

async fn orchestrator_route(req: HttpRequest) -> Result<HttpResponse, Error> {
    Err(Error::NotFound(format!(
        "{} (scheduled expand / upload items) is served by the orchestrator, not the task-engine",
        req.path()
    )))
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    HttpResponse::MethodNotAllowed().json(Reply::<Value> {
        code: 405,
        msg: format!(
            "method {} not allowed on {}: use GET or POST",
            req.method(),
            req.path()
        ),
        data: Some(Value::Object(Map::new())),
    })
}

// ---- parameters ----

/// A path id: a positive integer.
fn parse_id(text: &str) -> Result<i64, Error> {
    match text.trim().parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(Error::BadArgument(format!(
            "invalid id `{text}`: must be a positive integer"
        ))),
    }
}

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
    Ok(listed(page, catalog::list_actions(&db, page).await?))
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
    Ok(listed(page, catalog::list_action_impls(&db, page).await?))
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
    Ok(listed(page, catalog::list_remote_steps(&db, page).await?))
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
    Ok(listed(page, catalog::list_templates(&db, page).await?))
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
    Ok(listed(page, catalog::list_task_steps(&db, page).await?))
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
    Ok(listed(page, flows::list_tasks(&db, page).await?))
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
