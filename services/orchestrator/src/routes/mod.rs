//! HTTP <-> domain. The route table says which methods each route answers; every route reads
//! its parameters from the query string, a form or a JSON body. Ids in paths must be positive
//! integers.

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use kit::db::Db;
use kit::params::DEFAULT_PAGE_SIZE;
use kit::routes::{Refusal, RouteTable, GET, GET_POST, POST, POST_DELETE};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use wire::orchestrator::{
    Cluster, Created, ListReply, Pool, Reply, Service, NODE_FAILED, NODE_MANUAL, NODE_SUCCESS,
};

use crate::domain::{self, MAX_DESC, MAX_TEXT};
use crate::error::Error;
use crate::store;

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
    let table = RouteTable::new(envelope)
        .read("/cluster/list", GET_POST, cluster_list)
        .write("/cluster/create", POST, cluster_create)
        .write("/cluster/update/{id}", POST, cluster_update)
        .write("/cluster/delete/{id}", POST_DELETE, cluster_delete)
        .read("/cluster/{id}/list_services", GET_POST, cluster_services)
        .read("/cluster/{id}", GET_POST, cluster_get)
        .write("/service/create", POST_GET, service_create)
        .write("/service/delete/{id}", POST_DELETE, service_delete)
        .read("/service/{id}/list_pools", GET_POST, service_pools)
        .read("/service/{id}", GET_POST, service_get)
        .read("/sd/list", GET_POST, flows::sd_list)
        .write("/sd/create", POST, flows::sd_create)
        .write("/sd/update/{id}", POST, flows::sd_update)
        .write("/sd/delete/{id}", POST_DELETE, flows::sd_delete)
        .write("/pool/expand/{id}", POST, flows::expand)
        .write("/pool/shrink/{id}", POST, flows::shrink)
        .write("/pool/deploy/{id}", POST, flows::deploy)
        .write("/pool/create", POST, pool_create)
        .write("/pool/delete/{id}", POST_DELETE, pool_delete)
        .write("/pool/update/{id}", POST_DELETE, pool_update)
        .read("/pool/search_by_ip/{iplist}", GET_POST, search_by_ip)
        .read("/pool/{id}/list_nodes", GET_POST, pool_nodes)
        .write("/pool/{id}/add_nodes", POST_GET, add_nodes)
        .write("/pool/{id}/remove_nodes", POST_DELETE, remove_nodes)
        .read("/pool/{id}", GET_POST, pool_get)
        .write("/internal/task_event", POST, flows::task_event)
        .read("/internal/scheduler", GET_POST, flows::scheduler_status)
        // The schedules are the orchestrator's own: before the forwarded `/task/*`.
        .write("/task/saveTask", POST, flows::save_task)
        .read("/task/expandList/{id}", GET_POST, flows::expand_list)
        .read("/task/uploadList/{id}", GET_POST, flows::upload_list)
        .read("/openapi.json", GET, openapi::spec);
    forward::paths()
        .into_iter()
        .fold(table, |table, path| table.forward(path, forward::forward))
}

/// A write the seed shows with GET as well as POST.
const POST_GET: &[Method] = &[Method::POST, Method::GET];

/// The kit's refusals (404, 405, limits) in the orchestration envelope.
fn envelope(refusal: &Refusal) -> HttpResponse {
    kit::status_error::envelope(refusal.status(), &refusal.to_string())
}

fn success<T: Serialize>(data: T) -> HttpResponse {
    HttpResponse::Ok().json(Reply {
        code: 0,
        msg: "success".to_string(),
        data: Some(data),
    })
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

fn listed<T: Serialize>(page: kit::Page, (data, query_count): (Vec<T>, i64)) -> HttpResponse {
    HttpResponse::Ok().json(ListReply {
        code: 0,
        msg: "success".to_string(),
        data,
        page: page.page,
        page_size: page.page_size,
        query_count: u64::try_from(query_count).unwrap_or(0),
    })
}

/// The `{id}` of the path: a positive integer.
fn path_id(req: &HttpRequest) -> Result<i64, Error> {
    let text = req.match_info().get("id").unwrap_or_default();
    match text.trim().parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(Error::BadArgument(format!(
            "invalid id `{text}`: must be a positive integer"
        ))),
    }
}

