//! HTTP <-> domain. The route table says which methods each route answers; every route reads
//! its parameters from the query string, a form or a JSON body. Ids in paths must be positive
//! integers.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use kit::db::Db;
use kit::params::DEFAULT_PAGE_SIZE;
use kit::routes::{RouteTable, GET, GET_POST, POST, POST_DELETE};
use kit::seed_reply::{listed, refused, success};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use wire::orchestrator::{Created, Pool, Service};

use crate::domain::{self, MAX_DESC, MAX_TEXT};
use crate::error::Error;
use crate::inventory::clusters::{self, ClusterChange, CLUSTERS};
use crate::inventory::nodes;
use crate::inventory::pools::{self, PoolChange, POOLS};
use crate::inventory::scope;
use crate::inventory::services::{self, SERVICES};
use kit::access::{Access, Caller};
use kit::auth::Role;

mod flows;
pub mod forward;
mod openapi;

type Params = kit::Params<Error>;
type Data = web::Data<Db>;

/// Every route of the orchestrator. Reads answer GET and POST (the seed's examples use both);
/// writes answer POST, plus DELETE where the seed's table or example says DELETE, plus GET
/// only where the seed's own example of that route uses GET (`service/create`,
/// `pool/{id}/add_nodes`; see proto-docs/orchestrator.md). Fixed paths come before `{id}`
/// ones, so `list` is never read as an id.
pub fn table() -> RouteTable {
    let table = RouteTable::new(refused)
        .read("/cluster/list", GET_POST, cluster_list)
        .allow(READ)
        .write("/cluster/create", POST, cluster_create)
        .allow(ADMIN)
        .write("/cluster/update/{id}", POST, cluster_update)
        .allow(ADMIN)
        .write("/cluster/delete/{id}", POST_DELETE, cluster_delete)
        .allow(ADMIN)
        .read("/cluster/{id}/list_services", GET_POST, cluster_services)
        .allow(READ)
        .read("/cluster/{id}", GET_POST, cluster_get)
        .allow(READ)
        .write("/service/create", POST_GET, service_create)
        .allow(OPERATE)
        .write("/service/delete/{id}", POST_DELETE, service_delete)
        .allow(OPERATE)
        .read("/service/{id}/list_pools", GET_POST, service_pools)
        .allow(READ)
        .read("/service/{id}", GET_POST, service_get)
        .allow(READ)
        .read("/sd/list", GET_POST, flows::sd_list)
        .allow(Access::Role(Role::Viewer))
        .write("/sd/create", POST, flows::sd_create)
        .allow(Access::Role(Role::Operator))
        .write("/sd/update/{id}", POST, flows::sd_update)
        .allow(Access::Role(Role::Operator))
        .write("/sd/delete/{id}", POST_DELETE, flows::sd_delete)
        .allow(Access::Role(Role::Operator))
        .write("/pool/expand/{id}", POST, flows::expand)
        .allow(OPERATE)
        .write("/pool/shrink/{id}", POST, flows::shrink)
        .allow(OPERATE)
        .write("/pool/deploy/{id}", POST, flows::deploy)
        .allow(OPERATE)
        .write("/pool/create", POST, pool_create)
        .allow(OPERATE)
        .write("/pool/delete/{id}", POST_DELETE, pool_delete)
        .allow(OPERATE)
        .write("/pool/update/{id}", POST_DELETE, pool_update)
        .allow(OPERATE)
        .read("/pool/search_by_ip/{iplist}", GET_POST, search_by_ip)
        .allow(READ)
        .read("/pool/{id}/list_nodes", GET_POST, pool_nodes)
        .allow(READ)
        .write("/pool/{id}/add_nodes", POST_GET, add_nodes)
        .allow(OPERATE)
        .write("/pool/{id}/remove_nodes", POST_DELETE, remove_nodes)
        .allow(OPERATE)
        .read("/pool/{id}", GET_POST, pool_get)
        .allow(READ)
        // The task-engine posts its task events as its own identity.
        .write("/internal/task_event", POST, flows::task_event)
        .allow(Access::Role(Role::Service))
        .read("/internal/scheduler", GET_POST, flows::scheduler_status)
        .allow(Access::Role(Role::Viewer))
        // The schedules are the orchestrator's own: before the forwarded `/task/*`.
        .write("/task/saveTask", POST, flows::save_task)
        .allow(OPERATE)
        .read("/task/expandList/{id}", GET_POST, flows::expand_list)
        .allow(READ)
        .read("/task/uploadList/{id}", GET_POST, flows::upload_list)
        .allow(READ)
        // Every write of this service, by actor, time and request id (kit::audit).
        .read("/audit/list", GET_POST, kit::audit::seed_list)
        .allow(Access::Role(Role::Viewer))
        .read("/openapi.json", GET, openapi::spec)
        .allow(Access::Public);
    // The task-engine decides on the caller, whose token the orchestrator relays.
    forward::paths().into_iter().fold(table, |table, path| {
        table
            .forward(path, forward::forward)
            .allow(Access::Authenticated)
    })
}

