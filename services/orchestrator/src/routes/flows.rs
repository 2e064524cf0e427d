//! HTTP <-> domain for registry targets, expand / shrink / deploy, task events, schedules and
//! the scheduler's status.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use kit::params::DEFAULT_PAGE_SIZE;
use kit::RequestId;
use serde::Deserialize;
use serde_json::{Map, Value};
use wire::orchestrator::{Created, SchedulerStatus, SdTarget, Started};

use super::{empty_object, listed, path_id, req_text, same_id, success, Params};
use crate::domain::{self, MAX_TEXT};
use crate::error::Error;
use crate::flows::{Flows, Kind, Request, Targets, MAX_EXPAND, NODE_EXPANDED};
use crate::schedules::{self, Leadership, Save};
use crate::store;
use crate::store::flows as fstore;

type FlowsData = web::Data<Flows>;

// ---- registry targets ----

/// A zkidc or service name: what soa-registry accepts in a path segment.
fn sd_name(name: &str, value: String) -> Result<String, Error> {
    let value = domain::text(name, value, MAX_TEXT)?;
    if value.trim().is_empty() || value.contains('/') || value.chars().any(char::is_whitespace) {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{name}`: must be a non-empty name without `/` or spaces"
        )));
    }
    Ok(value)
}

fn sd_port(value: i64) -> Result<i32, Error> {
    if !(1..=65535).contains(&value) {
        return Err(Error::BadArgument(format!(
            "invalid parameter `port`: must be 1 to 65535, not {value}"
        )));
    }
    Ok(value as i32)
}

pub async fn sd_list(flows: FlowsData, mut params: Params) -> Result<HttpResponse, Error> {
    let page = params.take_page(DEFAULT_PAGE_SIZE)?;
    params.finish()?;
    let found = flows
        .db()
        .read(move |c| fstore::sd_page(c, page).map_err(Error::from))
        .await?;
    Ok(listed(page, found))
}

pub async fn sd_create(flows: FlowsData, mut params: Params) -> Result<HttpResponse, Error> {
    let zkidc = sd_name("zkidc", req_text(&mut params, "zkidc", MAX_TEXT)?)?;
    let service = sd_name("service", req_text(&mut params, "service", MAX_TEXT)?)?;
    let port = sd_port(
        params
            .take_int::<i64>("port")?
            .ok_or_else(|| Error::BadArgument("missing parameter `port`".into()))?,
    )?;
    params.finish()?;
    let target = SdTarget {
        id: 0,
        zkidc,
        service,
        port,
    };
    let id = flows
        .db()
        .write(move |c| fstore::insert_sd(c, &target).map_err(Error::from))
        .await?;
    Ok(success(Created { id }))
}

pub async fn sd_update(
    req: HttpRequest,
    flows: FlowsData,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    let zkidc = params
        .take_str("zkidc")?
        .map(|v| sd_name("zkidc", v))
        .transpose()?;
    let service = params
        .take_str("service")?
        .map(|v| sd_name("service", v))
        .transpose()?;
    let port = params.take_int::<i64>("port")?.map(sd_port).transpose()?;
    params.finish()?;
    flows
        .db()
        .write(move |c| {
            let mut target = fstore::sd_target(c, id)?
                .ok_or_else(|| Error::NotFound(format!("registry target {id} not found")))?;
            if let Some(v) = zkidc {
                target.zkidc = v;
            }
            if let Some(v) = service {
                target.service = v;
            }
            if let Some(v) = port {
                target.port = v;
            }
            fstore::update_sd(c, &target)?;
            Ok::<_, Error>(())
        })
        .await?;
    Ok(success(empty_object()))
}

pub async fn sd_delete(
    req: HttpRequest,
    flows: FlowsData,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    params.finish()?;
    flows
        .db()
        .write(move |c| {
            fstore::sd_target(c, id)?
                .ok_or_else(|| Error::NotFound(format!("registry target {id} not found")))?;
            let pools = fstore::pools_using_sd(c, id)?;
            if !pools.is_empty() {
                let list: Vec<String> = pools.iter().map(i64::to_string).collect();
                return Err(Error::Conflict(format!(
                    "registry target {id} is used by pool(s) {}: change their sd_id first",
                    list.join(", ")
                )));
            }
            fstore::delete_sd(c, id)?;
            Ok(())
        })
        .await?;
    Ok(success(empty_object()))
}

// ---- expand, shrink, deploy ----

/// What the flows take besides their own parameters: extra task `params` (an object).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Extra {
    #[serde(default)]
    params: Option<Value>,
    #[serde(default)]
    nodes: Option<Value>,
}

fn extra_params(value: Option<Value>) -> Result<Map<String, Value>, Error> {
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

fn started(fid: i64) -> HttpResponse {
    success(Started { task_id: fid })
}

pub async fn expand(
    req: HttpRequest,
    flows: FlowsData,
    request_id: RequestId,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    let num = params
        .take_int::<i64>("num")?
        .ok_or_else(|| Error::BadArgument("missing parameter `num`".into()))?;
    if !(1..=MAX_EXPAND).contains(&num) {
        return Err(Error::BadArgument(format!(
            "invalid parameter `num`: must be 1 to {MAX_EXPAND}, not {num}"
        )));
    }
    let extra: Extra = params.into_struct()?;
    if extra.nodes.is_some() {
        return Err(Error::BadArgument("unknown parameter `nodes`".into()));
    }
    let request = Request {
        kind: Kind::Expand,
        pool_id: id,
        targets: Targets::New {
            count: num,
            node_type: NODE_EXPANDED,
        },
        tag: None,
        max_num: None,
        max_ratio: None,
        params: extra_params(extra.params)?,
    };
    let fid = flows.start(request, Some(request_id.as_str())).await?;
    Ok(started(fid))
}

pub async fn shrink(
    req: HttpRequest,
    flows: FlowsData,
    request_id: RequestId,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    let extra: Extra = params.into_struct()?;
    let ips = domain::ip_list("nodes", extra.nodes)?;
    let ids = flows
        .db()
        .read(move |c| {
            if store::count_pools_with_id(c, id)? == 0 {
                return Err(Error::NotFound(format!("pool {id} not found")));
            }
            let nodes = fstore::pool_nodes(c, id)?;
            ips.iter()
                .map(|ip| {
                    nodes
                        .iter()
                        .find(|n| &n.ip == ip)
                        .map(|n| n.id)
                        .ok_or_else(|| {
                            Error::BadArgument(format!(
                                "IP {ip} is not in pool {id}; nothing was shrunk"
                            ))
                        })
                })
                .collect::<Result<Vec<i64>, Error>>()
        })
        .await?;
    let request = Request {
        kind: Kind::Shrink,
        pool_id: id,
        targets: Targets::Existing(ids),
        tag: None,
        max_num: None,
        max_ratio: None,
        params: extra_params(extra.params)?,
    };
    let fid = flows.start(request, Some(request_id.as_str())).await?;
    Ok(started(fid))
}

pub async fn deploy(
    req: HttpRequest,
    flows: FlowsData,
    request_id: RequestId,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    let max_num = params
        .take_int::<i64>("max_num")?
        .ok_or_else(|| Error::BadArgument("missing parameter `max_num`".into()))?;
    if !(1..=MAX_EXPAND).contains(&max_num) {
        return Err(Error::BadArgument(format!(
            "invalid parameter `max_num`: must be 1 to {MAX_EXPAND}, not {max_num}"
        )));
    }
    let tag = req_text(&mut params, "tag", MAX_TEXT)?;
    let extra: Extra = params.into_struct()?;
    if extra.nodes.is_some() {
        return Err(Error::BadArgument("unknown parameter `nodes`".into()));
    }
    let request = Request {
        kind: Kind::Deploy,
        pool_id: id,
        targets: Targets::All,
        tag: Some(tag.trim().to_string()),
        max_num: Some(max_num),
        max_ratio: None,
        params: extra_params(extra.params)?,
    };
    let fid = flows.start(request, Some(request_id.as_str())).await?;
    Ok(started(fid))
}

// ---- events and the scheduler's status ----

/// The task-engine's event; more keys may come from a newer task-engine and are ignored.
#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    fid: Option<Value>,
}

/// `/internal/task_event`: answers at once and reads the task in the background.
pub async fn task_event(flows: FlowsData, params: Params) -> Result<HttpResponse, Error> {
    let event: Event = params.into_struct()?;
    let fid = match event.fid {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f| *f > 0)
    .ok_or_else(|| Error::BadArgument("missing or invalid `fid`: a positive task id".into()))?;
    let flows = flows.into_inner();
    actix_web::rt::spawn(async move { flows.follow(fid).await });
    Ok(success(empty_object()))
}

pub async fn scheduler_status(
    leadership: web::Data<Arc<Leadership>>,
    params: Params,
) -> Result<HttpResponse, Error> {
    params.finish()?;
    Ok(success(SchedulerStatus {
        leader: leadership.is_leader(),
        ticks: leadership.ticks(),
    }))
}

// ---- schedules ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveJson {
    #[serde(default)]
    cron_items: Option<Value>,
    #[serde(default)]
    cron_itmes: Option<Value>,
    #[serde(default)]
    depend_items: Option<Value>,
    #[serde(default)]
    depend_itmes: Option<Value>,
}

/// One of the two spellings of a list (the seed's `..._itmes` and the corrected one).
fn either(
    name: &str,
    right: Option<Value>,
    misspelt: Option<Value>,
) -> Result<Option<Value>, Error> {
    match (right, misspelt) {
        (Some(_), Some(_)) => Err(Error::BadArgument(format!(
            "give `{name}_items` or `{name}_itmes`, not both"
        ))),
        (a, b) => Ok(a.or(b)),
    }
}

pub async fn save_task(flows: FlowsData, mut params: Params) -> Result<HttpResponse, Error> {
    let id = params.take_int::<i64>("id")?.unwrap_or(0);
    if id < 0 {
        return Err(Error::BadArgument(format!(
            "invalid parameter `id`: must be 0 (new) or a schedule id, not {id}"
        )));
    }
    let pool_id = params
        .take_int::<i64>("pool_id")?
        .ok_or_else(|| Error::BadArgument("missing parameter `pool_id`".into()))?;
    let pool_id = domain::positive("pool_id", pool_id)?;
    let kind = schedules::kind(&params.require_str("type")?)?;
    let exec_type = schedules::exec_type(params.take_str("exec_type")?)?;
    let lists: SaveJson = params.into_struct()?;
    let cron = schedules::cron_items(either("cron", lists.cron_items, lists.cron_itmes)?)?;
    let depend =
        schedules::depend_items(either("depend", lists.depend_items, lists.depend_itmes)?)?;
    schedules::save(
        &flows,
        Save {
            id,
            pool_id,
            kind,
            exec_type,
            cron_items: cron,
            depend_items: depend,
        },
    )
    .await?;
    // The seed answers `true`; the schedule's id is read back with expandList / uploadList.
    Ok(success(true))
}

async fn schedule_list(
    req: HttpRequest,
    flows: FlowsData,
    mut params: Params,
    kind: &'static str,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req)?;
    same_id(&mut params, id)?;
    params.finish()?;
    let list = schedules::list(&flows, id, kind).await?;
    Ok(success(list))
}

pub async fn expand_list(
    req: HttpRequest,
    flows: FlowsData,
    params: Params,
) -> Result<HttpResponse, Error> {
    schedule_list(req, flows, params, "expand").await
}

pub async fn upload_list(
    req: HttpRequest,
    flows: FlowsData,
    params: Params,
) -> Result<HttpResponse, Error> {
    schedule_list(req, flows, params, "upload").await
}
