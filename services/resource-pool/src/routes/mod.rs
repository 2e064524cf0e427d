//! HTTP <-> domain. Each seed function is `/api/<function>` (reads GET or POST, writes POST;
//! with or without a trailing slash); handlers read parameters, call the inventory, and wrap the answer.

mod openapi;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use kit::access::Access;
use kit::auth::Role;
use kit::routes::Effect::{Read, Write};
use kit::routes::{Refusal, RouteTable, GET};
use kit::RequestId;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wire::resource_pool::{self as w, Reply};

use crate::error::Error;
use crate::inventory::{self, AuditQuery, Caller, DatabaseAt, InstanceAt, Inventory, DEFAULT_PORT};

type Params = kit::Params<Error>;

/// Every function of the seed, and ours, as `/api/<function>` with and without a trailing
/// slash. Reads answer GET and POST; writes answer POST only.
pub fn table() -> RouteTable {
    const VIEWER: Access = Access::Role(Role::Viewer);
    const OPERATOR: Access = Access::Role(Role::Operator);
    RouteTable::new(envelope)
        .function("/api/get_all_instance", Read, get_all_instance)
        .allow(VIEWER)
        .function("/api/get_all_server", Read, get_all_server)
        .allow(VIEWER)
        .function("/api/get_all_db", Read, get_all_db)
        .allow(VIEWER)
        .function("/api/get_instance", Read, get_instance)
        .allow(VIEWER)
        .function(
            "/api/get_database_by_name_instance",
            Read,
            get_database_by_name_instance,
        )
        .allow(VIEWER)
        .function("/api/get_server_by_ip", Read, get_server_by_ip)
        .allow(VIEWER)
        .function("/api/add_server", Write, add_server)
        .allow(OPERATOR)
        .function("/api/mod_server", Write, mod_server)
        .allow(OPERATOR)
        .function("/api/del_server", Write, del_server)
        .allow(OPERATOR)
        .function("/api/add_instance", Write, add_instance)
        .allow(OPERATOR)
        .function("/api/mod_instance", Write, mod_instance)
        .allow(OPERATOR)
        .function("/api/del_instance", Write, del_instance)
        .allow(OPERATOR)
        .function("/api/add_database", Write, add_database)
        .allow(OPERATOR)
        .function("/api/mod_database", Write, mod_database)
        .allow(OPERATOR)
        .function("/api/del_database", Write, del_database)
        .allow(OPERATOR)
        .function("/api/audit_log", Read, audit_log)
        .allow(VIEWER)
        // Connects to an instance already listed, and changes nothing; but it makes the
        // service log in to a database with the probe account: an operator's act.
        .function("/api/probe_instance", Read, probe_instance)
        .allow(OPERATOR)
        .read("/openapi.json", GET, openapi::spec)
        .allow(Access::Public)
}

/// The seed's functions, and ours, in the order of the table (the reference's order): the
/// `<function>` of each `/api/<function>`.
pub fn functions() -> Vec<String> {
    table()
        .specs()
        .filter_map(|spec| spec.path.strip_prefix("/api/"))
        .filter(|function| !function.ends_with('/'))
        .map(str::to_string)
        .collect()
}

