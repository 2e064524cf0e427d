//! HTTP <-> domain. Each seed function is `/api/<function>` (GET or POST, with or without a
//! trailing slash); handlers read parameters, call the inventory, and wrap the answer.

mod openapi;

use actix_web::{web, HttpRequest, HttpResponse};
use kit::RequestId;
use serde::Serialize;
use wire::resource_pool::{self as w, Reply};

use crate::error::Error;
use crate::inventory::{self, Caller, Inventory, DEFAULT_PORT};
use crate::store::AuditQuery;

type Params = kit::Params<Error>;

/// The seed's functions, and ours, in the order the reference lists them.
pub const FUNCTIONS: [&str; 17] = [
    "get_all_instance",
    "get_all_server",
    "get_all_db",
    "get_instance",
    "get_database_by_name_instance",
    "get_server_by_ip",
    "add_server",
    "mod_server",
    "del_server",
    "add_instance",
    "mod_instance",
    "del_instance",
    "add_database",
    "mod_database",
    "del_database",
    "audit_log",
    "probe_instance",
];

macro_rules! function {
    ($cfg:expr, $name:literal, $handler:path) => {
        $cfg.service(
            web::resource([concat!("/api/", $name), concat!("/api/", $name, "/")])
                .route(web::get().to($handler))
                .route(web::post().to($handler))
                .default_service(web::to(method_not_allowed)),
        )
    };
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    function!(cfg, "get_all_instance", get_all_instance);
    function!(cfg, "get_all_server", get_all_server);
    function!(cfg, "get_all_db", get_all_db);
    function!(cfg, "get_instance", get_instance);
    function!(
        cfg,
        "get_database_by_name_instance",
        get_database_by_name_instance
    );
    function!(cfg, "get_server_by_ip", get_server_by_ip);
    function!(cfg, "add_server", add_server);
    function!(cfg, "mod_server", mod_server);
    function!(cfg, "del_server", del_server);
    function!(cfg, "add_instance", add_instance);
    function!(cfg, "mod_instance", mod_instance);
    function!(cfg, "del_instance", del_instance);
    function!(cfg, "add_database", add_database);
    function!(cfg, "mod_database", mod_database);
    function!(cfg, "del_database", del_database);
    function!(cfg, "audit_log", audit_log);
    function!(cfg, "probe_instance", probe_instance);
    cfg.route("/openapi.json", web::get().to(openapi::spec));
    cfg.default_service(web::to(not_found));
}

