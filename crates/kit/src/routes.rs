//! The route table: every route of a service declared as data — its path, the methods it
//! answers, whether it reads or writes, a body limit of its own where it needs one, and its
//! handler — so that one place registers them with actix, answers 404 and 405 (with `Allow`)
//! in the service's envelope, and a test can enumerate every route of every service.

use std::fmt;
use std::sync::Arc;

use actix_web::http::header::{HeaderValue, ALLOW};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::from_fn;
use actix_web::{web, FromRequest, Handler, HttpRequest, HttpResponse, Responder};

use crate::access::{authorize, Access, Rule};
use crate::guard::refuse_cross_site;

/// Why the kit refused a request before any handler of the service ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No route has this path.
    NotFound { method: Method, path: String },
    /// The path exists, the method is not one it answers.
    MethodNotAllowed {
        method: Method,
        path: String,
        allow: Vec<Method>,
    },
    /// A browser sent this request on behalf of another site's page.
    CrossSite { origin: String },
    /// The request target is longer than `http.max_uri_bytes`.
    UriTooLong { limit: usize },
    /// The body is longer than the route's limit (`http.max_body_bytes` unless the route has its own).
    BodyTooLarge { limit: usize },
    /// The body did not arrive within `http.body_timeout_secs`.
    BodyTimeout { secs: u64 },
    /// The body could not be read (the client broke the framing or went away).
    BodyUnreadable { reason: String },
    /// No valid access token (missing, of another scheme, expired, not the issuer's, ...).
    Unauthenticated { reason: String },
    /// A valid token whose roles do not reach the route's decision.
    Forbidden { subject: String, needed: String },
    /// The route has no authorization decision: refused whoever asks (a bug the route-table
    /// test catches).
    NoDecision,
    /// Tokens cannot be verified now (the issuer's keys cannot be fetched).
    AuthUnavailable { reason: String },
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::NotFound { .. } => StatusCode::NOT_FOUND,
            Refusal::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::CrossSite { .. } => StatusCode::FORBIDDEN,
            Refusal::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Refusal::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Refusal::BodyUnreadable { .. } => StatusCode::BAD_REQUEST,
            Refusal::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Refusal::Forbidden { .. } | Refusal::NoDecision => StatusCode::FORBIDDEN,
            Refusal::AuthUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotFound { method, path } => write!(f, "no such route: {method} {path}"),
            Refusal::MethodNotAllowed {
                method,
                path,
                allow,
            } => write!(
                f,
                "method {method} not allowed on {path}: use {}",
                join(allow, " or ")
            ),
            Refusal::CrossSite { origin } => write!(
                f,
                "cross-site request refused (origin `{origin}`): call this API from its own origin \
                 or add the origin to http.allowed_origins"
            ),
            Refusal::UriTooLong { limit } => write!(
                f,
                "the request target is longer than {limit} bytes (http.max_uri_bytes)"
            ),
            Refusal::BodyTooLarge { limit } => {
                write!(f, "the request body is larger than {limit} bytes")
            }
            Refusal::BodyTimeout { secs } => write!(
                f,
                "the request body did not arrive within {secs} s (http.body_timeout_secs)"
            ),
            Refusal::BodyUnreadable { reason } => write!(f, "unreadable request body: {reason}"),
            Refusal::Unauthenticated { reason } => write!(f, "not authenticated: {reason}"),
            Refusal::Forbidden { subject, needed } => {
                write!(
                    f,
                    "forbidden: {subject} lacks the role this needs ({needed})"
                )
            }
            Refusal::NoDecision => write!(f, "forbidden: this route has no authorization decision"),
            Refusal::AuthUnavailable { reason } => {
                write!(f, "authentication unavailable: {reason}")
            }
        }
    }
}

fn join(methods: &[Method], separator: &str) -> String {
    methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(separator)
}

/// How a service writes a [`Refusal`] in its own envelope. The kit adds `Allow` to 405s and
/// closes the connection after body refusals.
pub type Envelope = fn(&Refusal) -> HttpResponse;

/// What a route does, for the cross-site rule, the docs and (later) authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Changes nothing.
    Read,
    /// Changes state: answers POST, PUT or DELETE, and GET only where the seed's own example
    /// uses GET for it (listed in proto-docs).
    Write,
    /// Passed to another service, which decides the methods (the orchestrator's front door).
    Forward,
}

