//! Authorization (issue #13): every route of a route table declares who may call it
//! ([`Access`]), and the kit enforces it before the handler runs. A caller proves who they are
//! with `Authorization: Bearer <access token>` ([`crate::auth::Verifier`]); what the token
//! says becomes the request's [`Caller`], which handlers extract to record the actor and to
//! check a cluster-scoped grant.
//!
//! A peer service acting for a person (the orchestrator starting a task for the operator who
//! pressed expand) sends its own token in `Authorization` and the person's in
//! [`ON_BEHALF_OF`]: the kit accepts that only from a caller holding the `service` role, and
//! the request is then the person's — their roles decide, their subject is recorded, and the
//! service is kept as [`Caller::via`].

// The benchmark build skips authentication: what only it would call goes unused there.
#![cfg_attr(feature = "bench-unauthenticated", allow(dead_code))]

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{web, Error, FromRequest, HttpMessage, HttpRequest};
use secrecy::{ExposeSecret, SecretString};

use crate::auth::{AuthError, Principal, Role, Verifier};
use crate::routes::{refuse, Envelope, Refusal};

pub use wire::identity::ON_BEHALF_OF;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token: only what probes and generators need (`/openapi.json`, the
    /// issuer's discovery, keys and token endpoint).
    Public,
    /// Anyone with a valid token (`whoami`).
    Authenticated,
    /// A platform-wide role (or one above it).
    Role(Role),
    /// Any of these roles: the routes a peer service's built-in steps call take `service`
    /// beside the people's role.
    AnyOf(&'static [Role]),
    /// The role platform-wide, or granted on a cluster: the kit lets through anyone holding
    /// the role somewhere, and the handler checks the cluster of what is touched
    /// ([`Caller::require_on`]) or lists only the clusters granted ([`Caller::clusters`]).
    Scoped(Role),
    /// [`Access::Scoped`], or any of these roles platform-wide: the routes a person calls
    /// with a cluster-scoped grant and a peer service calls with its own identity (the
    /// task-engine's tasks: relayed operators and the orchestrator's scheduler).
    ScopedOr(Role, &'static [Role]),
}

impl Access {
    /// Whether `principal` passes this decision at the door (a scoped grant anywhere passes
    /// [`Access::Scoped`]; the handler narrows it).
    pub fn admits(&self, principal: &Principal) -> bool {
        match self {
            Access::Public | Access::Authenticated => true,
            Access::Role(role) => principal.has(*role),
            Access::AnyOf(roles) => roles.iter().any(|role| principal.has(*role)),
            Access::Scoped(role) => principal.may_somewhere(*role),
            Access::ScopedOr(role, others) => {
                principal.may_somewhere(*role) || others.iter().any(|other| principal.has(*other))
            }
        }
    }

    /// How proto-docs name the decision.
    pub fn describe(&self) -> String {
        match self {
            Access::Public => "public".into(),
            Access::Authenticated => "any signed-in caller".into(),
            Access::Role(role) => role.name().into(),
            Access::AnyOf(roles) => roles
                .iter()
                .map(|role| role.name())
                .collect::<Vec<_>>()
                .join(" or "),
            Access::Scoped(role) => format!("{} (platform-wide or on the cluster)", role.name()),
            Access::ScopedOr(role, others) => {
                let mut names = vec![format!("{} (platform-wide or on the cluster)", role.name())];
                names.extend(others.iter().map(|other| other.name().to_string()));
                names.join(" or ")
            }
        }
    }
}

/// A route's decision as the kit enforces it: who, and whether the seed's own credential
/// (cmdb's signed keys, soa-registry's `key`, cloud-portal's `session_key`) may stand in for a
/// bearer token — then a request without `Authorization` reaches the handler, which checks
/// that credential against the same roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub access: Access,
    pub seed_credential: bool,
}

/// The verified caller of a request.
#[derive(Clone)]
pub struct Caller {
    /// Whose act this is: the token's holder, or the person a service relays.
    pub principal: Principal,
    /// The service that relayed the request for the person, if one did.
    pub via: Option<String>,
    /// The principal's own access token, to pass on when this request calls a peer for them.
    token: SecretString,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("principal", &self.principal)
            .field("via", &self.via)
            .finish_non_exhaustive()
    }
}

/// A caller refused on what they asked for: the service answers 403.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{subject} may not do this: it needs the role {needed}")]
pub struct Denied {
    pub subject: String,
    pub needed: String,
}

impl Caller {
    pub fn new(principal: Principal, token: SecretString) -> Caller {
        Caller {
            principal,
            via: None,
            token,
        }
    }

    /// The subject recorded as the actor of what this request changes.
    pub fn subject(&self) -> &str {
        &self.principal.subject
    }

    /// The caller's access token, for `Authorization` or [`ON_BEHALF_OF`] of a peer call.
    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// The role platform-wide.
    pub fn require(&self, role: Role) -> Result<(), Denied> {
        if self.principal.has(role) {
            Ok(())
        } else {
            Err(self.denied(role.name().to_string()))
        }
    }

    /// The role platform-wide or granted on `cluster`.
    pub fn require_on(&self, role: Role, cluster: i64) -> Result<(), Denied> {
        if self.principal.may(role, cluster) {
            Ok(())
        } else {
            Err(self.denied(format!("{} on cluster {cluster}", role.name())))
        }
    }