fn success<T: Serialize>(result: T) -> HttpResponse {
    HttpResponse::Ok().json(Reply {
        code: w::ErrorCode::Success as i32,
        msg: "success".to_string(),
        result: Some(result),
    })
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, Error> {
    Err(Error::NotFound(format!(
        "no such function: {} {} (see /openapi.json)",
        req.method(),
        req.path()
    )))
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    HttpResponse::MethodNotAllowed().json(Reply::<()> {
        code: w::ErrorCode::BadArgument as i32,
        msg: format!(
            "method {} not allowed on {}: use GET or POST",
            req.method(),
            req.path()
        ),
        result: None,
    })
}

// ---- parameters shared by the functions ----

/// `model` names the calling module; it is optional and goes into the audit log.
fn caller(p: &mut Params, request_id: &RequestId) -> Result<Caller, Error> {
    let model = p
        .take_str("model")?
        .map(|m| m.trim().to_string())
        .unwrap_or_default();
    if model.chars().count() > 255 || model.chars().any(char::is_control) {
        return Err(Error::BadArgument(
            "invalid parameter `model`: at most 255 printable characters".into(),
        ));
    }
    Ok(Caller {
        model: if model.is_empty() { "-".into() } else { model },
        request_id: request_id.to_string(),
    })
}

fn ip(p: &mut Params) -> Result<String, Error> {
    let text = p.require_str("ip")?;
    inventory::parse_ip("ip", &text)
}

fn port(p: &mut Params) -> Result<i32, Error> {
    let port = p
        .take_int::<i64>("port")?
        .unwrap_or(i64::from(DEFAULT_PORT));
    inventory::check_port("port", port)
}

fn db_name(p: &mut Params) -> Result<String, Error> {
    let name = p.require_str("db")?;
    inventory::check_db_name("db", &name)
}

fn stat_and_count(p: &mut Params) -> Result<(i32, i64), Error> {
    let stat = inventory::check_stat_filter(p.take_int("stat")?.unwrap_or(0))?;
    let count = inventory::check_count(p.take_int("count")?.unwrap_or(0))?;
    Ok((stat, count))
}

fn cascade(p: &mut Params) -> Result<bool, Error> {
    Ok(p.take_bool("cascade")?.unwrap_or(false))
}

// ---- the seed's reads ----

async fn get_all_instance(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    caller(&mut p, &id)?;
    let (stat, count) = stat_and_count(&mut p)?;
    p.finish()?;
    Ok(success(inv.all_instances(stat, count).await?))
}

async fn get_all_server(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    caller(&mut p, &id)?;
    let (stat, count) = stat_and_count(&mut p)?;
    p.finish()?;
    Ok(success(inv.all_servers(stat, count).await?))
}

async fn get_all_db(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    caller(&mut p, &id)?;
    let (stat, count) = stat_and_count(&mut p)?;
    p.finish()?;
    Ok(success(inv.all_databases(stat, count).await?))
}

async fn get_instance(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    caller(&mut p, &id)?;
    let (ip, port) = (ip(&mut p)?, port(&mut p)?);
    p.finish()?;
    Ok(success(inv.instance(ip, port).await?))
}

async fn get_database_by_name_instance(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    caller(&mut p, &id)?;
    let (ip, port, db) = (ip(&mut p)?, port(&mut p)?, db_name(&mut p)?);
    p.finish()?;
    Ok(success(inv.database(ip, port, db).await?))
}

async fn get_server_by_ip(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    caller(&mut p, &id)?;
    let ip = ip(&mut p)?;
    p.finish()?;
    Ok(success(inv.server(ip).await?))
}

// ---- the seed's writes ----

async fn add_server(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let caller = caller(&mut p, &id)?;
    let ip = ip(&mut p)?;
    let fields: w::ServerFields = p.into_struct()?;
    Ok(success(inv.add_server(caller, ip, fields).await?))
}

async fn mod_server(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let caller = caller(&mut p, &id)?;
    let ip = ip(&mut p)?;
    let fields: w::ServerFields = p.into_struct()?;
    Ok(success(inv.mod_server(caller, ip, fields).await?))
}

async fn del_server(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let caller = caller(&mut p, &id)?;
    let (ip, cascade) = (ip(&mut p)?, cascade(&mut p)?);
    p.finish()?;
    Ok(success(inv.del_server(caller, ip, cascade).await?))
}

async fn add_instance(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let caller = caller(&mut p, &id)?;
    let (ip, port) = (ip(&mut p)?, port(&mut p)?);
    let fields: w::InstanceFields = p.into_struct()?;
    Ok(success(inv.add_instance(caller, ip, port, fields).await?))
}

async fn mod_instance(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let caller = caller(&mut p, &id)?;
    let (ip, port) = (ip(&mut p)?, port(&mut p)?);
    let fields: w::InstanceFields = p.into_struct()?;
    Ok(success(inv.mod_instance(caller, ip, port, fields).await?))
}

async fn del_instance(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let caller = caller(&mut p, &id)?;
    let (ip, port, cascade) = (ip(&mut p)?, port(&mut p)?, cascade(&mut p)?);
    p.finish()?;
    Ok(success(inv.del_instance(caller, ip, port, cascade).await?))
}

async fn add_database(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let caller = caller(&mut p, &id)?;
    let (db, ip, port) = (db_name(&mut p)?, ip(&mut p)?, port(&mut p)?);
    let fields: w::DatabaseFields = p.into_struct()?;
    Ok(success(
        inv.add_database(caller, db, ip, port, fields).await?,
    ))
}

async fn mod_database(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let caller = caller(&mut p, &id)?;
    let (ip, port, db) = (ip(&mut p)?, port(&mut p)?, db_name(&mut p)?);
    let fields: w::DatabaseFields = p.into_struct()?;
    Ok(success(
        inv.mod_database(caller, ip, port, db, fields).await?,
    ))
}

async fn del_database(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let caller = caller(&mut p, &id)?;
    let (ip, port, db) = (ip(&mut p)?, port(&mut p)?, db_name(&mut p)?);
    p.finish()?;
    Ok(success(inv.del_database(caller, ip, port, db).await?))
}

// ---- beyond the seed ----

async fn audit_log(inv: web::Data<Inventory>, mut p: Params) -> Result<HttpResponse, Error> {
    let page = p.take_page(kit::params::DEFAULT_PAGE_SIZE)?;
    let one_of =
        |name: &str, value: Option<String>, allowed: &[&str]| -> Result<Option<String>, Error> {
            match value {
                Some(v) if !allowed.contains(&v.as_str()) => Err(Error::BadArgument(format!(
                    "invalid parameter `{name}`: `{v}` is not one of {}",
                    allowed.join(", ")
                ))),
                other => Ok(other),
            }
        };
    let query = AuditQuery {
        model: p.take_str("model")?,
        action: one_of("action", p.take_str("action")?, &["add", "mod", "del"])?,
        entity: one_of(
            "entity",
            p.take_str("entity")?,
            &["server", "instance", "database"],
        )?,
        ip: p
            .take_str("ip")?
            .map(|ip| inventory::parse_ip("ip", &ip))
            .transpose()?,
        since: p
            .take_str("since")?
            .map(|d| inventory::parse_date("since", &d))
            .transpose()?,
        until: p
            .take_str("until")?
            .map(|d| inventory::parse_date("until", &d))
            .transpose()?,
    };
    p.finish()?;
    Ok(success(inv.audit_log(query, page).await?))
}

async fn probe_instance(
    inv: web::Data<Inventory>,
    id: RequestId,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    caller(&mut p, &id)?;
    let (ip, port) = (ip(&mut p)?, port(&mut p)?);
    p.finish()?;
    Ok(success(inv.probe(ip, port).await?))
}