// Who may call what (issue #13; see proto-docs/orchestrator.md, "Identity").

/// Reads: viewers, platform-wide or of the cluster the record belongs to (lists of a scoped
/// viewer show its clusters only).
const READ: Access = Access::Scoped(Role::Viewer);
/// Changes of services, pools, nodes and schedules, and the flows: operators, platform-wide
/// or of the cluster the service or pool belongs to.
const OPERATE: Access = Access::Scoped(Role::Operator);
/// Clusters themselves: admins.
const ADMIN: Access = Access::Role(Role::Admin);

/// `caller` holds `role` on `cluster` (or platform-wide); a record that does not exist
/// (`None`) passes, for the handler to answer its own 404.
fn require_on(caller: &Caller, role: Role, cluster: Option<i64>) -> Result<(), Error> {
    match cluster {
        Some(cluster) => Ok(caller.require_on(role, cluster)?),
        None => Ok(()),
    }
}

/// `caller` holds `role` on the cluster of service `id`.
async fn require_on_service(db: &Db, caller: &Caller, role: Role, id: i64) -> Result<(), Error> {
    require_on(caller, role, scope::of_service(db, id).await?)
}

/// `caller` holds `role` on the cluster of pool `id`.
pub(crate) async fn require_on_pool(
    db: &Db,
    caller: &Caller,
    role: Role,
    id: i64,
) -> Result<(), Error> {
    require_on(caller, role, scope::of_pool(db, id).await?)
}

/// A write the seed shows with GET as well as POST.
const POST_GET: &[Method] = &[Method::POST, Method::GET];

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// The `{id}` of the path, a positive integer. An `id` parameter repeating it (clients send
/// one) is dropped; a different one is refused.
fn path_id(req: &HttpRequest, params: &mut Params) -> Result<i64, Error> {
    let id = kit::seed_reply::path_id(req, "id")?;
    if let Some(given) = params.take_int::<i64>("id")? {
        if given != id {
            return Err(Error::BadArgument(format!(
                "parameter `id` ({given}) differs from the id in the path ({id})"
            )));
        }
    }
    Ok(id)
}

/// The path's id, for a route that takes no other parameter.
struct OnlyId(i64);

impl FromRequest for OnlyId {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let params = Params::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let mut params = params.await?;
            let id = path_id(&req, &mut params)?;
            params.finish()?;
            Ok(OnlyId(id))
        })
    }
}

/// The path's id and the page, for the lists under one record.
fn id_and_page(req: &HttpRequest, mut params: Params) -> Result<(i64, kit::Page), Error> {
    let id = path_id(req, &mut params)?;
    let page = params.take_page(DEFAULT_PAGE_SIZE)?;
    params.finish()?;
    Ok((id, page))
}

/// The page, for a list of records under nothing.
fn only_page(mut params: Params) -> Result<kit::Page, Error> {
    let page = params.take_page(DEFAULT_PAGE_SIZE)?;
    params.finish()?;
    Ok(page)
}

fn opt_text(params: &mut Params, name: &str, max: usize) -> Result<Option<String>, Error> {
    params
        .take_str(name)?
        .map(|v| domain::text(name, v, max))
        .transpose()
}

fn req_text(params: &mut Params, name: &str, max: usize) -> Result<String, Error> {
    let value = params.require_str(name)?;
    domain::text(name, value, max)
}

fn req_int(params: &mut Params, name: &str) -> Result<i64, Error> {
    params
        .take_int::<i64>(name)?
        .ok_or_else(|| Error::BadArgument(format!("missing parameter `{name}`")))
}

/// A new `name` for an update: absent, or not blank.
fn new_name(params: &mut Params) -> Result<Option<String>, Error> {
    let name = opt_text(params, "name", MAX_TEXT)?;
    if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(Error::BadArgument(
            "invalid parameter `name`: must not be blank".into(),
        ));
    }
    Ok(name)
}

// ---- clusters ----

/// The clusters; a caller holding the viewer role on some clusters only sees those.
async fn cluster_list(db: Data, caller: Caller, params: Params) -> Result<HttpResponse, Error> {
    let page = only_page(params)?;
    let (rows, total) = clusters::list(&db, page, caller.clusters(Role::Viewer)).await?;
    Ok(listed(page, rows, total))
}

