//! HTTP <-> domain. Each seed function is `/api/<function>` (reads GET or POST, writes POST;
//! with or without a trailing slash); handlers read parameters, call the inventory, and wrap the answer.

mod openapi;

use actix_web::{web, HttpResponse};
use kit::routes::Effect::{Read, Write};
use kit::routes::{Refusal, RouteTable, GET};
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

/// Every function of the seed, and ours, as `/api/<function>` with and without a trailing
/// slash. Reads answer GET and POST; writes answer POST only.
pub fn table() -> RouteTable {
    RouteTable::new(envelope)
        .function("/api/get_all_instance", Read, get_all_instance)
        .function("/api/get_all_server", Read, get_all_server)
        .function("/api/get_all_db", Read, get_all_db)
        .function("/api/get_instance", Read, get_instance)
        .function(
            "/api/get_database_by_name_instance",
            Read,
            get_database_by_name_instance,
        )
        .function("/api/get_server_by_ip", Read, get_server_by_ip)
        .function("/api/add_server", Write, add_server)
        .function("/api/mod_server", Write, mod_server)
        .function("/api/del_server", Write, del_server)
        .function("/api/add_instance", Write, add_instance)
        .function("/api/mod_instance", Write, mod_instance)
        .function("/api/del_instance", Write, del_instance)
        .function("/api/add_database", Write, add_database)
        .function("/api/mod_database", Write, mod_database)
        .function("/api/del_database", Write, del_database)
        .function("/api/audit_log", Read, audit_log)
        // Connects to an instance already listed, and changes nothing.
        .function("/api/probe_instance", Read, probe_instance)
        .read("/openapi.json", GET, openapi::spec)
}

/// The kit's refusals (404, 405, limits) in the seed's envelope.
fn envelope(refusal: &Refusal) -> HttpResponse {
    let code = match refusal {
        Refusal::NotFound { .. } => w::ErrorCode::NotFound,
        _ => w::ErrorCode::BadArgument,
    };
    HttpResponse::build(refusal.status()).json(Reply::<()> {
        code: code as i32,
        msg: match refusal {
            Refusal::NotFound { .. } => format!("{refusal} (see /openapi.json)"),
            _ => refusal.to_string(),
        },
        result: None,
    })
}

fn success<T: Serialize>(result: T) -> HttpResponse {
    HttpResponse::Ok().json(Reply {
        code: w::ErrorCode::Success as i32,
        msg: "success".to_string(),
        result: Some(result),
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

#[cfg(test)]
mod tests {
    kit::route_docs_test!("resource-pool.md");
}
