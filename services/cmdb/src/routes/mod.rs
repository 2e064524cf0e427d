//! HTTP <-> domain: the seed's paths under `/api/v0.1`. Handlers check the signature, read
//! parameters (query, form or JSON, see `kit::Params`), call `Cmdb`, and answer JSON.

use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use kit::routes::{Refusal, RouteTable, DELETE, GET, GET_POST, POST, PUT};
use serde::Serialize;
use serde_json::{Map, Value};
use wire::cmdb as w;

use crate::auth::{Access as CmdbAccess, Actor};
use crate::error::Error;
use crate::model::RetKey;
use crate::service::{
    AttrInput, CiWrite, Cmdb, ExistPolicy, HistoryInput, RelationWalk, SearchInput, TypeInput,
    WriteMode, CI_PAGE_SIZE, HISTORY_PAGE_SIZE, MAX_PAGE_SIZE,
};
use kit::access::{Access, Caller};

mod openapi;

type Params = kit::Params<Error>;
type Reply = Result<HttpResponse, Error>;

const API: &str = "/api/v0.1";

/// The body limit of `/ci/batch`, whose rows can be many; every other route has
/// `http.max_body_bytes`.
pub const BATCH_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Every route under `/api/v0.1`, each method with its own handler, as veops CMDB has them.
/// `citypes/enable/{type_id}` is a write the seed shows as `GET/POST`. Every route but
/// `/openapi.json` takes a bearer token or, in its stead, a signed api key (the handler's
/// [`guard`] checks that one against the same decision).
pub fn table() -> RouteTable {
    RouteTable::new(envelope)
        .read(api("/attributes"), GET, list_attributes)
        .allow(READ)
        .seed_credential()
        .write(api("/attributes"), POST, add_attribute)
        .allow(ADMIN)
        .seed_credential()
        .read(api("/attributes/citype/{type_id}"), GET, type_attributes)
        .allow(READ)
        .seed_credential()
        .write(api("/attributes/citype/{type_id}"), POST, bind_attributes)
        .allow(ADMIN)
        .seed_credential()
        .write(
            api("/attributes/citype/{type_id}"),
            DELETE,
            unbind_attributes,
        )
        .allow(ADMIN)
        .seed_credential()
        .read(api("/attributes/{key}"), GET, get_attribute)
        .allow(READ)
        .seed_credential()
        .write(api("/attributes/{key}"), PUT, update_attribute)
        .allow(ADMIN)
        .seed_credential()
        .write(api("/attributes/{key}"), DELETE, delete_attribute)
        .allow(ADMIN)
        .seed_credential()
        .read(api("/citypes"), GET, list_types)
        .allow(READ)
        .seed_credential()
        .write(api("/citypes"), POST, add_type)
        .allow(ADMIN)
        .seed_credential()
        .read(api("/citypes/query"), GET, query_type)
        .allow(READ)
        .seed_credential()
        .write(api("/citypes/enable/{type_id}"), GET_POST, enable_type)
        .allow(ADMIN)
        .seed_credential()
        .write(api("/citypes/{type_id}"), PUT, update_type)
        .allow(ADMIN)
        .seed_credential()
        .write(api("/citypes/{type_id}"), DELETE, delete_type)
        .allow(ADMIN)
        .seed_credential()
        // veops CMDB's names of the CI type routes, beside the seed's `/citypes`.
        .read(api("/ci_types"), GET, veops_list_types)
        .allow(READ)
        .seed_credential()
        .write(api("/ci_types"), POST, veops_add_type)
        .allow(ADMIN)
        .seed_credential()
        .read(api("/ci_types/{key}"), GET, veops_get_type)
        .allow(READ)
        .seed_credential()
        .write(api("/ci_types/{key}"), PUT, veops_update_type)
        .allow(ADMIN)
        .seed_credential()
        .write(api("/ci_types/{key}"), DELETE, veops_delete_type)
        .allow(ADMIN)
        .seed_credential()
        .read(api("/cityperelations/types"), GET, relation_types)
        .allow(READ)
        .seed_credential()
        .read(api("/cityperelations/{id}/children"), GET, type_children)
        .allow(READ)
        .seed_credential()
        .read(api("/cityperelations/{id}/parents"), GET, type_parents)
        .allow(READ)
        .seed_credential()
        .write(
            api("/cityperelations/{parent}/{child}"),
            POST,
            add_type_relation,
        )
        .allow(ADMIN)
        .seed_credential()
        .write(
            api("/cityperelations/{ctr_id}"),
            DELETE,
            delete_type_relation,
        )
        .allow(ADMIN)
        .seed_credential()
        .read(api("/ci/s"), GET, search)
        .allow(READ)
        .seed_credential()
        .read(api("/ci/type/{type_id}"), GET, cis_of_type)
        .allow(READ)
        .seed_credential()
        // Before `/ci/{ci_id}`, which would otherwise take `batch` as an id.
        .write(api("/ci/batch"), POST, batch_cis)
        .allow(WRITE)
        .seed_credential()
        .body_limit(BATCH_BODY_LIMIT)
        .write(api("/ci"), POST, add_ci)
        .allow(WRITE)
        .seed_credential()
        .write(api("/ci"), PUT, update_ci)
        .allow(WRITE)
        .seed_credential()
        .read(api("/ci/{ci_id}"), GET, get_ci)
        .allow(READ)
        .seed_credential()
        .write(api("/ci/{ci_id}"), PUT, update_ci_by_id)
        .allow(WRITE)
        .seed_credential()
        .write(api("/ci/{ci_id}"), DELETE, delete_ci)
        .allow(WRITE)
        .seed_credential()
        .read(api("/cirelations/types"), GET, relation_types)
        .allow(READ)
        .seed_credential()
        .write(
            api("/cirelations/delete/{cr_id}"),
            DELETE,
            delete_ci_relation,
        )
        .allow(WRITE)
        .seed_credential()
        .read(api("/cirelations/{id}/second_cis"), GET, second_cis)
        .allow(READ)
        .seed_credential()
        .read(api("/cirelations/{id}/first_cis"), GET, first_cis)
        .allow(READ)
        .seed_credential()
        // Before `{first}/{second}`, which would otherwise take `<id>/graph` and refuse GET.
        .read(api("/cirelations/{id}/graph"), GET, ci_graph)
        .allow(READ)
        .seed_credential()
        .write(api("/cirelations/{first}/{second}"), POST, add_ci_relation)
        .allow(WRITE)
        .seed_credential()
        // veops CMDB's CI relation routes: the search under a root, add, delete.
        .read(api("/ci_relations/s"), GET, relation_search)
        .allow(READ)
        .seed_credential()
        // The same deletion as the seed's `/cirelations/delete/{cr_id}`.
        .write(api("/ci_relations/{cr_id}"), DELETE, delete_ci_relation)
        .allow(WRITE)
        .seed_credential()
        .write(
            api("/ci_relations/{first}/{second}"),
            POST,
            veops_add_ci_relation,
        )
        .allow(WRITE)
        .seed_credential()
        .read(api("/history/record"), GET, history)
        .allow(READ)
        .seed_credential()
        .read(api("/history/{record_id}"), GET, history_record)
        .allow(READ)
        .seed_credential()
        .write(api("/users"), POST, create_user)
        .allow(ADMIN)
        .seed_credential()
        .read(api("/users/{username}"), GET, get_user)
        .allow(ADMIN)
        .seed_credential()
        .read("/openapi.json", GET, openapi::spec)
        .allow(Access::Public)
}