async fn cluster_create(db: Data, mut params: Params) -> Result<HttpResponse, Error> {
    let name = req_text(&mut params, "name", MAX_TEXT)?;
    let desc = opt_text(&mut params, "desc", MAX_DESC)?.unwrap_or_default();
    let biz = opt_text(&mut params, "biz", MAX_TEXT)?.unwrap_or_default();
    params.finish()?;
    Ok(success(clusters::create(&db, name, desc, biz).await?))
}

async fn cluster_update(
    req: HttpRequest,
    db: Data,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req, &mut params)?;
    let change = ClusterChange {
        name: new_name(&mut params)?,
        desc: opt_text(&mut params, "desc", MAX_DESC)?,
        biz: opt_text(&mut params, "biz", MAX_TEXT)?,
    };
    params.finish()?;
    clusters::update(&db, id, change).await?;
    Ok(success(""))
}

async fn cluster_delete(db: Data, OnlyId(id): OnlyId) -> Result<HttpResponse, Error> {
    CLUSTERS.delete(&db, id).await?;
    Ok(success(""))
}

async fn cluster_get(db: Data, caller: Caller, OnlyId(id): OnlyId) -> Result<HttpResponse, Error> {
    caller.require_on(Role::Viewer, id)?;
    Ok(success(CLUSTERS.get(&db, id).await?))
}

async fn cluster_services(
    req: HttpRequest,
    db: Data,
    caller: Caller,
    params: Params,
) -> Result<HttpResponse, Error> {
    let (id, page) = id_and_page(&req, params)?;
    caller.require_on(Role::Viewer, id)?;
    let (rows, total) = services::of_cluster(&db, id, page).await?;
    Ok(listed(page, rows, total))
}

// ---- services ----

async fn service_create(
    db: Data,
    caller: Caller,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let name = req_text(&mut params, "name", MAX_TEXT)?;
    let desc = opt_text(&mut params, "desc", MAX_DESC)?.unwrap_or_default();
    let service_type = opt_text(&mut params, "service_type", MAX_TEXT)?.unwrap_or_default();
    let docker_image = req_text(&mut params, "docker_image", MAX_TEXT)?;
    let cluster_id = domain::positive("cluster_id", req_int(&mut params, "cluster_id")?)?;
    params.finish()?;
    caller.require_on(Role::Operator, cluster_id)?;
    let service = Service {
        id: 0,
        name,
        desc,
        service_type,
        docker_image,
        cluster_id,
    };
    let id = services::create(&db, service).await?;
    Ok(success(Created { id }))
}

async fn service_delete(
    db: Data,
    caller: Caller,
    OnlyId(id): OnlyId,
) -> Result<HttpResponse, Error> {
    require_on_service(&db, &caller, Role::Operator, id).await?;
    SERVICES.delete(&db, id).await?;
    Ok(success(empty_object()))
}

async fn service_get(db: Data, caller: Caller, OnlyId(id): OnlyId) -> Result<HttpResponse, Error> {
    require_on_service(&db, &caller, Role::Viewer, id).await?;
    Ok(success(SERVICES.get(&db, id).await?))
}

async fn service_pools(
    req: HttpRequest,
    db: Data,
    caller: Caller,
    params: Params,
) -> Result<HttpResponse, Error> {
    let (id, page) = id_and_page(&req, params)?;
    require_on_service(&db, &caller, Role::Viewer, id).await?;
    let (rows, total) = services::pools(&db, id, page).await?;
    Ok(listed(page, rows, total))
}

// ---- pools ----

const TEMPLATE_KEYS: [&str; 3] = ["expand_tpl", "shrink_tpl", "deploy_tpl"];

async fn pool_create(db: Data, caller: Caller, mut params: Params) -> Result<HttpResponse, Error> {
    let name = req_text(&mut params, "name", MAX_TEXT)?;
    let desc = opt_text(&mut params, "desc", MAX_DESC)?.unwrap_or_default();
    let vm_type = domain::non_negative("vm_type", req_int(&mut params, "vm_type")?)?;
    let sd_id = domain::non_negative("sd_id", req_int(&mut params, "sd_id")?)?;
    let service_id = domain::positive("service_id", req_int(&mut params, "service_id")?)?;
    let mut templates = [0i64; 3];
    for (slot, key) in templates.iter_mut().zip(TEMPLATE_KEYS) {
        *slot = domain::non_negative(key, params.take_int::<i64>(key)?.unwrap_or(0))?;
    }
    params.finish()?;
    require_on_service(&db, &caller, Role::Operator, service_id).await?;
    let pool = Pool {
        id: 0,
        name,
        desc,
        vm_type,
        sd_id,
        service_id,
        expand_tpl: templates[0],
        shrink_tpl: templates[1],
        deploy_tpl: templates[2],
        node_count: 0,
    };
    let id = pools::create(&db, pool).await?;
    Ok(success(Created { id }))
}