/// Drops an `id` parameter repeating the path's (clients send it), refusing a different one.
fn same_id(params: &mut Params, id: i64) -> Result<(), Error> {
    if let Some(given) = params.take_int::<i64>("id")? {
        if given != id {
            return Err(Error::BadArgument(format!(
                "parameter `id` ({given}) differs from the id in the path ({id})"
            )));
        }
    }
    Ok(())
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

fn missing(what: &str, id: i64) -> Error {
    Error::NotFound(format!("{what} {id} not found"))
}

// ---- clusters ----

async fn cluster_list(db: Data, mut params: Params) -> Result<HttpResponse, Error> {
    let page = params.take_page(DEFAULT_PAGE_SIZE)?;
    params.finish()?;
    let found = db
        .read(move |c| store::clusters_page(c, page).map_err(Error::from))
        .await?;
    Ok(listed(page, found))
}

async fn cluster_create(db: Data, mut params: Params) -> Result<HttpResponse, Error> {
    let name = req_text(&mut params, "name", MAX_TEXT)?;
    let desc = opt_text(&mut params, "desc", MAX_DESC)?.unwrap_or_default();
    let biz = opt_text(&mut params, "biz", MAX_TEXT)?.unwrap_or_default();
    params.finish()?;
    let id = db
        .write(move |c| store::insert_cluster(c, &name, &desc, &biz).map_err(Error::from))
        .await?;
    Ok(success(id))
}

async fn cluster_update(
    req: HttpRequest,
    db: Data,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    let name = opt_text(&mut params, "name", MAX_TEXT)?;
    if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(Error::BadArgument(
            "invalid parameter `name`: must not be blank".into(),
        ));
    }
    let desc = opt_text(&mut params, "desc", MAX_DESC)?;
    let biz = opt_text(&mut params, "biz", MAX_TEXT)?;
    params.finish()?;
    db.write(move |c| {
        let mut cluster: Cluster = store::cluster(c, id)?.ok_or_else(|| missing("cluster", id))?;
        if let Some(name) = name {
            cluster.name = name;
        }
        if let Some(desc) = desc {
            cluster.desc = desc;
        }
        if let Some(biz) = biz {
            cluster.biz = biz;
        }
        store::update_cluster(c, &cluster)?;
        Ok::<_, Error>(())
    })
    .await?;
    Ok(success(""))
}

async fn cluster_delete(
    req: HttpRequest,
    db: Data,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    params.finish()?;
    db.write(move |c| {
        store::cluster(c, id)?.ok_or_else(|| missing("cluster", id))?;
        let services = store::count_services(c, id)?;
        if services > 0 {
            return Err(Error::Conflict(format!(
                "cluster {id} still has {services} service(s): delete them first"
            )));
        }
        store::delete_cluster(c, id)?;
        Ok(())
    })
    .await?;
    Ok(success(""))
}

async fn cluster_get(
    req: HttpRequest,
    db: Data,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    params.finish()?;
    let cluster = db
        .read(move |c| store::cluster(c, id)?.ok_or_else(|| missing("cluster", id)))
        .await?;
    Ok(success(cluster))
}

async fn cluster_services(
    req: HttpRequest,
    db: Data,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    let page = params.take_page(DEFAULT_PAGE_SIZE)?;
    params.finish()?;
    let found = db
        .read(move |c| {
            store::cluster(c, id)?.ok_or_else(|| missing("cluster", id))?;
            store::services_page(c, id, page).map_err(Error::from)
        })
        .await?;
    Ok(listed(page, found))
}

// ---- services ----

async fn service_create(db: Data, mut params: Params) -> Result<HttpResponse, Error> {
    let name = req_text(&mut params, "name", MAX_TEXT)?;
    let desc = opt_text(&mut params, "desc", MAX_DESC)?.unwrap_or_default();
    let service_type = opt_text(&mut params, "service_type", MAX_TEXT)?.unwrap_or_default();
    let docker_image = req_text(&mut params, "docker_image", MAX_TEXT)?;
    let cluster_id = domain::positive("cluster_id", req_int(&mut params, "cluster_id")?)?;
    params.finish()?;
    let service = Service {
        id: 0,
        name,
        desc,
        service_type,
        docker_image,
        cluster_id,
    };
    let id = db
        .write(move |c| {
            if store::cluster(c, cluster_id)?.is_none() {
                return Err(Error::BadArgument(format!(
                    "invalid parameter `cluster_id`: cluster {cluster_id} does not exist"
                )));
            }
            store::insert_service(c, &service).map_err(Error::from)
        })
        .await?;
    Ok(success(Created { id }))
}

