//! HTTP <-> domain. Each seed route is `/<route>` and `/<route>/` (reads GET or POST, writes
//! POST), parameters from
//! the query string, a form or a JSON body; handlers read parameters, call the registry, and
//! wrap the answer in the seed's envelope.
//!
//! Who is asking: a bearer token the kit verified (`Some(Caller)`), or, on a request without
//! `Authorization`, the seed's `key` — every route takes it ([`RouteTable::seed_credential`]).
//! [`identity`] turns either into the registry's [`Identity`].

mod openapi;

use actix_web::http::header::ContentType;
use actix_web::web::Bytes;
use actix_web::HttpResponseBuilder;
use actix_web::{web, HttpResponse};
use kit::access::{Access as Allow, Caller};
use kit::auth::Role;
use kit::routes::Effect::{Read, Write};
use kit::routes::{Refusal, RouteTable, GET};
use serde::Serialize;
use wire::soa_registry::{
    Done, Failure, ServiceEntry, ServiceList, Stale as StaleMark, CODE_FAILURE, CODE_SUCCESS,
    STALE_HEADER,
};

use crate::error::Error;
use crate::registry::{Access, Identity, Registry, Stale, KEY_ROLE};

type Params = kit::Params<Error>;

/// The seed's routes, in its order.
pub const ROUTES: [&str; 6] = [
    "servicelist",
    "addservice",
    "delservice",
    "serverlist",
    "addserver",
    "delserver",
];

/// Routes beyond the seed, served the same way (both spellings).
pub const EXTRA_ROUTES: [&str; 1] = ["servicelist_all"];

/// Every route, as `/<route>` and `/<route>/`: the reads (`servicelist`, `serverlist`,
/// `servicelist_all`) answer GET, as the seed says, and POST; the writes answer POST only.
///
/// Who may call: reads viewer; member writes operator, or a peer service (the task-engine's
/// `register` / `unregister` steps call `addservice`, `addserver`, `serverlist` and
/// `delserver`), limited to its `service_zkidcs`; `delservice` (which may delete every
/// member of a service) operator only. Zkidcs are configuration: no route defines them. The
/// seed's `key` stands in for a token on every route.
pub fn table() -> RouteTable {
    const VIEWER: Allow = Allow::Role(Role::Viewer);
    const VIEWER_OR_SERVICE: Allow = Allow::AnyOf(&[Role::Viewer, Role::Service]);
    const OPERATOR: Allow = Allow::Role(Role::Operator);
    const OPERATOR_OR_SERVICE: Allow = Allow::AnyOf(&[Role::Operator, Role::Service]);
    RouteTable::new(envelope)
        .function("/servicelist", Read, servicelist)
        .allow(VIEWER)
        .seed_credential()
        .function("/addservice", Write, addservice)
        .allow(OPERATOR_OR_SERVICE)
        .seed_credential()
        .function("/delservice", Write, delservice)
        .allow(OPERATOR)
        .seed_credential()
        .function("/serverlist", Read, serverlist)
        .allow(VIEWER_OR_SERVICE)
        .seed_credential()
        .function("/addserver", Write, addserver)
        .allow(OPERATOR_OR_SERVICE)
        .seed_credential()
        .function("/delserver", Write, delserver)
        .allow(OPERATOR_OR_SERVICE)
        .seed_credential()
        .function("/servicelist_all", Read, servicelist_all)
        .allow(VIEWER)
        .seed_credential()
        .read("/openapi.json", GET, openapi::spec)
        .allow(Allow::Public)
}

/// The kit's refusals (404, 405, limits) in the seed's envelope.
fn envelope(refusal: &Refusal) -> HttpResponse {
    let reason = match refusal {
        Refusal::NotFound { .. } => format!(
            "{refusal} (routes: {}/)",
            ROUTES
                .iter()
                .chain(EXTRA_ROUTES.iter())
                .copied()
                .collect::<Vec<_>>()
                .join("/, ")
        ),
        Refusal::Unauthenticated { .. } => format!(
            "{refusal} (send `Authorization: Bearer <access token>`, or no such header and \
             the parameter `key`)"
        ),
        Refusal::Forbidden { .. } | Refusal::NoDecision | Refusal::AuthUnavailable { .. } => {
            refusal.to_string()
        }
        Refusal::MethodNotAllowed { .. }
        | Refusal::CrossSite { .. }
        | Refusal::UriTooLong { .. }
        | Refusal::BodyTooLarge { .. }
        | Refusal::BodyTimeout { .. }
        | Refusal::BodyUnreadable { .. } => refusal.to_string(),
    };
    HttpResponse::build(refusal.status()).json(Failure {
        code: CODE_FAILURE,
        reason,
    })
}