/// One route as data: a path and the methods one handler answers there (a path may have
/// several entries, one per handler).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub path: String,
    /// The methods answered; empty for [`Effect::Forward`] (any method goes through).
    pub methods: Vec<Method>,
    pub effect: Effect,
    /// A body limit larger than `http.max_body_bytes`, for the routes that need one.
    pub body_limit: Option<usize>,
    /// Who may call it ([`RouteTable::allow`]); `None` refuses everyone.
    pub rule: Option<Rule>,
}

impl RouteSpec {
    /// Whether this is a write that the seed lets a GET perform.
    pub fn writes_on_get(&self) -> bool {
        self.effect == Effect::Write && self.methods.contains(&Method::GET)
    }
}

/// What a route's handler is: an actix handler whose extractors and answer actix can use,
/// shareable across workers (every `async fn` handler is).
pub trait RouteHandler<Args: FromRequest + 'static>:
    Handler<Args, Output: Responder + 'static> + Send + Sync
{
}

impl<F, Args> RouteHandler<Args> for F
where
    F: Handler<Args> + Send + Sync,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
}

type RouteFactory = Arc<dyn Fn() -> actix_web::Route + Send + Sync>;

#[derive(Clone)]
struct Entry {
    spec: RouteSpec,
    route: RouteFactory,
}

/// Every route of a service, with the envelope its refusals are written in.
#[derive(Clone)]
pub struct RouteTable {
    envelope: Envelope,
    entries: Vec<Entry>,
    /// How many entries the last call added (`slashed` adds two): what `allow` applies to.
    last_added: usize,
}

/// `GET` and `POST`: the reads of the seeds, whose examples use both.
pub const GET_POST: &[Method] = &[Method::GET, Method::POST];
pub const GET: &[Method] = &[Method::GET];
pub const POST: &[Method] = &[Method::POST];
pub const PUT: &[Method] = &[Method::PUT];
pub const DELETE: &[Method] = &[Method::DELETE];
pub const POST_DELETE: &[Method] = &[Method::POST, Method::DELETE];

impl RouteTable {
    pub fn new(envelope: Envelope) -> Self {
        RouteTable {
            envelope,
            entries: Vec::new(),
            last_added: 0,
        }
    }