/// The kit's refusals (404, 405, limits) in the seed's envelope.
fn envelope(refusal: &Refusal) -> HttpResponse {
    let code = match refusal {
        Refusal::NotFound { .. } => w::ErrorCode::NotFound,
        Refusal::Unauthenticated { .. } => w::ErrorCode::Unauthenticated,
        Refusal::Forbidden { .. } | Refusal::NoDecision => w::ErrorCode::Forbidden,
        Refusal::AuthUnavailable { .. } => w::ErrorCode::Unavailable,
        Refusal::MethodNotAllowed { .. }
        | Refusal::CrossSite { .. }
        | Refusal::UriTooLong { .. }
        | Refusal::BodyTooLarge { .. }
        | Refusal::BodyTimeout { .. }
        | Refusal::BodyUnreadable { .. } => w::ErrorCode::BadArgument,
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

// ---- the parameters shared by the functions ----

type Inv = web::Data<Inventory>;
type Answer = Result<HttpResponse, Error>;

fn success<T: Serialize>(result: T) -> Answer {
    Ok(HttpResponse::Ok().json(Reply {
        code: w::ErrorCode::Success as i32,
        msg: "success".to_string(),
        result: Some(result),
    }))
}

/// One call of a seed function, read before the handler runs: who makes it (`model`), what it
/// is about (`K`), then the rest (`R`): `()` where nothing else is allowed, [`Fields`] where
/// the seed takes `**args`.
struct Call<K, R = ()>(Caller, K, R);

/// The seed's `**args`: every parameter not read before, into `F`.
struct Fields<F>(F);

/// What a function is about, read from its parameters in the order the seed names them.
trait Key: Sized {
    fn read(p: &mut Params) -> Result<Self, Error>;
}

/// What may follow the key.
trait Rest: Sized {
    fn read(p: Params) -> Result<Self, Error>;
}

impl<K: Key + 'static, R: Rest + 'static> FromRequest for Call<K, R> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let Ok(id) = RequestId::extract(req).into_inner();
        let who = req
            .extensions()
            .get::<kit::access::Caller>()
            .map(|caller| caller.subject().to_string());
        let params = Params::from_request(req, payload);
        Box::pin(async move {
            let mut p = params.await?;
            let caller = caller(&mut p, &id, who)?;
            let key = K::read(&mut p)?;
            Ok(Call(caller, key, R::read(p)?))
        })
    }
}

impl Rest for () {
    fn read(p: Params) -> Result<(), Error> {
        Ok(p.finish()?)
    }
}

impl<F: DeserializeOwned> Rest for Fields<F> {
    fn read(p: Params) -> Result<Self, Error> {
        Ok(Fields(p.into_struct()?))
    }
}

/// `model` names the calling module; it is optional and goes into the audit log.
fn caller(p: &mut Params, request_id: &RequestId, who: Option<String>) -> Result<Caller, Error> {
    // Every route taking a `Call` is behind a bearer decision: the kit left the caller.
    let who = who.ok_or_else(|| Error::Internal("no verified caller".into()))?;
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
        who,
        model: if model.is_empty() { "-".into() } else { model },
        request_id: request_id.to_string(),
    })
}

/// `stat` and `count` of the `get_all_*` lists.
struct Listing {
    stat: i32,
    count: i64,
}

struct ServerAt {
    ip: String,
}

/// `db` alone.
struct DbName(String);

/// The database of `add_database`, whose signature names `db` before the instance.
struct FirstDbName(DatabaseAt);

/// `cascade` of the deletes: also delete what is below.
struct Cascade(bool);

impl Key for Listing {
    fn read(p: &mut Params) -> Result<Self, Error> {
        let stat = inventory::check_stat_filter(p.take_int("stat")?.unwrap_or(0))?;
        let count = inventory::check_count(p.take_int("count")?.unwrap_or(0))?;
        Ok(Listing { stat, count })
    }
}

impl Key for ServerAt {
    fn read(p: &mut Params) -> Result<Self, Error> {
        let text = p.require_str("ip")?;
        Ok(ServerAt {
            ip: inventory::parse_ip("ip", &text)?,
        })
    }
}

/// `port` defaults to MySQL's.
impl Key for InstanceAt {
    fn read(p: &mut Params) -> Result<Self, Error> {
        let ServerAt { ip } = ServerAt::read(p)?;
        let port = p
            .take_int::<i64>("port")?
            .unwrap_or(i64::from(DEFAULT_PORT));
        let port = inventory::check_port("port", port)?;
        Ok(InstanceAt { ip, port })
    }
}

impl Key for DatabaseAt {
    fn read(p: &mut Params) -> Result<Self, Error> {
        let InstanceAt { ip, port } = InstanceAt::read(p)?;
        let DbName(db) = DbName::read(p)?;
        Ok(DatabaseAt { ip, port, db })
    }
}

impl Key for DbName {
    fn read(p: &mut Params) -> Result<Self, Error> {
        let name = p.require_str("db")?;
        Ok(DbName(inventory::check_db_name("db", &name)?))
    }
}

impl Key for FirstDbName {
    fn read(p: &mut Params) -> Result<Self, Error> {
        let DbName(db) = DbName::read(p)?;
        let InstanceAt { ip, port } = InstanceAt::read(p)?;
        Ok(FirstDbName(DatabaseAt { ip, port, db }))
    }
}

