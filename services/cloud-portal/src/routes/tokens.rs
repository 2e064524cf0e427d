//! API tokens over HTTP: create, list and revoke (the caller's own; an admin's for anyone), and
//! the issuer's list of revoked tokens that every service's verifier polls.

use actix_web::{web, HttpResponse};
use kit::access::Caller;
use kit::auth::{Principal, Role};
use serde_json::json;
use wire::cloud_portal as w;

use super::{ok, required_id, session, Params};
use crate::api_tokens::{ApiTokens, NewToken, DEFAULT_DAYS};
use crate::error::Error;
use crate::issuer::platform_roles;
use crate::portal::{Portal, User};

/// Who the caller is as the platform sees them: a bearer token's principal, or the portal
/// user of a session key with the platform roles of their portal role.
fn principal_of(caller: &Option<Caller>, user: &User) -> Principal {
    match caller {
        Some(caller) => caller.principal.clone(),
        None => Principal {
            subject: user.username.clone(),
            roles: platform_roles(&user.role)
                .iter()
                .filter_map(|name| Role::parse(name))
                .collect(),
            grants: Vec::new(),
        },
    }
}

pub async fn create(
    portal: web::Data<Portal>,
    tokens: web::Data<ApiTokens>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let user = session(&portal, &caller, &mut p).await?;
    let name = p.require_str("name")?;
    let days = p.take_int::<u64>("expires_days")?.unwrap_or(DEFAULT_DAYS);
    let roles = match p.take_str("roles")? {
        None => None,
        Some(text) => Some(
            text.split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(|name| {
                    Role::parse(name).ok_or_else(|| {
                        Error::BadArgument(format!(
                            "invalid parameter `roles`: `{name}` is not viewer, operator, admin or service"
                        ))
                    })
                })
                .collect::<Result<Vec<Role>, Error>>()?,
        ),
    };
    p.finish()?;
    let owner = principal_of(&caller, &user);
    let (token, api_token) = tokens
        .create(&owner, NewToken { name, days, roles })
        .await?;
    Ok(ok(
        format!(
            "API token {} created: keep it, it is shown once",
            api_token.id
        ),
        w::CreatedApiToken { token, api_token },
    ))
}

pub async fn list(
    portal: web::Data<Portal>,
    tokens: web::Data<ApiTokens>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let user = session(&portal, &caller, &mut p).await?;
    let all = p.take_bool("all")?.unwrap_or(false);
    p.finish()?;
    let api_tokens = tokens.list(&principal_of(&caller, &user), all).await?;
    Ok(ok(
        format!("List {} API tokens", api_tokens.len()),
        w::ApiTokenList { api_tokens },
    ))
}

pub async fn revoke(
    portal: web::Data<Portal>,
    tokens: web::Data<ApiTokens>,
    caller: Option<Caller>,
    mut p: Params,
) -> Result<HttpResponse, Error> {
    let user = session(&portal, &caller, &mut p).await?;
    let id = required_id(&mut p, "token_id")?;
    p.finish()?;
    let api_token = tokens.revoke(&principal_of(&caller, &user), id).await?;
    Ok(ok(
        format!("API token {id} revoked"),
        w::ApiTokenReply { api_token },
    ))
}

/// `GET /oauth/revoked[?seen=<jti>,...]`: the ids of the revoked, unexpired API tokens (not
/// secret: an id opens nothing); `seen` reports tokens a verifier accepted (their last use).
pub async fn revoked(
    tokens: web::Data<ApiTokens>,
    query: web::Query<SeenQuery>,
) -> Result<HttpResponse, Error> {
    let seen: Vec<String> = query
        .seen
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .take(200)
        .map(str::to_string)
        .collect();
    let mut revoked: Vec<String> = tokens.revoked(seen).await?.into_iter().collect();
    revoked.sort();
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({ "revoked": revoked })))
}

#[derive(serde::Deserialize)]
pub struct SeenQuery {
    seen: Option<String>,
}