/// The platform's decision of each of cmdb's rights ([`CmdbAccess::decision`]).
const READ: Access = CmdbAccess::Read.decision();
const WRITE: Access = CmdbAccess::Write.decision();
const ADMIN: Access = CmdbAccess::Admin.decision();

fn api(path: &str) -> String {
    format!("{API}{path}")
}

/// The kit's refusals in cmdb's error body, with the status the seed gives each kind: 404,
/// 405, 403 (cross-site, a token's roles short of the route's, a route without a decision),
/// 414 / 413 / 408 / 400 (limits, unreadable bodies), 401 (no valid token), 503 (tokens
/// cannot be verified now).
fn envelope(refusal: &Refusal) -> HttpResponse {
    let status = match refusal {
        Refusal::NotFound { .. } => StatusCode::NOT_FOUND,
        Refusal::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        Refusal::CrossSite { .. } | Refusal::Forbidden { .. } | Refusal::NoDecision => {
            StatusCode::FORBIDDEN
        }
        Refusal::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
        Refusal::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Refusal::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
        Refusal::BodyUnreadable { .. } => StatusCode::BAD_REQUEST,
        Refusal::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
        Refusal::AuthUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
    };
    HttpResponse::build(status).json(w::ErrorBody {
        message: refusal.to_string(),
    })
}

