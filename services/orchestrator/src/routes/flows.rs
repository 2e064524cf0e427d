//! HTTP <-> domain for registry targets, expand / shrink / deploy, task events, schedules and
//! the scheduler's status.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use kit::seed_reply::{listed, success};
use kit::RequestId;
use serde::Deserialize;
use serde_json::Value;
use wire::orchestrator::{Created, SchedulerStatus, SdTarget, Started};

use super::{empty_object, only_page, path_id, req_text, require_on_pool, Data, OnlyId, Params};
use crate::domain::{self, MAX_TEXT};
use crate::error::Error;
use crate::flows::{Flows, Person, MAX_EXPAND};
use crate::inventory::scope;
use crate::registry_targets::{self, TargetChange, TARGETS};
use crate::schedules::{self, Leadership, Save};
use kit::access::Caller;
use kit::auth::Role;

type FlowsData = web::Data<Flows>;

// ---- registry targets ----

pub async fn sd_list(db: Data, params: Params) -> Result<HttpResponse, Error> {
    let page = only_page(params)?;
    let (rows, total) = registry_targets::list(&db, page).await?;
    Ok(listed(page, rows, total))
}

pub async fn sd_create(db: Data, mut params: Params) -> Result<HttpResponse, Error> {
    let zkidc = registry_targets::name("zkidc", req_text(&mut params, "zkidc", MAX_TEXT)?)?;
    let service = registry_targets::name("service", req_text(&mut params, "service", MAX_TEXT)?)?;
    let port = registry_targets::port(
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
    let id = registry_targets::create(&db, target).await?;
    Ok(success(Created { id }))
}

pub async fn sd_update(
    req: HttpRequest,
    db: Data,
    mut params: Params,
) -> Result<HttpResponse, Error> {
    let id = path_id(&req, &mut params)?;
    let zkidc = params
        .take_str("zkidc")?
        .map(|v| registry_targets::name("zkidc", v))
        .transpose()?;
    let service = params
        .take_str("service")?
        .map(|v| registry_targets::name("service", v))
        .transpose()?;
    let port = params
        .take_int::<i64>("port")?
        .map(registry_targets::port)
        .transpose()?;
    params.finish()?;
    let change = TargetChange {
        zkidc,
        service,
        port,
    };
    registry_targets::update(&db, id, change).await?;
    Ok(success(empty_object()))
}

pub async fn sd_delete(db: Data, OnlyId(id): OnlyId) -> Result<HttpResponse, Error> {
    TARGETS.delete(&db, id).await?;
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

impl Extra {
    /// Extra parameters of a flow that takes no `nodes`.
    fn without_nodes(params: Params) -> Result<Option<Value>, Error> {
        let extra: Extra = params.into_struct()?;
        if extra.nodes.is_some() {
            return Err(Error::BadArgument("unknown parameter `nodes`".into()));
        }
        Ok(extra.params)
    }
}

/// A count parameter of a flow: given, and 1 to [`MAX_EXPAND`].
fn flow_count(params: &mut Params, name: &str) -> Result<i64, Error> {
    let value = params
        .take_int::<i64>(name)?
        .ok_or_else(|| Error::BadArgument(format!("missing parameter `{name}`")))?;
    if !(1..=MAX_EXPAND).contains(&value) {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{name}`: must be 1 to {MAX_EXPAND}, not {value}"
        )));
    }
    Ok(value)
}

fn started(fid: i64) -> HttpResponse {
    success(Started { task_id: fid })
}

/// A flow started on the pool of the path: the pool's id, the request id the task keeps, and
/// the flow's other parameters.
pub struct FlowCall {
    id: i64,
    request_id: RequestId,
    params: Params,
}

/// Checks that `caller` may run flows on pool `id` (operator on its cluster) and names the
/// person the task is created for: the task-engine gets their token and records them.
async fn person_on_pool(flows: &Flows, caller: &Caller, id: i64) -> Result<Person, Error> {
    require_on_pool(flows.db(), caller, Role::Operator, id).await?;
    Ok(Person {
        subject: caller.subject().to_string(),
        token: caller.token().clone(),
    })
}

impl FromRequest for FlowCall {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let Ok(request_id) = RequestId::extract(req).into_inner();
        let params = Params::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let mut params = params.await?;
            let id = path_id(&req, &mut params)?;
            Ok(FlowCall {
                id,
                request_id,
                params,
            })
        })
    }
}

pub async fn expand(
    flows: FlowsData,
    caller: Caller,
    call: FlowCall,
) -> Result<HttpResponse, Error> {
    let mut params = call.params;
    let num = flow_count(&mut params, "num")?;
    let extra = Extra::without_nodes(params)?;
    let person = person_on_pool(&flows, &caller, call.id).await?;
    let request_id = Some(call.request_id.as_str());
    let fid = flows
        .expand(call.id, num, extra, request_id, Some(person))
        .await?;
    Ok(started(fid))
}

pub async fn shrink(
    flows: FlowsData,
    caller: Caller,
    call: FlowCall,
) -> Result<HttpResponse, Error> {
    let extra: Extra = call.params.into_struct()?;
    let ips = domain::ip_list("nodes", extra.nodes)?;
    let person = person_on_pool(&flows, &caller, call.id).await?;
    let request_id = Some(call.request_id.as_str());
    let fid = flows
        .shrink(call.id, ips, extra.params, request_id, Some(person))
        .await?;
    Ok(started(fid))
}

pub async fn deploy(
    flows: FlowsData,
    caller: Caller,
    call: FlowCall,
) -> Result<HttpResponse, Error> {
    let mut params = call.params;
    let max_num = flow_count(&mut params, "max_num")?;
    let tag = req_text(&mut params, "tag", MAX_TEXT)?;
    let extra = Extra::without_nodes(params)?;
    let person = person_on_pool(&flows, &caller, call.id).await?;
    let request_id = Some(call.request_id.as_str());
    let fid = flows
        .deploy(call.id, &tag, max_num, extra, request_id, Some(person))
        .await?;
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

/// `/task/saveTask`: the operator role on the pool's cluster, and on the cluster of the pool
/// of the schedule it changes.
pub async fn save_task(
    flows: FlowsData,
    caller: Caller,
    mut params: Params,
) -> Result<HttpResponse, Error> {
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
    require_on_pool(flows.db(), &caller, Role::Operator, pool_id).await?;
    if id > 0 {
        if let Some(cluster) = scope::of_schedule(flows.db(), id).await? {
            caller.require_on(Role::Operator, cluster)?;
        }
    }
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

pub async fn expand_list(
    flows: FlowsData,
    caller: Caller,
    OnlyId(id): OnlyId,
) -> Result<HttpResponse, Error> {
    require_on_pool(flows.db(), &caller, Role::Viewer, id).await?;
    Ok(success(schedules::list(&flows, id, "expand").await?))
}

pub async fn upload_list(
    flows: FlowsData,
    caller: Caller,
    OnlyId(id): OnlyId,
) -> Result<HttpResponse, Error> {
    require_on_pool(flows.db(), &caller, Role::Viewer, id).await?;
    Ok(success(schedules::list(&flows, id, "upload").await?))
}
