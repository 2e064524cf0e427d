//! HTTP <-> domain. Every API route is a POST of key-value parameters (a form, as the seed's
//! clients send; JSON and the query string work too). Handlers read and check parameters,
//! call the portal, and wrap the answer in the `{"code","desc",...}` envelope.
//!
//! The seed's routes and logout ignore parameters they do not know (the original did, and its
//! users' scripts may send extras); our own routes refuse them, so that a typo is not lost.
//! The web page (`GET /`, `/ui/...`), a client of these same routes, is served by `page`.

mod oauth;
mod openapi;
mod page;
mod tokens;

use actix_web::{web, HttpRequest, HttpResponse};
use kit::access::{Access, Caller};
use kit::auth::{Grant, Role};
use kit::routes::Effect::{Read, Write};
use kit::routes::{Refusal, RouteTable, GET, POST};
use serde::Serialize;
use wire::cloud_portal::{self as w, Code, Envelope};

use crate::error::Error;
use crate::issuer::platform_roles;
use crate::portal::{self, Action, ImageRef, Portal, User, DEFAULT_SEPA, MAX_BATCH, MAX_SEPA};
use crate::store::GrantRow;

pub use page::PATHS as PAGE_PATHS;

type Params = kit::Params<Error>;

/// Every route, for the docs and the not-found answer.
pub const ROUTES: [&str; 29] = [
    "/api/login",
    "/api/logout",
    "/api/instance/baseinfo",
    "/api/myun/instance",
    "/api/instance/create",
    "/api/instance/query",
    "/api/instance/run",
    "/api/instance/stop",
    "/api/instance/reboot",
    "/api/instance/delete",
    "/api/service/instance/create",
    "/api/service/instance/return",
    "/api/admin/user/add",
    "/api/admin/user/list",
    "/api/admin/image/add",
    "/api/admin/image/list",
    "/api/admin/host/add",
    "/api/admin/host/list",
    "/api/admin/user/delete",
    "/api/admin/image/delete",
    "/api/admin/host/delete",
    "/api/token/create",
    "/api/token/list",
    "/api/token/revoke",
    "/api/admin/audit/list",
    "/api/admin/grant/add",
    "/api/admin/grant/delete",
    "/api/admin/grant/list",
    "/api/whoami",
];