fn ok<T: Serialize>(body: T) -> Reply {
    Ok(HttpResponse::Ok().json(body))
}

/// Who the request is and whether they may do `access`: the bearer token's holder (the kit
/// verified the token and its roles before the handler ran), else the cmdb user whose api key
/// signed it. Returns the actor and the parameters without `_key` / `_secret` / `_ts` (with a
/// bearer token they are ignored).
async fn guard(
    cmdb: &Cmdb,
    req: &HttpRequest,
    bearer: Option<Caller>,
    p: Params,
    access: CmdbAccess,
) -> Result<(Actor, Params), Error> {
    let mut map: Map<String, Value> = p.into_struct()?;
    let raw = req
        .extensions()
        .get::<kit::params::RawJsonBody>()
        .map(|body| crate::auth::raw_numbers(&body.0))
        .unwrap_or_default();
    let actor = match bearer {
        Some(caller) => {
            // The route table's decision is `access.decision()`; checked again here so that a
            // handler and its table entry cannot disagree in the caller's favour.
            if !access.decision().admits(&caller.principal) {
                return Err(Error::Forbidden(format!(
                    "{} lacks the role this needs ({})",
                    caller.subject(),
                    access.decision().describe()
                )));
            }
            for name in ["_key", "_secret", "_ts"] {
                map.remove(name);
            }
            Actor::of_token(&caller.principal)
        }
        None => {
            cmdb.authenticate(req.path(), access, &mut map, &raw)
                .await?
        }
    };
    // A number `serde_json` holds as a float (an integer beyond 64 bits, or any float) goes
    // on as the text the client wrote, so that a value is stored with every digit it had.
    for (name, value) in map.iter_mut() {
        if let (Value::Number(n), Some(text)) = (&*value, raw.get(name)) {
            if n.is_f64() {
                *value = Value::String(text.clone());
            }
        }
    }
    Ok((actor, Params::from_map(map)))
}

/// [`guard`] for a route that takes no parameter besides the signature's.
async fn guard_only(
    cmdb: &Cmdb,
    req: &HttpRequest,
    bearer: Option<Caller>,
    p: Params,
    access: CmdbAccess,
) -> Result<Actor, Error> {
    let (actor, p) = guard(cmdb, req, bearer, p, access).await?;
    p.finish()?;
    Ok(actor)
}

/// A numeric path segment; the message names it.
fn path_id(req: &HttpRequest, name: &str) -> Result<i64, Error> {
    let text = req.match_info().get(name).unwrap_or_default();
    text.parse().map_err(|_| {
        Error::BadArgument(format!(
            "invalid path parameter `{name}`: `{text}` is not an integer"
        ))
    })
}

fn page(p: &mut Params) -> Result<i64, Error> {
    let page: i64 = p.take_int("page")?.unwrap_or(1);
    if page < 1 {
        return Err(Error::BadArgument(
            "invalid parameter `page`: pages count from 1".into(),
        ));
    }
    Ok(page)
}

fn page_size(p: &mut Params, names: &[&str], default: i64) -> Result<i64, Error> {
    let mut size = None;
    for name in names {
        if let Some(n) = p.take_int::<i64>(name)? {
            if !(1..=MAX_PAGE_SIZE).contains(&n) {
                return Err(Error::BadArgument(format!(
                    "invalid parameter `{name}`: must be between 1 and {MAX_PAGE_SIZE}"
                )));
            }
            size = size.or(Some(n));
        }
    }
    Ok(size.unwrap_or(default))
}

fn ret_key(p: &mut Params) -> Result<RetKey, Error> {
    RetKey::parse(p.take_str("ret_key")?.as_deref())
}

/// `attr_id` as `1,2,3` (or a JSON list).
fn attr_ids(p: &mut Params) -> Result<Vec<i64>, Error> {
    let text = p.require_str("attr_id")?;
    text.trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>().map_err(|_| {
                Error::BadArgument(format!(
                    "invalid parameter `attr_id`: `{s}` is not an attribute id"
                ))
            })
        })
        .collect()
}

// ---- attributes ----

async fn list_attributes(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    let q = p.take_str("q")?;
    p.finish()?;
    ok(cmdb.list_attributes(q).await?)
}