    /// A route that changes nothing.
    pub fn read<F: RouteHandler<Args>, Args: FromRequest + 'static>(
        self,
        path: impl Into<String>,
        methods: &[Method],
        handler: F,
    ) -> Self {
        self.route(path.into(), methods, Effect::Read, handler)
    }

    /// A route that changes state.
    pub fn write<F: RouteHandler<Args>, Args: FromRequest + 'static>(
        self,
        path: impl Into<String>,
        methods: &[Method],
        handler: F,
    ) -> Self {
        self.route(path.into(), methods, Effect::Write, handler)
    }

    /// A path pattern passed on to another service with any method.
    pub fn forward<F: RouteHandler<Args>, Args: FromRequest + 'static>(
        self,
        path: impl Into<String>,
        handler: F,
    ) -> Self {
        self.route(path.into(), &[], Effect::Forward, handler)
    }

    /// A route of a function-style seed (resource-pool, soa-registry): `path` and `path/`,
    /// answering GET and POST when it reads and POST when it writes.
    pub fn function<F: RouteHandler<Args>, Args: FromRequest + 'static>(
        self,
        path: &str,
        effect: Effect,
        handler: F,
    ) -> Self {
        let methods = match effect {
            Effect::Read => GET_POST,
            Effect::Write | Effect::Forward => POST,
        };
        self.slashed(path, methods, effect, handler)
    }

    /// A route at `path` and at `path/`.
    pub fn slashed<F: RouteHandler<Args>, Args: FromRequest + 'static>(
        self,
        path: &str,
        methods: &[Method],
        effect: Effect,
        handler: F,
    ) -> Self {
        let mut table = self.route(path, methods, effect, handler.clone()).route(
            format!("{path}/"),
            methods,
            effect,
            handler,
        );
        table.last_added = 2;
        table
    }

    /// Who may call the route added last: every route says it, next to its path.
    pub fn allow(mut self, access: Access) -> Self {
        let from = self.entries.len().saturating_sub(self.last_added);
        for entry in &mut self.entries[from..] {
            entry.spec.rule = Some(Rule {
                access,
                seed_credential: entry.spec.rule.is_some_and(|r| r.seed_credential),
            });
        }
        self
    }

    /// The route added last also takes the seed's own credential instead of a bearer token
    /// (see [`Rule::seed_credential`]); call after [`allow`](Self::allow).
    pub fn seed_credential(mut self) -> Self {
        let from = self.entries.len().saturating_sub(self.last_added);
        for entry in &mut self.entries[from..] {
            if let Some(rule) = &mut entry.spec.rule {
                rule.seed_credential = true;
            }
        }
        self
    }

    /// Gives the route added last a body limit of its own.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        let from = self.entries.len().saturating_sub(self.last_added);
        for entry in &mut self.entries[from..] {
            entry.spec.body_limit = Some(bytes);
        }
        self
    }

    /// A route of any [`Effect`]; [`read`](Self::read), [`write`](Self::write) and
    /// [`forward`](Self::forward) say it shorter.
    pub fn route<F: RouteHandler<Args>, Args: FromRequest + 'static>(
        mut self,
        path: impl Into<String>,
        methods: &[Method],
        effect: Effect,
        handler: F,
    ) -> Self {
        self.entries.push(Entry {
            spec: RouteSpec {
                path: path.into(),
                methods: methods.to_vec(),
                effect,
                body_limit: None,
                rule: None,
            },
            route: Arc::new(move || web::to(handler.clone())),
        });
        self.last_added = 1;
        self
    }

    /// Every route, in the order they are matched.
    pub fn specs(&self) -> impl Iterator<Item = &RouteSpec> {
        self.entries.iter().map(|entry| &entry.spec)
    }

    pub fn envelope(&self) -> Envelope {
        self.envelope
    }

    /// Registers every route, its 405 answer, and the 404 answer for every other path.
    /// Entries of one path (one handler per method, as cmdb has) become one resource, in the
    /// order the path first appears.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        let envelope = self.envelope;
        let mut paths: Vec<&str> = Vec::new();
        for entry in &self.entries {
            if !paths.contains(&entry.spec.path.as_str()) {
                paths.push(&entry.spec.path);
            }
        }
        for path in paths {
            let mut resource = web::resource(path);
            let mut allow: Vec<Method> = Vec::new();
            let mut forwarded = false;
            for entry in self.entries.iter().filter(|e| e.spec.path == path) {
                let spec = &entry.spec;
                if spec.effect == Effect::Forward {
                    forwarded = true;
                    let route = guarded((entry.route)(), spec.rule, envelope);
                    resource = resource.route(route.wrap(from_fn(refuse_cross_site)));
                    continue;
                }
                for method in &spec.methods {
                    // Innermost: the trail sees the verified caller and the handler's answer.
                    let route = (entry.route)().method(method.clone());
                    let route = match spec.effect {
                        Effect::Write => route.wrap(from_fn(crate::audit::record_write)),
                        Effect::Read | Effect::Forward => route,
                    };
                    let route = guarded(route, spec.rule, envelope);
                    resource = resource.route(match spec.effect {
                        Effect::Write => route.wrap(from_fn(refuse_cross_site)),
                        Effect::Read | Effect::Forward => route,
                    });
                    allow.push(method.clone());
                }
            }
            if !forwarded {
                resource = resource.default_service(answer(envelope, move |req| {
                    Refusal::MethodNotAllowed {
                        method: req.method().clone(),
                        path: req.path().to_string(),
                        allow: allow.clone(),
                    }
                }));
            }
            cfg.service(resource);
        }
        cfg.default_service(answer(envelope, |req| Refusal::NotFound {
            method: req.method().clone(),
            path: req.path().to_string(),
        }));
    }
}

/// `route` behind its authorization decision; without one, refused to everyone.
fn guarded(route: actix_web::Route, rule: Option<Rule>, envelope: Envelope) -> actix_web::Route {
    match rule {
        Some(rule) => route.wrap(from_fn(move |req, next| {
            authorize(rule, envelope, req, next)
        })),
        None => route.wrap(from_fn(
            move |req: actix_web::dev::ServiceRequest,
                  _: actix_web::middleware::Next<actix_web::body::BoxBody>| {
                let response = refuse(envelope, &Refusal::NoDecision);
                async move { Ok::<_, actix_web::Error>(req.into_response(response)) }
            },
        )),
    }
}