async fn service_delete(
    req: HttpRequest,
    db: Data,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    params.finish()?;
    db.write(move |c| {
        store::service(c, id)?.ok_or_else(|| missing("service", id))?;
        let pools = store::count_pools(c, id)?;
        if pools > 0 {
            return Err(Error::Conflict(format!(
                "service {id} still has {pools} pool(s): delete them first"
            )));
        }
        store::delete_service(c, id)?;
        Ok(())
    })
    .await?;
    Ok(success(empty_object()))
}

async fn service_get(
    req: HttpRequest,
    db: Data,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    params.finish()?;
    let service = db
        .read(move |c| store::service(c, id)?.ok_or_else(|| missing("service", id)))
        .await?;
    Ok(success(service))
}

async fn service_pools(
    req: HttpRequest,
    db: Data,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    let page = params.take_page(DEFAULT_PAGE_SIZE)?;
    params.finish()?;
    let found = db
        .read(move |c| {
            store::service(c, id)?.ok_or_else(|| missing("service", id))?;
            store::pools_page(c, id, page).map_err(Error::from)
        })
        .await?;
    Ok(listed(page, found))
}

// ---- pools ----

const TEMPLATE_KEYS: [&str; 3] = ["expand_tpl", "shrink_tpl", "deploy_tpl"];

async fn pool_create(db: Data, mut params: Params) -> Result<HttpResponse, Error> {
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
    let id = db
        .write(move |c| {
            if store::service(c, service_id)?.is_none() {
                return Err(Error::BadArgument(format!(
                    "invalid parameter `service_id`: service {service_id} does not exist"
                )));
            }
            store::insert_pool(c, &pool).map_err(Error::from)
        })
        .await?;
    Ok(success(Created { id }))
}

async fn pool_update(
    req: HttpRequest,
    db: Data,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    let name = opt_text(&mut params, "name", MAX_TEXT)?;
    if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(Error::BadArgument(
            "invalid parameter `name`: must not be blank".into(),
        ));
    }
    let desc = opt_text(&mut params, "desc", MAX_DESC)?;
    let vm_type = params
        .take_int::<i64>("vm_type")?
        .map(|v| domain::non_negative("vm_type", v))
        .transpose()?;
    let sd_id = params
        .take_int::<i64>("sd_id")?
        .map(|v| domain::non_negative("sd_id", v))
        .transpose()?;
    let mut templates: [Option<i64>; 3] = [None; 3];
    for (slot, key) in templates.iter_mut().zip(TEMPLATE_KEYS) {
        *slot = params
            .take_int::<i64>(key)?
            .map(|v| domain::non_negative(key, v))
            .transpose()?;
    }
    params.finish()?;
    db.write(move |c| {
        let mut pool = store::pool(c, id)?.ok_or_else(|| missing("pool", id))?;
        if let Some(v) = name {
            pool.name = v;
        }
        if let Some(v) = desc {
            pool.desc = v;
        }
        if let Some(v) = vm_type {
            pool.vm_type = v;
        }
        if let Some(v) = sd_id {
            pool.sd_id = v;
        }
        if let Some(v) = templates[0] {
            pool.expand_tpl = v;
        }
        if let Some(v) = templates[1] {
            pool.shrink_tpl = v;
        }
        if let Some(v) = templates[2] {
            pool.deploy_tpl = v;
        }
        store::update_pool(c, &pool)?;
        Ok::<_, Error>(())
    })
    .await?;
    Ok(success(empty_object()))
}

async fn pool_delete(
    req: HttpRequest,
    db: Data,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    params.finish()?;
    db.write(move |c| {
        store::pool(c, id)?.ok_or_else(|| missing("pool", id))?;
        let nodes = store::count_nodes(c, id)?;
        if nodes > 0 {
            return Err(Error::Conflict(format!(
                "pool {id} still has {nodes} node(s): remove them first"
            )));
        }
        let schedules = store::schedules::count_schedules(c, id)?;
        if schedules > 0 {
            return Err(Error::Conflict(format!(
                "pool {id} still has {schedules} schedule(s)"
            )));
        }
        store::delete_pool(c, id)?;
        Ok(())
    })
    .await?;
    Ok(success(empty_object()))
}