async fn get_attribute(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    guard_only(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    let key = req.match_info().get("key").unwrap_or_default().to_string();
    ok(cmdb.attribute(key).await?)
}

/// The attribute's fields; `choice_value` may be a JSON list, which `take_str` refuses, so
/// it is read from the raw map.
fn attr_input(p: Params) -> Result<(Params, AttrInput), Error> {
    let mut map: Map<String, Value> = p.into_struct()?;
    let choice_value = map.remove("choice_value").filter(|v| !v.is_null());
    let mut p = Params::from_map(map);
    let input = AttrInput {
        name: p.take_str("attr_name")?,
        alias: p.take_str("attr_alias")?,
        value_type: p.take_str("value_type")?,
        is_choice: p.take_bool("is_choice")?,
        choice_value,
        is_multivalue: p.take_bool("is_multivalue")?,
        is_uniq: p.take_bool("is_uniq")?,
    };
    Ok((p, input))
}

async fn add_attribute(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    let (p, input) = attr_input(p)?;
    p.finish()?;
    ok(cmdb.add_attribute(input).await?)
}

async fn update_attribute(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    let id = path_id(&req, "key")?;
    let (p, input) = attr_input(p)?;
    p.finish()?;
    ok(cmdb.update_attribute(id, input).await?)
}

async fn delete_attribute(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    guard_only(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    let id = path_id(&req, "key")?;
    ok(cmdb.delete_attribute(id).await?)
}

async fn type_attributes(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    guard_only(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    ok(cmdb.type_attributes(path_id(&req, "type_id")?).await?)
}

async fn bind_attributes(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    let type_id = path_id(&req, "type_id")?;
    let ids = attr_ids(&mut p)?;
    let required = p.take_bool("is_required")?.unwrap_or(false);
    p.finish()?;
    ok(cmdb.bind_attributes(type_id, ids, required).await?)
}

async fn unbind_attributes(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    let type_id = path_id(&req, "type_id")?;
    let ids = attr_ids(&mut p)?;
    p.finish()?;
    ok(cmdb.unbind_attributes(type_id, ids).await?)
}

// ---- CI types ----

async fn list_types(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    let name = p.take_str("type_name")?;
    p.finish()?;
    ok(cmdb.list_types(name).await?)
}

async fn query_type(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    let key = p.require_str("type")?;
    p.finish()?;
    ok(cmdb.query_type(key).await?)
}

fn type_input(p: &mut Params) -> Result<TypeInput, Error> {
    Ok(TypeInput {
        name: p.take_str("type_name")?,
        alias: p.take_str("type_alias")?,
        unique_id: p.take_int("_id")?,
        unique: p.take_str("unique")?.filter(|u| !u.trim().is_empty()),
        icon_url: p.take_str("icon_url")?,
        enabled: p.take_bool("enabled")?,
    })
}

async fn add_type(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    let input = type_input(&mut p)?;
    p.finish()?;
    ok(cmdb.add_type(input).await?)
}

async fn update_type(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    let id = path_id(&req, "type_id")?;
    let input = type_input(&mut p)?;
    p.finish()?;
    ok(cmdb.update_type(id, input).await?)
}

async fn enable_type(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    // GET changes state here too (the seed allows GET/POST): always a signed admin write.
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    let id = path_id(&req, "type_id")?;
    let enabled = p.take_bool("enabled")?.unwrap_or(true);
    p.finish()?;
    ok(cmdb.set_type_enabled(id, enabled).await?)
}

async fn delete_type(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    guard_only(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    ok(cmdb.delete_type(path_id(&req, "type_id")?).await?)
}

// ---- relations of types and of CIs ----

async fn relation_types(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    guard_only(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    ok(w::RelationTypes {
        relation_types: crate::model::RELATION_TYPES
            .iter()
            .map(|s| s.to_string())
            .collect(),
    })
}

async fn type_children(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    guard_only(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    ok(cmdb.type_children(path_id(&req, "id")?).await?)
}

async fn type_parents(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    guard_only(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    ok(cmdb.type_parents(path_id(&req, "id")?).await?)
}

async fn add_type_relation(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    let (parent, child) = (path_id(&req, "parent")?, path_id(&req, "child")?);
    let kind = p.take_str("relation_type")?;
    p.finish()?;
    ok(cmdb.add_type_relation(parent, child, kind).await?)
}

async fn delete_type_relation(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    guard_only(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    ok(cmdb.delete_type_relation(path_id(&req, "ctr_id")?).await?)
}

async fn second_cis(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    guard_only(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    let (numfound, second_cis) = cmdb.related_cis(path_id(&req, "id")?, true).await?;
    ok(w::SecondCis {
        numfound,
        second_cis,
    })
}

async fn ci_graph(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    let depth: i64 = p.take_int("depth")?.unwrap_or(1);
    p.finish()?;
    ok(cmdb.ci_graph(path_id(&req, "id")?, depth).await?)
}

async fn first_cis(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    guard_only(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    let (numfound, first_cis) = cmdb.related_cis(path_id(&req, "id")?, false).await?;
    ok(w::FirstCis {
        numfound,
        first_cis,
    })
}

async fn add_ci_relation(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (caller, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Write).await?;
    let (first, second) = (path_id(&req, "first")?, path_id(&req, "second")?);
    let kind = p.take_str("relation_type")?;
    let more = p.take_int("more")?;
    p.finish()?;
    ok(cmdb
        .add_ci_relation(caller, (first, second), kind, more, false)
        .await?)
}

/// `POST /ci_relations/<src_ci_id>/<dst_ci_id>` (veops CMDB): an existing relation answers
/// its id; the kind is `relation_type`, else the CI types' relation's, else `contain`.
async fn veops_add_ci_relation(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (caller, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Write).await?;
    let (first, second) = (path_id(&req, "first")?, path_id(&req, "second")?);
    let kind = p.take_str("relation_type")?;
    let more = p.take_int("more")?;
    p.finish()?;
    ok(cmdb
        .add_ci_relation(caller, (first, second), kind, more, true)
        .await?)
}

/// `GET /ci_relations/s` (veops CMDB): the CIs `level` hops from `root_id` (`1`, or several
/// as `1,2,3`), along relations to their second CIs or with `reverse` to their first, that
/// the search parameters of `/ci/s` match.
async fn relation_search(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    let root_id = p.take_int("root_id")?.ok_or_else(|| {
        Error::BadArgument("missing parameter `root_id`: the CI to search under".into())
    })?;
    let levels = match p.take_str("level")? {
        None => vec![1],
        Some(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<i64>().map_err(|_| {
                    Error::BadArgument(format!(
                        "invalid parameter `level`: `{s}` is not a level (1, or 1,2,3)"
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let reverse = p.take_bool("reverse")?.unwrap_or(false);
    let input = search_input(&mut p)?;
    p.finish()?;
    let walk = RelationWalk {
        root_id,
        levels,
        reverse,
    };
    ok(cmdb.relation_search(walk, input).await?)
}

// ---- CI types under veops CMDB's names (`/ci_types`) ----

/// veops' fields of a CI type: `name`, `alias`, `unique_key` (the unique attribute by name,
/// alias or id) or `unique_id`, `icon`, `enabled`.
fn veops_type_input(p: &mut Params) -> Result<TypeInput, Error> {
    let name = p.take_str("name")?;
    let alias = p.take_str("alias")?;
    let mut unique_id = p.take_int("unique_id")?;
    let mut unique = None;
    if let Some(key) = p.take_str("unique_key")?.filter(|k| !k.trim().is_empty()) {
        match key.trim().parse::<i64>() {
            Ok(id) => unique_id = unique_id.or(Some(id)),
            Err(_) => unique = Some(key),
        }
    }
    Ok(TypeInput {
        name,
        alias,
        unique_id,
        unique,
        icon_url: p.take_str("icon")?,
        enabled: p.take_bool("enabled")?,
    })
}

async fn veops_list_types(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    let name = p.take_str("type_name")?;
    p.finish()?;
    let list = cmdb.list_types(name).await?;
    ok(w::VeopsCiTypeList {
        numfound: list.numfound,
        ci_types: list.citypes.into_iter().map(Into::into).collect(),
    })
}

/// One type by id (404 when missing) or by name or alias (an empty list when missing, as
/// veops answers).
async fn veops_get_type(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    guard_only(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    let key = req.match_info().get("key").unwrap_or_default().to_string();
    let by_id = key.trim().parse::<i64>().is_ok();
    let ci_types: Vec<w::VeopsCiType> = match cmdb.query_type(key).await {
        Ok(one) => vec![one.citype.into()],
        Err(Error::NotFound(_)) if !by_id => Vec::new(),
        Err(e) => return Err(e),
    };
    ok(w::VeopsCiTypeList {
        numfound: ci_types.len() as i64,
        ci_types,
    })
}

async fn veops_add_type(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    let input = veops_type_input(&mut p)?;
    p.finish()?;
    if input.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(Error::BadArgument("missing parameter `name`".into()));
    }
    ok(cmdb.add_type(input).await?)
}

async fn veops_update_type(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    let id = path_id(&req, "key")?;
    let input = veops_type_input(&mut p)?;
    p.finish()?;
    ok(cmdb.update_type(id, input).await?)
}

async fn veops_delete_type(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    guard_only(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    let id = path_id(&req, "key")?;
    cmdb.delete_type(id).await?;
    ok(w::TypeId { type_id: id })
}

/// `DELETE /cirelations/delete/<cr_id>` (the seed) and `DELETE /ci_relations/<cr_id>` (veops).
async fn delete_ci_relation(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let caller = guard_only(&cmdb, &req, bearer, p, CmdbAccess::Write).await?;
    ok(cmdb
        .delete_ci_relation(caller, path_id(&req, "cr_id")?)
        .await?)
}

// ---- CIs ----

async fn cis_of_type(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    let type_id = path_id(&req, "type_id")?;
    let fields = p.take_str("fields")?;
    let ret = ret_key(&mut p)?;
    let page = page(&mut p)?;
    p.finish()?;
    ok(cmdb.cis_of_type(type_id, fields, ret, page).await?)
}

async fn get_ci(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    let ret = ret_key(&mut p)?;
    p.finish()?;
    ok(cmdb.ci(path_id(&req, "ci_id")?, ret).await?)
}

fn no_attribute_policy(text: Option<&str>) -> Result<bool, Error> {
    match text.map(str::trim) {
        None | Some("") | Some("ignore") => Ok(false),
        Some("reject") => Ok(true),
        Some(other) => Err(Error::BadArgument(format!(
            "invalid parameter `_no_attribute_policy`: `{other}` is not one of ignore, reject"
        ))),
    }
}

/// The body of `POST /ci/batch` (JSON: rows are objects, which a form cannot carry).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    ci_type: Option<String>,
    _no_attribute_policy: Option<String>,
    cis: Vec<Map<String, Value>>,
}

async fn batch_cis(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (caller, p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Write).await?;
    let body: BatchBody = p.into_struct()?;
    let default_policy = no_attribute_policy(body._no_attribute_policy.as_deref())?;
    let mut rows = Vec::with_capacity(body.cis.len());
    for (index, mut fields) in body.cis.into_iter().enumerate() {
        // A row may name its own type and policy; its id (`_id` or `ci_id`) makes it an update.
        let text = |v: Option<Value>| v.as_ref().and_then(json_text);
        let ci_type = text(fields.remove("ci_type"))
            .or_else(|| body.ci_type.clone())
            .unwrap_or_default();
        let policy = match text(fields.remove("_no_attribute_policy")) {
            Some(p) => no_attribute_policy(Some(&p))?,
            None => default_policy,
        };
        let id = fields.remove("ci_id").or_else(|| fields.remove("_id"));
        let ci_id = match id {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                    .ok_or_else(|| {
                        Error::BadArgument(format!(
                            "invalid parameter `cis[{index}]._id`: `{v}` is not a CI id"
                        ))
                    })?,
            ),
        };
        rows.push(CiWrite {
            ci_type,
            reject_unknown: policy,
            ci_id,
            fields,
        });
    }
    ok(cmdb.batch_cis(caller, rows).await?)
}

/// A JSON scalar as text (a type name given as a number is an id).
fn json_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `_no_attribute_policy` (the seed's name) or `no_attribute_policy` (veops CMDB's); both
/// given must agree.
fn either_no_attribute_policy(p: &mut Params) -> Result<bool, Error> {
    let seed = p.take_str("_no_attribute_policy")?;
    let veops = p.take_str("no_attribute_policy")?;
    match (seed, veops) {
        (Some(a), Some(b)) if a.trim() != b.trim() => Err(Error::BadArgument(format!(
            "invalid parameter `no_attribute_policy`: `{b}` disagrees with \
             `_no_attribute_policy` `{a}` (give one)"
        ))),
        (a, b) => no_attribute_policy(a.or(b).as_deref()),
    }
}

/// The CI id of an update given as `ci_id` or `_id`.
fn update_id(p: &mut Params) -> Result<Option<i64>, Error> {
    Ok(match p.take_int("ci_id")? {
        Some(id) => Some(id),
        None => p.take_int("_id")?,
    })
}

async fn add_ci(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (caller, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Write).await?;
    let ci_type = p.require_str("ci_type")?;
    let reject_unknown = either_no_attribute_policy(&mut p)?;
    let policy = ExistPolicy::parse(p.take_str("exist_policy")?.as_deref())?;
    let fields: Map<String, Value> = p.into_struct()?;
    let input = CiWrite {
        ci_type,
        reject_unknown,
        ci_id: None,
        fields,
    };
    ok(cmdb.add_ci(caller, policy, input).await?)
}

async fn update_ci(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (caller, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Write).await?;
    let ci_type = p.require_str("ci_type")?;
    let reject_unknown = either_no_attribute_policy(&mut p)?;
    let ci_id = update_id(&mut p)?;
    let fields: Map<String, Value> = p.into_struct()?;
    let input = CiWrite {
        ci_type,
        reject_unknown,
        ci_id,
        fields,
    };
    ok(cmdb.write_ci(caller, WriteMode::Update, input).await?)
}

/// `PUT /ci/<ci_id>` (veops CMDB's `update_ci(payload, ci_id=N)`): the CI by its id;
/// `ci_type` may be left out (it is the CI's), and when given must be the CI's.
async fn update_ci_by_id(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (caller, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Write).await?;
    let id = path_id(&req, "ci_id")?;
    let ci_type = p.take_str("ci_type")?.unwrap_or_default();
    let reject_unknown = either_no_attribute_policy(&mut p)?;
    if let Some(other) = update_id(&mut p)?.filter(|other| *other != id) {
        return Err(Error::BadArgument(format!(
            "invalid parameter `ci_id`: {other} is not the CI of the path ({id})"
        )));
    }
    let fields: Map<String, Value> = p.into_struct()?;
    let input = CiWrite {
        ci_type,
        reject_unknown,
        ci_id: Some(id),
        fields,
    };
    ok(cmdb.write_ci(caller, WriteMode::Update, input).await?)
}

async fn delete_ci(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let caller = guard_only(&cmdb, &req, bearer, p, CmdbAccess::Write).await?;
    ok(cmdb.delete_ci(caller, path_id(&req, "ci_id")?).await?)
}

async fn search(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    let input = search_input(&mut p)?;
    p.finish()?;
    ok(cmdb.search(input).await?)
}

/// The parameters of `/ci/s`, which `/ci_relations/s` takes too.
fn search_input(p: &mut Params) -> Result<SearchInput, Error> {
    Ok(SearchInput {
        q: p.take_str("q")?.unwrap_or_default(),
        types: p.take_str("_type")?,
        ids: p.take_str("_id")?,
        fl: p.take_str("fl")?,
        ret_key: ret_key(p)?,
        count: page_size(p, &["count", "page_size"], CI_PAGE_SIZE)?,
        page: page(p)?,
        facet: p.take_str("facet")?,
        sort: p.take_str("sort")?,
        within: None,
    })
}

// ---- history ----

async fn history(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    let input = HistoryInput {
        username: p.take_str("username")?,
        start: p.take_str("start")?,
        end: p.take_str("end")?,
        page: page(&mut p)?,
        page_size: page_size(&mut p, &["page_size"], HISTORY_PAGE_SIZE)?,
    };
    p.finish()?;
    ok(cmdb.history(input).await?)
}

async fn history_record(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    guard_only(&cmdb, &req, bearer, p, CmdbAccess::Read).await?;
    ok(cmdb.history_record(path_id(&req, "record_id")?).await?)
}

// ---- users (beyond the seed: admins create users and read their keys) ----

async fn create_user(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    let (_, mut p) = guard(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    let username = p.require_str("username")?;
    let is_admin = p.take_bool("is_admin")?.unwrap_or(false);
    p.finish()?;
    ok(cmdb.create_user(username, is_admin).await?)
}

async fn get_user(
    cmdb: web::Data<Cmdb>,
    req: HttpRequest,
    bearer: Option<Caller>,
    p: Params,
) -> Reply {
    // Reading a user shows its secret: admins only, even when reads are open.
    guard_only(&cmdb, &req, bearer, p, CmdbAccess::Admin).await?;
    let name = req
        .match_info()
        .get("username")
        .unwrap_or_default()
        .to_string();
    ok(cmdb.user(name).await?)
}

#[cfg(test)]
mod tests {
    kit::route_docs_test!("cmdb.md");
}