/// A route that answers every request with the refusal `of` makes of it.
fn answer(
    envelope: Envelope,
    of: impl Fn(&HttpRequest) -> Refusal + Clone + 'static,
) -> actix_web::Route {
    web::to(move |req: HttpRequest| {
        let response = refuse(envelope, &of(&req));
        async move { response }
    })
}

/// The first and last lines of a proto-docs section generated from a route table.
pub const DOC_BEGIN: &str =
    "<!-- routes: generated from the service's route table (kit::routes::RouteTable::markdown); a test keeps it true -->";
pub const DOC_END: &str = "<!-- end of routes -->";

impl RouteTable {
    /// Every route as a Markdown table: path, methods, and what it does to state.
    pub fn markdown(&self) -> String {
        let mut out =
            String::from("| path | methods | effect | who may call |\n| --- | --- | --- | --- |\n");
        for spec in self.specs() {
            let (methods, effect) = match spec.effect {
                Effect::Read => (join(&spec.methods, ", "), "read".to_string()),
                Effect::Write if spec.writes_on_get() => (
                    join(&spec.methods, ", "),
                    "write (GET as the seed's example shows; cross-site refused)".to_string(),
                ),
                Effect::Write => (join(&spec.methods, ", "), "write".to_string()),
                Effect::Forward => ("any".to_string(), "forwarded".to_string()),
            };
            let limit = spec
                .body_limit
                .map(|bytes| format!("; body up to {} MiB", bytes / (1024 * 1024)))
                .unwrap_or_default();
            let who = match spec.rule {
                None => "nobody (no decision)".to_string(),
                Some(rule) if rule.seed_credential => {
                    format!("{}; or the seed's credential", rule.access.describe())
                }
                Some(rule) => rule.access.describe(),
            };
            out.push_str(&format!(
                "| `{}` | {methods} | {effect}{limit} | {who} |\n",
                spec.path
            ));
        }
        out
    }

    /// Whether the generated section of `doc` is this table; with `DCP_WRITE_DOCS=1` the
    /// section of the file at `path` is rewritten instead (after a change of routes).
    pub fn check_doc(&self, path: &std::path::Path) -> Result<(), String> {
        let doc = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let (Some(begin), Some(end)) = (doc.find(DOC_BEGIN), doc.find(DOC_END)) else {
            return Err(format!(
                "{} has no generated route section ({DOC_BEGIN} ... {DOC_END})",
                path.display()
            ));
        };
        let current = &doc[begin + DOC_BEGIN.len()..end];
        let wanted = format!("\n{}", self.markdown());
        if current == wanted {
            return Ok(());
        }
        if std::env::var("DCP_WRITE_DOCS").as_deref() == Ok("1") {
            let rewritten = format!("{}{wanted}{}", &doc[..begin + DOC_BEGIN.len()], &doc[end..]);
            return std::fs::write(path, rewritten)
                .map_err(|e| format!("cannot write {}: {e}", path.display()));
        }
        Err(format!(
            "the route section of {} differs from the route table; run the test with \
             DCP_WRITE_DOCS=1 to rewrite it:\n{wanted}",
            path.display()
        ))
    }
}

/// A unit test, in a service's `routes` module beside `table()`, that the service's proto-docs
/// page (`proto-docs/<page>` from the workspace root) lists its route table.
#[macro_export]
macro_rules! route_docs_test {
    ($page:literal) => {
        #[test]
        fn proto_docs_list_every_route_with_its_methods() {
            let doc = ::std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(concat!("../../proto-docs/", $page));
            if let Err(problem) = super::table().check_doc(&doc) {
                panic!("{problem}");
            }
        }
    };
}