/// Every route: the API answers POST only (as the seed says), at `path` and `path/`; the web
/// page and the OpenAPI document answer GET.
pub fn table() -> RouteTable {
    const SIGNED_IN: Access = Access::Authenticated;
    const ADMIN: Access = Access::Role(Role::Admin);
    const SERVICE: Access = Access::Role(Role::Service);
    // Signing in is how a caller gets a credential at all: public, like the token endpoint.
    // Every other seed route takes a bearer token or the seed's `session_key`; instances are
    // their owner's (any signed-in user manages their own, as in the seed).
    let table = RouteTable::new(envelope)
        .slashed("/api/login", POST, Write, login)
        .allow(Access::Public)
        .slashed("/api/logout", POST, Write, logout)
        .allow(SIGNED_IN)
        .seed_credential()
        .slashed("/api/instance/baseinfo", POST, Read, baseinfo)
        .allow(SIGNED_IN)
        .seed_credential()
        .slashed("/api/myun/instance", POST, Read, my_instances)
        .allow(SIGNED_IN)
        .seed_credential()
        .slashed("/api/instance/create", POST, Write, create_instance)
        .allow(SIGNED_IN)
        .seed_credential()
        .slashed("/api/instance/query", POST, Read, query_instance)
        .allow(SIGNED_IN)
        .seed_credential()
        .slashed("/api/instance/run", POST, Write, run_instance)
        .allow(SIGNED_IN)
        .seed_credential()
        .slashed("/api/instance/stop", POST, Write, stop_instance)
        .allow(SIGNED_IN)
        .seed_credential()
        .slashed("/api/instance/reboot", POST, Write, reboot_instance)
        .allow(SIGNED_IN)
        .seed_credential()
        .slashed("/api/instance/delete", POST, Write, delete_instance)
        .allow(SIGNED_IN)
        .seed_credential()
        .slashed("/api/service/instance/create", POST, Write, service_create)
        .allow(SERVICE)
        .seed_credential()
        .slashed("/api/service/instance/return", POST, Write, service_return)
        .allow(SERVICE)
        .seed_credential()
        .slashed("/api/admin/user/add", POST, Write, add_user)
        .allow(ADMIN)
        .seed_credential()
        .slashed("/api/admin/user/list", POST, Read, list_users)
        .allow(ADMIN)
        .seed_credential()
        .slashed("/api/admin/image/add", POST, Write, add_image)
        .allow(ADMIN)
        .seed_credential()
        .slashed("/api/admin/image/list", POST, Read, list_images)
        .allow(ADMIN)
        .seed_credential()
        .slashed("/api/admin/host/add", POST, Write, add_host)
        .allow(ADMIN)
        .seed_credential()
        .slashed("/api/admin/host/list", POST, Read, list_hosts)
        .allow(ADMIN)
        .seed_credential()
        .slashed("/api/admin/user/delete", POST, Write, delete_user)
        .allow(ADMIN)
        .seed_credential()
        .slashed("/api/admin/image/delete", POST, Write, delete_image)
        .allow(ADMIN)
        .seed_credential()
        .slashed("/api/admin/host/delete", POST, Write, delete_host)
        .allow(ADMIN)
        .seed_credential()
        .slashed("/api/admin/grant/add", POST, Write, add_grant)
        .allow(ADMIN)
        .seed_credential()
        .slashed("/api/admin/grant/delete", POST, Write, delete_grant)
        .allow(ADMIN)
        .seed_credential()
        .slashed("/api/admin/grant/list", POST, Read, list_grants)
        .allow(ADMIN)
        .seed_credential()
        // Who the caller is: a read, so GET as well as the seed style's POST.
        .function("/api/whoami", Read, whoami)
        .allow(SIGNED_IN)
        .seed_credential()
        .read("/openapi.json", GET, openapi::spec)
        .allow(Access::Public)
        .read("/.well-known/openid-configuration", GET, oauth::discovery)
        .allow(Access::Public)
        .read("/oauth/jwks", GET, oauth::jwks)
        .allow(Access::Public)
        .write("/oauth/token", POST, oauth::token)
        .allow(Access::Public)
        // Not secret (an id opens nothing): every service's verifier polls it.
        .read("/oauth/revoked", GET, tokens::revoked)
        .allow(Access::Public)
        .slashed("/api/token/create", POST, Write, tokens::create)
        .allow(SIGNED_IN)
        .seed_credential()
        .slashed("/api/token/list", POST, Read, tokens::list)
        .allow(SIGNED_IN)
        .seed_credential()
        .slashed("/api/token/revoke", POST, Write, tokens::revoke)
        .allow(SIGNED_IN)
        .seed_credential()
        .slashed("/api/admin/audit/list", POST, Read, audit_list)
        .allow(ADMIN)
        .seed_credential();
    page::routes(table)
}

/// The kit's refusals (404, 405, limits) in the seed's envelope.
fn envelope(refusal: &Refusal) -> HttpResponse {
    let code = match refusal {
        Refusal::NotFound { .. } => Code::NotFound,
        Refusal::Unauthenticated { .. } => Code::RequiresAuthentication,
        Refusal::Forbidden { .. } | Refusal::NoDecision => Code::Refused,
        Refusal::AuthUnavailable { .. } => Code::Unavailable,
        Refusal::MethodNotAllowed { .. }
        | Refusal::CrossSite { .. }
        | Refusal::UriTooLong { .. }
        | Refusal::BodyTooLarge { .. }
        | Refusal::BodyTimeout { .. }
        | Refusal::BodyUnreadable { .. } => Code::BadArgument,
    };
    let desc = match refusal {
        Refusal::NotFound { .. } => {
            format!(
                "{refusal} (routes: {}; see /openapi.json)",
                ROUTES.join(", ")
            )
        }
        _ => refusal.to_string(),
    };
    HttpResponse::build(refusal.status()).json(Envelope {
        code: code as i32,
        desc,
        body: w::Empty {},
    })
}

fn ok<T: Serialize>(desc: impl Into<String>, body: T) -> HttpResponse {
    HttpResponse::Ok().json(Envelope {
        code: Code::Success as i32,
        desc: desc.into(),
        body,
    })
}

// ---- parameters shared by the routes ----

/// The caller: the user of a verified bearer token (the kit checked it), or of the seed's
/// `session_key`.
async fn session(portal: &Portal, caller: &Option<Caller>, p: &mut Params) -> Result<User, Error> {
    let key = p.take_str("session_key")?;
    match caller {
        Some(caller) => {
            let role = portal_role(&caller.principal);
            portal
                .user_of_token(caller.subject().to_string(), role)
                .await
        }
        None => portal.authenticate(key).await,
    }
}