impl Key for Cascade {
    fn read(p: &mut Params) -> Result<Self, Error> {
        Ok(Cascade(p.take_bool("cascade")?.unwrap_or(false)))
    }
}

/// Two keys, read in this order.
impl<A: Key, B: Key> Key for (A, B) {
    fn read(p: &mut Params) -> Result<Self, Error> {
        Ok((A::read(p)?, B::read(p)?))
    }
}

// ---- the seed's reads (`model` is checked, not logged) ----

async fn get_all_instance(inv: Inv, Call(_, list, ()): Call<Listing>) -> Answer {
    success(inv.all_instances(list.stat, list.count).await?)
}

async fn get_all_server(inv: Inv, Call(_, list, ()): Call<Listing>) -> Answer {
    success(inv.all_servers(list.stat, list.count).await?)
}

async fn get_all_db(inv: Inv, Call(_, list, ()): Call<Listing>) -> Answer {
    success(inv.all_databases(list.stat, list.count).await?)
}

async fn get_instance(inv: Inv, Call(_, at, ()): Call<InstanceAt>) -> Answer {
    success(inv.instance(at).await?)
}

async fn get_database_by_name_instance(inv: Inv, Call(_, at, ()): Call<DatabaseAt>) -> Answer {
    success(inv.database(at).await?)
}

async fn get_server_by_ip(inv: Inv, Call(_, at, ()): Call<ServerAt>) -> Answer {
    success(inv.server(at.ip).await?)
}

// ---- the seed's writes ----

type ServerFields = Fields<w::ServerFields>;
type InstanceFields = Fields<w::InstanceFields>;
type DatabaseFields = Fields<w::DatabaseFields>;

async fn add_server(inv: Inv, Call(who, at, Fields(f)): Call<ServerAt, ServerFields>) -> Answer {
    success(inv.add_server(who, at.ip, f).await?)
}

async fn mod_server(inv: Inv, Call(who, at, Fields(f)): Call<ServerAt, ServerFields>) -> Answer {
    success(inv.mod_server(who, at.ip, f).await?)
}

async fn del_server(
    inv: Inv,
    Call(who, (at, Cascade(all)), ()): Call<(ServerAt, Cascade)>,
) -> Answer {
    success(inv.del_server(who, at.ip, all).await?)
}

async fn add_instance(
    inv: Inv,
    Call(who, at, Fields(f)): Call<InstanceAt, InstanceFields>,
) -> Answer {
    success(inv.add_instance(who, at, f).await?)
}

async fn mod_instance(
    inv: Inv,
    Call(who, at, Fields(f)): Call<InstanceAt, InstanceFields>,
) -> Answer {
    success(inv.mod_instance(who, at, f).await?)
}

async fn del_instance(
    inv: Inv,
    Call(who, (at, Cascade(all)), ()): Call<(InstanceAt, Cascade)>,
) -> Answer {
    success(inv.del_instance(who, at, all).await?)
}

async fn add_database(
    inv: Inv,
    Call(who, FirstDbName(at), Fields(f)): Call<FirstDbName, DatabaseFields>,
) -> Answer {
    success(inv.add_database(who, at, f).await?)
}

async fn mod_database(
    inv: Inv,
    Call(who, at, Fields(f)): Call<DatabaseAt, DatabaseFields>,
) -> Answer {
    success(inv.mod_database(who, at, f).await?)
}

async fn del_database(inv: Inv, Call(who, at, ()): Call<DatabaseAt>) -> Answer {
    success(inv.del_database(who, at).await?)
}

// ---- beyond the seed ----

async fn audit_log(inv: Inv, mut p: Params) -> Answer {
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
        who: p.take_str("who")?,
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
    success(inv.audit_log(query, page).await?)
}

async fn probe_instance(inv: Inv, Call(_, at, ()): Call<InstanceAt>) -> Answer {
    success(inv.probe(at).await?)
}

#[cfg(test)]
mod tests {
    kit::route_docs_test!("resource-pool.md");

    #[test]
    fn functions_are_listed_once_each_in_table_order() {
        let functions = super::functions();
        assert_eq!(functions.len(), 17, "{functions:?}");
        assert_eq!(
            functions.first().map(String::as_str),
            Some("get_all_instance")
        );
        assert_eq!(functions.last().map(String::as_str), Some("probe_instance"));
    }
}