/// Who is asking, for a route whose people's role is `role` (viewer for reads, operator for
/// writes). With a bearer token the kit verified, `key`/`keys` are taken and ignored (clients
/// keep sending them); without one, the seed's `key` (or the examples' `keys`; a non-empty
/// `key` wins when both come) is the identity of its owner, with the operator's role.
fn identity(
    registry: &Registry,
    caller: Option<Caller>,
    p: &mut Params,
    role: Role,
) -> Result<Identity, Error> {
    let key = p.take_str("key")?.filter(|k| !k.trim().is_empty());
    let keys = p.take_str("keys")?;
    let Some(caller) = caller else {
        let identity = registry.key_identity(key.or(keys).as_deref())?;
        if !KEY_ROLE.covers(role) {
            return Err(Error::Forbidden(format!(
                "a key may not do this: it needs the role {}",
                role.name()
            )));
        }
        return Ok(identity);
    };
    let via = caller.via.as_deref();
    if caller.principal.has(role) {
        return Ok(Identity::person(caller.subject(), via));
    }
    // Past the kit's door without the people's role: only a peer service's role lets in.
    if caller.principal.has(Role::Service) {
        return Ok(registry.service_identity(caller.subject(), via));
    }
    Err(Error::Forbidden(format!(
        "{} may not do this: it needs the role {}",
        caller.subject(),
        role.name()
    )))
}

/// [`identity`] and `zkidc`: the request allowed on one zkidc.
fn access(
    registry: &Registry,
    caller: Option<Caller>,
    p: &mut Params,
    role: Role,
) -> Result<Access, Error> {
    let identity = identity(registry, caller, p, role)?;
    let zkidc = p.take_str("zkidc")?;
    registry.authorize(&identity, zkidc.as_deref())
}

fn dest_name(p: &mut Params) -> Result<String, Error> {
    Ok(p.require_str("destName")?.trim().to_string())
}

fn done() -> HttpResponse {
    HttpResponse::Ok().json(Done {
        code: CODE_SUCCESS,
        key: None,
        existed: None,
    })
}

async fn servicelist(
    registry: web::Data<Registry>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let access = access(&registry, caller, &mut p, Role::Viewer)?;
    // The seed's example sends destName here too; it means nothing for a list of services.
    let _ignored = p.take_str("destName")?;
    p.finish()?;
    let read = registry.services(&access).await?;
    let mut reply = HttpResponse::Ok();
    let stale = read.stale.as_ref().map(|stale| mark(&mut reply, stale));
    Ok(reply.json(ServiceList {
        code: CODE_SUCCESS,
        services: read
            .value
            .into_iter()
            .map(|service| ServiceEntry { service })
            .collect(),
        stale,
    }))
}

/// A stale read's mark: the `stale` field, and the headers `X-Dcp-Stale-Seconds` (the same
/// seconds) and `Age` (whole seconds, RFC 9111: the answer comes from a cache).
fn mark(reply: &mut HttpResponseBuilder, stale: &Stale) -> StaleMark {
    // Milliseconds, so that the header and the field say the very same number.
    let age_seconds = (stale.age.as_millis() as f64) / 1000.0;
    reply.insert_header((STALE_HEADER, format!("{age_seconds:.3}")));
    reply.insert_header((
        actix_web::http::header::AGE,
        stale.age.as_secs().to_string(),
    ));
    StaleMark {
        age_seconds,
        reason: stale.reason.clone(),
    }
}

/// `{"code":1,"servers":[...]}` (as encoded once per listing) with `"stale":{...}` added.
fn with_stale(json: &Bytes, stale: &StaleMark) -> Result<Bytes, Error> {
    let mark = serde_json::to_vec(stale).map_err(|e| {
        Error::Internal(kit::error::Fault::caused_by(
            format!("cannot encode the stale mark: {e}"),
            e,
        ))
    })?;
    let Some(body) = json.strip_suffix(b"}") else {
        return Err(Error::Internal("a listing is not a JSON object".into()));
    };
    let mut out = Vec::with_capacity(json.len() + mark.len() + 10);
    out.extend_from_slice(body);
    out.extend_from_slice(b",\"stale\":");
    out.extend_from_slice(&mark);
    out.push(b'}');
    Ok(Bytes::from(out))
}

/// `servicelist_all/`: one entry per zkidc the caller may use, each a success with its
/// services or a failure with its reason.
#[derive(Debug, Serialize)]
struct ServiceListAll {
    code: i32,
    zkidcs: Vec<ZkidcServices>,
}

#[derive(Debug, Serialize)]
struct ZkidcServices {
    zkidc: String,
    code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    services: Option<Vec<ServiceEntry>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Services from the zkidc's last view, while its ZooKeeper cannot be reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    stale: Option<StaleMark>,
}