/// The portal role a token's platform roles give: admin, service, or an ordinary user (who
/// manages their own instances).
fn portal_role(principal: &kit::auth::Principal) -> &'static str {
    if principal.has(Role::Admin) {
        w::ROLE_ADMIN
    } else if principal.roles.contains(&Role::Service) {
        w::ROLE_SERVICE
    } else {
        w::ROLE_USER
    }
}

/// `instance_id`, with the original's answer when it is missing (or 0, as the original read it).
fn instance_id(p: &mut Params) -> Result<i64, Error> {
    const GIVE_ME: &str = "Give me instance_id please.";
    let text = match p.take_str("instance_id")? {
        Some(text) if !text.trim().is_empty() => text,
        _ => return Err(Error::BadArgument(GIVE_ME.into())),
    };
    match text.trim().parse::<i64>() {
        Ok(0) => Err(Error::BadArgument(GIVE_ME.into())),
        Ok(id) if id > 0 => Ok(id),
        _ => Err(Error::BadArgument(format!(
            "Invalid instance_id: `{text}` is not a positive integer"
        ))),
    }
}

/// A positive integer parameter with a default and a ceiling.
fn bounded(p: &mut Params, name: &str, default: i64, max: i64) -> Result<i64, Error> {
    let value = p.take_int::<i64>(name)?.unwrap_or(default);
    if !(1..=max).contains(&value) {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{name}`: must be between 1 and {max}"
        )));
    }
    Ok(value)
}

fn required_id(p: &mut Params, name: &str) -> Result<i64, Error> {
    match p.take_int::<i64>(name)? {
        Some(id) if id > 0 => Ok(id),
        Some(_) => Err(Error::BadArgument(format!(
            "invalid parameter `{name}`: must be a positive integer"
        ))),
        None => Err(Error::BadArgument(format!("missing parameter `{name}`"))),
    }
}

fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    req.peer_addr().map(|a| a.ip())
}

// ---- the seed's routes ----

async fn login(
    portal: web::Data<Portal>,
    req: HttpRequest,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let username = p.require_str("username")?;
    let password = p.require_str("password")?;
    portal::check_password("password", &password)?;
    let session_key = portal.login(username, password, client_ip(&req)).await?;
    Ok(ok("Welcome to LYC.", w::Login { session_key }))
}

async fn logout(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    // Like the seed's routes, logout ignores parameters it does not know.
    let key = p.take_str("session_key")?;
    // A bearer token has no session to end (it lapses by itself).
    if caller.is_none() || key.is_some() {
        portal.logout(key).await?;
    }
    Ok(ok("Goodbye.", w::Empty {}))
}

async fn baseinfo(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let user = session(&portal, &caller, &mut p).await?;
    let id = instance_id(&mut p)?;
    let instance = portal.instance(user, id).await?;
    Ok(ok(
        format!("Information about {}", instance.name),
        w::BaseInfo {
            instance_id: instance.id,
            vdi_type: w::VDI_SPICE,
            host: instance.host_address,
            port: instance.vdi_port,
        },
    ))
}

async fn my_instances(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let user = session(&portal, &caller, &mut p).await?;
    let sepa = bounded(&mut p, "sepa", DEFAULT_SEPA, MAX_SEPA)?;
    let page = bounded(&mut p, "p", 1, i64::MAX)?;
    let rows = portal.my_instances(user, page, sepa).await?;
    let list: Vec<w::ListedInstance> = rows.iter().map(|r| r.to_listed()).collect();
    Ok(ok(
        format!("List {} instances", list.len()),
        w::InstanceList { list },
    ))
}

// ---- the lifecycle ----

async fn create_instance(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let user = session(&portal, &caller, &mut p).await?;
    let image_id = required_id(&mut p, "image_id")?;
    let name = portal::check_name("name", &p.require_str("name")?)?;
    let summary = portal::check_summary("summary", p.take_str("summary")?)?;
    p.finish()?;
    let row = portal
        .create_instance(user, image_id, name, summary)
        .await?;
    Ok(ok(
        format!("Instance {} created", row.id),
        w::InstanceReply {
            instance: row.to_wire(),
        },
    ))
}

async fn query_instance(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let user = session(&portal, &caller, &mut p).await?;
    let id = instance_id(&mut p)?;
    p.finish()?;
    let row = portal.instance(user, id).await?;
    Ok(ok(
        format!("Instance {id}: {}", w::status_string(row.status)),
        w::InstanceReply {
            instance: row.to_wire(),
        },
    ))
}

async fn act(
    portal: &Portal,
    caller: Option<Caller>,
    mut p: Params,
    action: Action,
) -> Result<HttpResponse, Error> {
    let user = session(portal, &caller, &mut p).await?;
    let id = instance_id(&mut p)?;
    p.finish()?;
    let row = portal.act(user, id, action).await?;
    let done = match action {
        Action::Run => "started",
        Action::Stop => "stopped",
        Action::Reboot => "rebooted",
        Action::Delete => "deleted",
    };
    Ok(ok(
        format!("Instance {id} {done}"),
        w::InstanceReply {
            instance: row.to_wire(),
        },
    ))
}

async fn run_instance(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    p: Params,
) -> Result<HttpResponse, Error> {
    act(&portal, caller, p, Action::Run).await
}

async fn stop_instance(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    p: Params,
) -> Result<HttpResponse, Error> {
    act(&portal, caller, p, Action::Stop).await
}

async fn reboot_instance(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    p: Params,
) -> Result<HttpResponse, Error> {
    act(&portal, caller, p, Action::Reboot).await
}

async fn delete_instance(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    p: Params,
) -> Result<HttpResponse, Error> {
    act(&portal, caller, p, Action::Delete).await
}

// ---- the service API (service accounts and admins) ----

const SERVICE_ROLES: [&str; 2] = [w::ROLE_SERVICE, w::ROLE_ADMIN];

async fn service_create(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let user = session(&portal, &caller, &mut p).await?;
    Portal::require_role(&user, &SERVICE_ROLES, "the service API")?;
    let image = match (p.take_int::<i64>("image_id")?, p.take_str("image")?) {
        (Some(id), None) if id > 0 => ImageRef::Id(id),
        (None, Some(name)) => ImageRef::Name(portal::check_name("image", &name)?),
        (Some(_), Some(_)) => {
            return Err(Error::BadArgument(
                "give either `image_id` or `image`, not both".into(),
            ))
        }
        (Some(_), None) => {
            return Err(Error::BadArgument(
                "invalid parameter `image_id`: must be a positive integer".into(),
            ))
        }
        (None, None) => {
            return Err(Error::BadArgument(
                "missing parameter `image_id` (or `image`, an image name)".into(),
            ))
        }
    };
    let count = bounded(&mut p, "count", 1, MAX_BATCH as i64)?;
    let name = match p.take_str("name")? {
        Some(name) => Some(portal::check_name("name", &name)?),
        None => None,
    };
    p.finish()?;
    let count = usize::try_from(count).unwrap_or(1);
    let rows = portal.create_for_service(user, image, count, name).await?;
    Ok(ok(
        format!("Created {} instances", rows.len()),
        w::InstancesReply {
            instances: rows.iter().map(|r| r.to_wire()).collect(),
        },
    ))
}

/// `instance_ids`: ids separated by commas (a form carries text, not lists).
fn instance_ids(p: &mut Params) -> Result<Vec<i64>, Error> {
    let text = p.require_str("instance_ids")?;
    let mut ids = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        match part.parse::<i64>() {
            Ok(id) if id > 0 => {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            _ => {
                return Err(Error::BadArgument(format!(
                    "invalid parameter `instance_ids`: `{part}` is not a positive integer"
                )))
            }
        }
        if ids.len() > MAX_BATCH {
            return Err(Error::BadArgument(format!(
                "invalid parameter `instance_ids`: at most {MAX_BATCH} ids"
            )));
        }
    }
    Ok(ids)
}

async fn service_return(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let user = session(&portal, &caller, &mut p).await?;
    Portal::require_role(&user, &SERVICE_ROLES, "the service API")?;
    let ids = instance_ids(&mut p)?;
    p.finish()?;
    let returned = portal.return_for_service(user, ids).await?;
    Ok(ok(
        format!("Returned {} instances", returned.len()),
        w::Returned { returned },
    ))
}

// ---- administration (admins only) ----

/// Checks that the caller is an admin; returns them.
async fn admin(portal: &Portal, caller: &Option<Caller>, p: &mut Params) -> Result<User, Error> {
    let user = session(portal, caller, p).await?;
    Portal::require_role(&user, &[w::ROLE_ADMIN], "administration")?;
    Ok(user)
}

async fn add_user(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    admin(&portal, &caller, &mut p).await?;
    let username = p.require_str("username")?;
    portal::check_username("username", &username)?;
    let password = p.require_str("password")?;
    portal::check_password("password", &password)?;
    let role = portal::check_role(&p.take_str("role")?.unwrap_or_else(|| w::ROLE_USER.into()))?;
    p.finish()?;
    let user = portal.add_user(username, password, role).await?;
    Ok(ok(
        format!("User {} created", user.username),
        w::UserReply {
            user: user.to_wire(),
        },
    ))
}

async fn list_users(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    admin(&portal, &caller, &mut p).await?;
    p.finish()?;
    let users: Vec<w::User> = portal.users().await?.iter().map(|u| u.to_wire()).collect();
    Ok(ok(
        format!("List {} users", users.len()),
        w::UserList { users },
    ))
}

async fn add_image(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    admin(&portal, &caller, &mut p).await?;
    let name = portal::check_name("name", &p.require_str("name")?)?;
    let summary = portal::check_summary("summary", p.take_str("summary")?)?;
    p.finish()?;
    let image = portal.add_image(name, summary).await?;
    Ok(ok(
        format!("Image {} created", image.id),
        w::ImageReply {
            image: image.to_wire(),
        },
    ))
}

async fn list_images(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    admin(&portal, &caller, &mut p).await?;
    p.finish()?;
    let images: Vec<w::Image> = portal.images().await?.iter().map(|i| i.to_wire()).collect();
    Ok(ok(
        format!("List {} images", images.len()),
        w::ImageList { images },
    ))
}

async fn add_host(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    admin(&portal, &caller, &mut p).await?;
    let address = portal::check_address("address", &p.require_text("address")?)?;
    let ssh_port = bounded(&mut p, "ssh_port", 22, 65535)?;
    let capacity = bounded(&mut p, "capacity", 1, 10_000)?;
    p.finish()?;
    // Both are bounded above, well inside i32.
    let (ssh_port, capacity) = (ssh_port as i32, capacity as i32);
    let host = portal.add_host(address, ssh_port, capacity).await?;
    Ok(ok(
        format!("Host {} added", host.address),
        w::HostReply {
            host: host.to_wire(),
        },
    ))
}

async fn list_hosts(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    admin(&portal, &caller, &mut p).await?;
    p.finish()?;
    let hosts: Vec<w::Host> = portal.hosts().await?.iter().map(|h| h.to_wire()).collect();
    Ok(ok(
        format!("List {} hosts", hosts.len()),
        w::HostList { hosts },
    ))
}

async fn delete_user(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let caller = admin(&portal, &caller, &mut p).await?;
    let id = required_id(&mut p, "user_id")?;
    p.finish()?;
    let user = portal.delete_user(caller, id).await?;
    Ok(ok(
        format!("User {} deleted", user.username),
        w::UserReply {
            user: user.to_wire(),
        },
    ))
}

async fn delete_image(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    admin(&portal, &caller, &mut p).await?;
    let id = required_id(&mut p, "image_id")?;
    p.finish()?;
    let image = portal.delete_image(id).await?;
    Ok(ok(
        format!("Image {} deleted", image.name),
        w::ImageReply {
            image: image.to_wire(),
        },
    ))
}

async fn delete_host(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    admin(&portal, &caller, &mut p).await?;
    let id = required_id(&mut p, "host_id")?;
    p.finish()?;
    let host = portal.delete_host(id).await?;
    Ok(ok(
        format!("Host {} deleted", host.address),
        w::HostReply {
            host: host.to_wire(),
        },
    ))
}

// ---- grants: roles on single clusters (admins only) ----

/// A grant as the admin API answers it.
#[derive(Debug, Serialize)]
struct GrantOut {
    id: i64,
    username: String,
    role: String,
    cluster_id: i64,
    /// The verified subject of the admin who granted it.
    granted_by: String,
    /// When, in milliseconds since the Unix epoch.
    granted_ms: i64,
}

impl From<&GrantRow> for GrantOut {
    fn from(row: &GrantRow) -> Self {
        GrantOut {
            id: row.id,
            username: row.username.clone(),
            role: row.role.clone(),
            cluster_id: row.cluster_id,
            granted_by: row.granted_by.clone(),
            granted_ms: row.created_ms,
        }
    }
}

#[derive(Debug, Serialize)]
struct GrantReply {
    grant: GrantOut,
}

#[derive(Debug, Serialize)]
struct GrantList {
    grants: Vec<GrantOut>,
}

async fn add_grant(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let actor = admin(&portal, &caller, &mut p).await?;
    let username = p.require_str("username")?;
    portal::check_username("username", &username)?;
    let role = portal::check_grant_role(&p.require_str("role")?)?;
    let cluster_id = required_id(&mut p, "cluster_id")?;
    p.finish()?;
    let grant = portal
        .add_grant(actor.username, username, role, cluster_id)
        .await?;
    Ok(ok(
        format!(
            "Granted {} on cluster {} to {}",
            grant.role, grant.cluster_id, grant.username
        ),
        GrantReply {
            grant: GrantOut::from(&grant),
        },
    ))
}

async fn delete_grant(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let actor = admin(&portal, &caller, &mut p).await?;
    let id = required_id(&mut p, "grant_id")?;
    p.finish()?;
    let grant = portal.delete_grant(actor.username, id).await?;
    Ok(ok(
        format!(
            "Revoked {} on cluster {} from {}",
            grant.role, grant.cluster_id, grant.username
        ),
        GrantReply {
            grant: GrantOut::from(&grant),
        },
    ))
}

async fn list_grants(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    admin(&portal, &caller, &mut p).await?;
    let username = p.take_str("username")?;
    if let Some(name) = &username {
        portal::check_username("username", name)?;
    }
    p.finish()?;
    let grants: Vec<GrantOut> = portal
        .grants(username)
        .await?
        .iter()
        .map(GrantOut::from)
        .collect();
    Ok(ok(
        format!("List {} grants", grants.len()),
        GrantList { grants },
    ))
}

// ---- whoami (any signed-in caller, about themself) ----

/// Who the caller is, as every service of the platform sees them.
#[derive(Debug, Serialize)]
struct WhoAmI {
    /// The token's `sub`, or the session's username.
    subject: String,
    /// Platform-wide roles.
    roles: Vec<Role>,
    /// Roles on single clusters: `[{"role": "operator", "cluster": 3}]`.
    grants: Vec<Grant>,
    /// The service that relayed the request for the subject (`X-Dcp-On-Behalf-Of`), if one did.
    via: Option<String>,
    /// How the caller signed in: `token` (a bearer token) or `session_key`.
    credential: &'static str,
}

/// A bearer caller is what their verified token says (the token of a relayed person when a
/// service relays); a `session_key` caller is their portal user with its stored grants, as
/// their next token would say. Only the caller's own identity is ever shown.
async fn whoami(
    portal: web::Data<Portal>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let key = p.take_str("session_key")?;
    let me = match caller {
        Some(caller) => WhoAmI {
            subject: caller.principal.subject,
            roles: caller.principal.roles,
            grants: caller.principal.grants,
            via: caller.via,
            credential: "token",
        },
        None => {
            let user = portal.authenticate(key).await?;
            let grants = portal.token_grants_of(user.id).await?;
            WhoAmI {
                roles: platform_roles(&user.role)
                    .iter()
                    .filter_map(|name| Role::parse(name))
                    .collect(),
                subject: user.username,
                grants,
                via: None,
                credential: "session_key",
            }
        }
    };
    p.finish()?;
    Ok(ok(format!("You are {}", me.subject), me))
}

/// The trail of this service's writes (kit::audit), newest first: by `actor`, `since`,
/// `until`, `request_id`; `p` and `sepa` page it as the seed's lists do.
async fn audit_list(
    portal: web::Data<Portal>,
    trail: web::Data<kit::audit::Trail>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    admin(&portal, &caller, &mut p).await?;
    let filter = kit::audit::filter_of(&mut p)?;
    let sepa = bounded(&mut p, "sepa", DEFAULT_SEPA, MAX_SEPA)?;
    let page = bounded(&mut p, "p", 1, i64::MAX)?;
    p.finish()?;
    let page = kit::Page {
        page: u64::try_from(page).unwrap_or(1),
        page_size: u64::try_from(sepa).unwrap_or(10),
    };
    let (changes, total) = trail.list(filter, page).await?;
    Ok(ok(
        format!("List {} of {total} changes", changes.len()),
        serde_json::json!({ "changes": changes, "total": total }),
    ))
}

#[cfg(test)]
mod tests {
    kit::route_docs_test!("cloud-portal.md");
}