async fn pool_get(req: HttpRequest, db: Data, mut params: Params) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    params.finish()?;
    let pool = db
        .read(move |c| store::pool(c, id)?.ok_or_else(|| missing("pool", id)))
        .await?;
    Ok(success(pool))
}

async fn pool_nodes(req: HttpRequest, db: Data, mut params: Params) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    let page = params.take_page(DEFAULT_PAGE_SIZE)?;
    params.finish()?;
    let found = db
        .read(move |c| {
            if store::count_pools_with_id(c, id)? == 0 {
                return Err(missing("pool", id));
            }
            store::nodes_page(c, id, page).map_err(Error::from)
        })
        .await?;
    Ok(listed(page, found))
}

/// What `add_nodes` and `remove_nodes` take besides the path.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodesParams {
    nodes: Option<Value>,
}

fn node_ips(req: &HttpRequest, mut params: Params) -> Result<(i64, Vec<String>), Error> {
    let id = path_id(req)?;
    same_id(&mut params, id)?;
    let given: NodesParams = params.into_struct()?;
    Ok((id, domain::ip_list("nodes", given.nodes)?))
}

async fn add_nodes(req: HttpRequest, db: Data, params: Params) -> Result<HttpResponse, Error> {
    let (id, ips) = node_ips(&req, params)?;
    let ids = db
        .write(move |c| {
            if store::count_pools_with_id(c, id)? == 0 {
                return Err(missing("pool", id));
            }
            if let Some((ip, pool)) = store::pools_of_ips(c, &ips)?.into_iter().next() {
                return Err(Error::Conflict(format!(
                    "IP {ip} is already in pool {pool}; nothing was added"
                )));
            }
            ips.iter()
                .map(|ip| {
                    store::insert_node(c, id, ip, NODE_SUCCESS, NODE_MANUAL).map_err(Error::from)
                })
                .collect::<Result<Vec<i64>, Error>>()
        })
        .await?;
    Ok(success(ids))
}

async fn remove_nodes(req: HttpRequest, db: Data, params: Params) -> Result<HttpResponse, Error> {
    let (id, ips) = node_ips(&req, params)?;
    db.write(move |c| {
        if store::count_pools_with_id(c, id)? == 0 {
            return Err(missing("pool", id));
        }
        let here: Vec<String> = store::pools_of_ips(c, &ips)?
            .into_iter()
            .filter(|(_, pool)| *pool == id)
            .map(|(ip, _)| ip)
            .collect();
        if let Some(absent) = ips.iter().find(|ip| !here.contains(ip)) {
            return Err(Error::NotFound(format!(
                "IP {absent} is not in pool {id}; nothing was removed"
            )));
        }
        // A node a task is acting on leaves through that task (or after it), not by hand.
        let busy = store::flows::pool_nodes(c, id)?
            .into_iter()
            .find(|n| ips.contains(&n.ip) && n.status != NODE_SUCCESS && n.status != NODE_FAILED);
        if let Some(n) = busy {
            return Err(Error::Conflict(format!(
                "node {} ({}) is {} with task {}: nothing was removed",
                n.ip, n.id, n.state, n.task_id
            )));
        }
        store::delete_nodes(c, id, &ips)?;
        Ok(())
    })
    .await?;
    Ok(success(empty_object()))
}

async fn search_by_ip(req: HttpRequest, db: Data, params: Params) -> Result<HttpResponse, Error> {
    let list = req
        .match_info()
        .get("iplist")
        .unwrap_or_default()
        .to_string();
    params.finish()?;
    let ips = domain::ip_list("iplist", Some(Value::String(list)))?;
    let found = db
        .read(move |c| store::pools_of_ips(c, &ips).map_err(Error::from))
        .await?;
    let map: Map<String, Value> = found
        .into_iter()
        .map(|(ip, pool)| (ip, json!(pool)))
        .collect();
    Ok(success(Value::Object(map)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn proto_docs_list_every_route_with_its_methods() {
        let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../proto-docs/orchestrator.md");
        if let Err(problem) = super::table().check_doc(&doc) {
            panic!("{problem}");
        }
    }
}