async fn servicelist_all(
    registry: web::Data<Registry>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let identity = identity(&registry, caller, &mut p, Role::Viewer)?;
    p.finish()?;
    let accesses = registry.authorize_all(&identity);
    let zkidcs = registry
        .list_services_everywhere(&accesses)
        .await
        .into_iter()
        .map(|(zkidc, listed)| match listed {
            Ok(read) => ZkidcServices {
                zkidc,
                code: CODE_SUCCESS,
                services: Some(
                    read.value
                        .into_iter()
                        .map(|service| ServiceEntry { service })
                        .collect(),
                ),
                reason: None,
                stale: read.stale.map(|stale| StaleMark {
                    age_seconds: (stale.age.as_millis() as f64) / 1000.0,
                    reason: stale.reason,
                }),
            },
            Err(e) => ZkidcServices {
                zkidc,
                code: CODE_FAILURE,
                services: None,
                reason: Some(e.to_string()),
                stale: None,
            },
        })
        .collect();
    Ok(HttpResponse::Ok().json(ServiceListAll {
        code: CODE_SUCCESS,
        zkidcs,
    }))
}

async fn addservice(
    registry: web::Data<Registry>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let access = access(&registry, caller, &mut p, Role::Operator)?;
    let service = dest_name(&mut p)?;
    p.finish()?;
    registry.add_service(&access, &service).await?;
    Ok(done())
}

async fn delservice(
    registry: web::Data<Registry>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let access = access(&registry, caller, &mut p, Role::Operator)?;
    let service = dest_name(&mut p)?;
    let force = p.take_bool("force")?.unwrap_or(false);
    p.finish()?;
    registry.del_service(&access, &service, force).await?;
    Ok(done())
}

async fn serverlist(
    registry: web::Data<Registry>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let access = access(&registry, caller, &mut p, Role::Viewer)?;
    let service = dest_name(&mut p)?;
    p.finish()?;
    // Encoded once per change of the service, not once per request (see Registry::listing).
    let read = registry.servers(&access, &service).await?;
    let mut reply = HttpResponse::Ok();
    reply.content_type(ContentType::json());
    match &read.stale {
        None => Ok(reply.body(read.value.json.clone())),
        Some(stale) => {
            let stale = mark(&mut reply, stale);
            Ok(reply.body(with_stale(&read.value.json, &stale)?))
        }
    }
}

async fn addserver(
    registry: web::Data<Registry>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let access = access(&registry, caller, &mut p, Role::Operator)?;
    let service = dest_name(&mut p)?;
    let host = p.require_str("serverHost")?.trim().to_string();
    let port = server_port(&mut p)?;
    p.finish()?;
    let (key, existed) = registry.add_server(&access, &service, &host, port).await?;
    Ok(HttpResponse::Ok().json(Done {
        code: CODE_SUCCESS,
        key: Some(key),
        existed: Some(existed),
    }))
}

async fn delserver(
    registry: web::Data<Registry>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let access = access(&registry, caller, &mut p, Role::Operator)?;
    let service = dest_name(&mut p)?;
    let key = p.require_str("serverKey")?.trim().to_string();
    p.finish()?;
    registry.del_server(&access, &service, &key).await?;
    Ok(done())
}

fn server_port(p: &mut Params) -> Result<u16, Error> {
    let invalid = || Error::BadArgument("invalid serverPort: a port from 1 to 65535".into());
    let port: i64 = match p.take_int("serverPort") {
        Ok(Some(port)) => port,
        Ok(None) => return Err(Error::BadArgument("missing parameter `serverPort`".into())),
        Err(_) => return Err(invalid()),
    };
    u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    kit::route_docs_test!("soa-registry.md");

    #[test]
    fn a_stale_listing_is_the_listing_with_its_mark() {
        let json = super::Bytes::from_static(br#"{"code":1,"servers":[{"host":"h","port":1,"key":"member_0000000001","status":"ALIVE"}]}"#);
        let mark = super::StaleMark {
            age_seconds: 12.5,
            reason: "ZooKeeper unavailable (zk:2181): connection to server has lost".into(),
        };
        let out = super::with_stale(&json, &mark).expect("spliced");
        let parsed: wire::soa_registry::ServerList =
            serde_json::from_slice(&out).expect("still a ServerList");
        assert_eq!(parsed.servers.len(), 1);
        assert_eq!(parsed.stale, Some(mark));
        // A seed client reads `code` and `servers` as before.
        let value: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(value["code"], 1);
        assert_eq!(value["servers"][0]["key"], "member_0000000001");
    }
}