/// The envelope's answer to `refusal`, with what HTTP asks for beside it: `Allow` on a 405,
/// and a closed connection when the rest of a body was not read.
pub fn refuse(envelope: Envelope, refusal: &Refusal) -> HttpResponse {
    let mut response = envelope(refusal);
    *response.status_mut() = refusal.status();
    if let Refusal::MethodNotAllowed { allow, .. } = refusal {
        if let Ok(value) = HeaderValue::from_str(&join(allow, ", ")) {
            response.headers_mut().insert(ALLOW, value);
        }
    }
    if let Refusal::Unauthenticated { .. } = refusal {
        response.headers_mut().insert(
            actix_web::http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"dcp\""),
        );
    }
    if matches!(
        refusal,
        Refusal::BodyTooLarge { .. } | Refusal::BodyTimeout { .. } | Refusal::BodyUnreadable { .. }
    ) {
        response
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test as web_test;
    use actix_web::App;

    fn envelope(refusal: &Refusal) -> HttpResponse {
        HttpResponse::build(refusal.status()).json(serde_json::json!({"msg": refusal.to_string()}))
    }

    async fn hello() -> HttpResponse {
        HttpResponse::Ok().body("hello")
    }

    fn table() -> RouteTable {
        RouteTable::new(envelope)
            .read("/list", GET_POST, hello)
            .allow(Access::Public)
            .write("/create", POST, hello)
            .allow(Access::Public)
            .write("/big", POST, hello)
            .body_limit(10)
            .allow(Access::Public)
            .write("/list", &[Method::DELETE], hello)
            .allow(Access::Public)
            .read("/undecided", GET, hello)
    }

    #[actix_web::test]
    async fn a_route_without_a_decision_is_refused_to_everyone() {
        let table = table();
        let app = web_test::init_service(App::new().configure(|cfg| table.configure(cfg))).await;
        let request = web_test::TestRequest::get().uri("/undecided").to_request();
        let response = web_test::call_service(&app, request).await;
        assert_eq!(response.status().as_u16(), 403);
        let undecided: Vec<&RouteSpec> = table.specs().filter(|s| s.rule.is_none()).collect();
        assert_eq!(undecided.len(), 1);
        assert!(table.markdown().contains("nobody (no decision)"));
    }

    #[test]
    fn allow_applies_to_both_paths_of_a_slashed_route() {
        let table = RouteTable::new(envelope)
            .slashed("/api/x", POST, Effect::Write, hello)
            .allow(Access::Role(crate::auth::Role::Operator))
            .seed_credential();
        let rules: Vec<Option<Rule>> = table.specs().map(|s| s.rule).collect();
        assert_eq!(rules.len(), 2);
        assert!(rules.iter().all(|r| *r
            == Some(Rule {
                access: Access::Role(crate::auth::Role::Operator),
                seed_credential: true
            })));
    }

    #[actix_web::test]
    async fn the_table_answers_its_methods_and_names_the_others() {
        let table = table();
        let app = web_test::init_service(App::new().configure(|cfg| table.configure(cfg))).await;
        for (method, path, status) in [
            (Method::GET, "/list", 200),
            (Method::POST, "/list", 200),
            (Method::POST, "/create", 200),
            (Method::GET, "/create", 405),
            (Method::DELETE, "/list", 200),
            (Method::PUT, "/list", 405),
            (Method::GET, "/nowhere", 404),
        ] {
            let request = web_test::TestRequest::default()
                .method(method.clone())
                .uri(path)
                .to_request();
            let response = web_test::call_service(&app, request).await;
            assert_eq!(response.status().as_u16(), status, "{method} {path}");
        }
        let request = web_test::TestRequest::get().uri("/create").to_request();
        let response = web_test::call_service(&app, request).await;
        assert_eq!(
            response.headers().get(ALLOW).and_then(|v| v.to_str().ok()),
            Some("POST")
        );
        let body: serde_json::Value = web_test::read_body_json(response).await;
        assert_eq!(body["msg"], "method GET not allowed on /create: use POST");
        // A path with two entries allows the methods of both.
        let request = web_test::TestRequest::put().uri("/list").to_request();
        let response = web_test::call_service(&app, request).await;
        assert_eq!(
            response.headers().get(ALLOW).and_then(|v| v.to_str().ok()),
            Some("GET, POST, DELETE")
        );
    }

    #[test]
    fn specs_enumerate_every_route_with_its_limit() {
        let specs: Vec<RouteSpec> = table().specs().cloned().collect();
        assert_eq!(specs.len(), 5);
        assert_eq!(specs[0].effect, Effect::Read);
        assert_eq!(specs[2].body_limit, Some(10));
        assert!(!specs[1].writes_on_get());
    }
}