/// An optional id-like parameter: absent, 0 or positive.
fn opt_non_negative(params: &mut Params, name: &str) -> Result<Option<i64>, Error> {
    params
        .take_int::<i64>(name)?
        .map(|v| domain::non_negative(name, v))
        .transpose()
}

async fn pool_update(
    req: HttpRequest,
    db: Data,
    caller: Caller,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req, &mut params)?;
    let name = new_name(&mut params)?;
    let desc = opt_text(&mut params, "desc", MAX_DESC)?;
    let vm_type = opt_non_negative(&mut params, "vm_type")?;
    let sd_id = opt_non_negative(&mut params, "sd_id")?;
    let mut templates: [Option<i64>; 3] = [None; 3];
    for (slot, key) in templates.iter_mut().zip(TEMPLATE_KEYS) {
        *slot = opt_non_negative(&mut params, key)?;
    }
    params.finish()?;
    require_on_pool(&db, &caller, Role::Operator, id).await?;
    let [expand_tpl, shrink_tpl, deploy_tpl] = templates;
    let change = PoolChange {
        name,
        desc,
        vm_type,
        sd_id,
        expand_tpl,
        shrink_tpl,
        deploy_tpl,
    };
    pools::update(&db, id, change).await?;
    Ok(success(empty_object()))
}

async fn pool_delete(db: Data, caller: Caller, OnlyId(id): OnlyId) -> Result<HttpResponse, Error> {
    require_on_pool(&db, &caller, Role::Operator, id).await?;
    POOLS.delete(&db, id).await?;
    Ok(success(empty_object()))
}

async fn pool_get(db: Data, caller: Caller, OnlyId(id): OnlyId) -> Result<HttpResponse, Error> {
    require_on_pool(&db, &caller, Role::Viewer, id).await?;
    Ok(success(POOLS.get(&db, id).await?))
}

async fn pool_nodes(
    req: HttpRequest,
    db: Data,
    caller: Caller,
    params: Params,
) -> Result<HttpResponse, Error> {
    let (id, page) = id_and_page(&req, params)?;
    require_on_pool(&db, &caller, Role::Viewer, id).await?;
    let (rows, total) = nodes::of_pool(&db, id, page).await?;
    Ok(listed(page, rows, total))
}

/// What `add_nodes` and `remove_nodes` take besides the path.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodesParams {
    nodes: Option<Value>,
}

fn node_ips(req: &HttpRequest, mut params: Params) -> Result<(i64, Vec<String>), Error> {
    let id = path_id(req, &mut params)?;
    let given: NodesParams = params.into_struct()?;
    Ok((id, domain::ip_list("nodes", given.nodes)?))
}

async fn add_nodes(
    req: HttpRequest,
    db: Data,
    caller: Caller,
    params: Params,
) -> Result<HttpResponse, Error> {
    let (id, ips) = node_ips(&req, params)?;
    require_on_pool(&db, &caller, Role::Operator, id).await?;
    Ok(success(nodes::add(&db, id, ips).await?))
}

async fn remove_nodes(
    req: HttpRequest,
    db: Data,
    caller: Caller,
    params: Params,
) -> Result<HttpResponse, Error> {
    let (id, ips) = node_ips(&req, params)?;
    require_on_pool(&db, &caller, Role::Operator, id).await?;
    nodes::remove(&db, id, ips).await?;
    Ok(success(empty_object()))
}

/// The pool of each IP; a caller holding the viewer role on some clusters only is told of
/// the pools of those clusters.
async fn search_by_ip(
    req: HttpRequest,
    db: Data,
    caller: Caller,
    params: Params,
) -> Result<HttpResponse, Error> {
    let list = req
        .match_info()
        .get("iplist")
        .unwrap_or_default()
        .to_string();
    params.finish()?;
    let ips = domain::ip_list("iplist", Some(Value::String(list)))?;
    let mut found = nodes::pools_of(&db, ips).await?;
    if let Some(visible) = caller.clusters(Role::Viewer) {
        let pools = found.iter().map(|(_, pool)| *pool).collect();
        let clusters = scope::of_pools(&db, pools).await?;
        found.retain(|(_, pool)| clusters.get(pool).is_some_and(|c| visible.contains(c)));
    }
    let map: Map<String, Value> = found
        .into_iter()
        .map(|(ip, pool)| (ip, json!(pool)))
        .collect();
    Ok(success(Value::Object(map)))
}

#[cfg(test)]
mod tests {
    kit::route_docs_test!("orchestrator.md");
}