    /// The clusters the role is held on: `None` when it is held platform-wide.
    pub fn clusters(&self, role: Role) -> Option<Vec<i64>> {
        self.principal.clusters(role)
    }

    fn denied(&self, needed: String) -> Denied {
        Denied {
            subject: self.principal.subject.clone(),
            needed,
        }
    }
}

/// The verified caller, for handlers of routes that are not [`Access::Public`]. A route whose
/// seed credential stands in for a token extracts `Option<Caller>` instead.
impl FromRequest for Caller {
    type Error = Error;
    type Future = std::future::Ready<Result<Caller, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(req.extensions().get::<Caller>().cloned().ok_or_else(|| {
            actix_web::error::ErrorUnauthorized(
                "no verified caller: send `Authorization: Bearer <access token>`",
            )
        }))
    }
}

/// The middleware `RouteTable::configure` puts on every route: authenticates the caller,
/// applies the route's [`Rule`], and leaves the [`Caller`] in the request for its handler.
pub async fn authorize(
    rule: Rule,
    envelope: Envelope,
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if rule.access == Access::Public {
        return next.call(req).await;
    }
    // A benchmark build only (`make bench` measures what authentication costs against it):
    // every caller is let in as an admin, with no token read at all.
    #[cfg(feature = "bench-unauthenticated")]
    {
        let _ = (rule, envelope);
        let principal = Principal {
            subject: "bench-unauthenticated".into(),
            roles: vec![Role::Admin],
            grants: Vec::new(),
        };
        req.extensions_mut()
            .insert(Caller::new(principal, SecretString::from(String::new())));
        return next.call(req).await;
    }
    #[cfg(not(feature = "bench-unauthenticated"))]
    authenticate_and_authorize(rule, envelope, req, next).await
}

/// What [`authorize`] does for a route that is not public.
async fn authenticate_and_authorize(
    rule: Rule,
    envelope: Envelope,
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let refused = |req: ServiceRequest, refusal: Refusal| {
        let response = refuse(envelope, &refusal);
        Ok(req.into_response(response))
    };
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or(""));
    let bearer = header.filter(|value| crate::auth::bearer(Some(value)).is_ok());
    let Some(header) = bearer else {
        // The seed's own credential stands in: its scripts send `Authorization: Basic` of
        // placeholder text beside it, which is not ours to judge.
        if rule.seed_credential {
            return next.call(req).await;
        }
        let error = match header {
            None => AuthError::Missing,
            Some(_) => AuthError::Scheme,
        };
        return refused(req, unauthenticated(&error));
    };
    let Some(verifier) = req.app_data::<web::Data<Verifier>>().cloned() else {
        return refused(
            req,
            Refusal::AuthUnavailable {
                reason: "the service has no token verifier".into(),
            },
        );
    };
    let caller = match caller_of(&verifier, header, relayed_token(&req)).await {
        Ok(caller) => caller,
        Err(Refused::Auth(AuthError::KeysUnavailable(reason))) => {
            tracing::warn!(%reason, "the issuer's keys cannot be fetched");
            return refused(
                req,
                Refusal::AuthUnavailable {
                    reason: "the token issuer's keys cannot be fetched; try again shortly".into(),
                },
            );
        }
        Err(Refused::Auth(error)) => return refused(req, unauthenticated(&error)),
        Err(Refused::NotARelay { subject }) => {
            return refused(
                req,
                Refusal::Forbidden {
                    subject,
                    needed: format!("service (to send {ON_BEHALF_OF})"),
                },
            )
        }
    };
    if !rule.access.admits(&caller.principal) {
        let subject = caller.principal.subject.clone();
        return refused(
            req,
            Refusal::Forbidden {
                subject,
                needed: rule.access.describe(),
            },
        );
    }
    req.extensions_mut().insert(caller);
    next.call(req).await
}

enum Refused {
    Auth(AuthError),
    NotARelay { subject: String },
}

fn relayed_token(req: &ServiceRequest) -> Option<String> {
    req.headers()
        .get(ON_BEHALF_OF)
        .map(|value| value.to_str().unwrap_or("").trim().to_string())
}

async fn caller_of(
    verifier: &Verifier,
    header: &str,
    relayed: Option<String>,
) -> Result<Caller, Refused> {
    let token = crate::auth::bearer(Some(header)).map_err(|_| Refused::Auth(AuthError::Scheme))?;
    let principal = verifier.verify(token).await.map_err(Refused::Auth)?;
    let Some(relayed) = relayed else {
        return Ok(Caller::new(
            principal,
            SecretString::from(token.to_string()),
        ));
    };
    // Only a service identity relays (an admin is not one, though admin covers the role).
    if !principal.roles.contains(&Role::Service) {
        return Err(Refused::NotARelay {
            subject: principal.subject,
        });
    }
    let person = verifier.verify(&relayed).await.map_err(Refused::Auth)?;
    Ok(Caller {
        principal: person,
        via: Some(principal.subject),
        token: SecretString::from(relayed),
    })
}

fn unauthenticated(error: &AuthError) -> Refusal {
    Refusal::Unauthenticated {
        reason: error.to_string(),
    }
}

/// The `Authorization` value of a peer call made with `token`.
pub fn bearer_value(token: &SecretString) -> String {
    format!("Bearer {}", token.expose_secret())
}
