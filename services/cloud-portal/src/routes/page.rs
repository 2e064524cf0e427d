//! The web page: `GET /` and its script and style under `/ui/`. The files live in
//! `static/` and are compiled in, so the binary serves the page with nothing beside it. The
//! page calls the same form API as every other client; these handlers only hand out files.

use actix_web::http::header;
use actix_web::HttpResponse;
use kit::access::Access;
use kit::routes::{RouteTable, GET};

const INDEX_HTML: &str = include_str!("../../static/index.html");
const APP_JS: &str = include_str!("../../static/app.js");
const STYLE_CSS: &str = include_str!("../../static/style.css");

/// Only our own files may run or style the page (no inline script, nothing from elsewhere),
/// and no other site may frame it.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// The page's paths, for the docs and the tests.
pub const PATHS: [&str; 3] = ["/", "/ui/app.js", "/ui/style.css"];

/// The page's files, added to the route table: GET only.
pub fn routes(table: RouteTable) -> RouteTable {
    // The page's own files hold no data: anyone may load them (it signs in through the API).
    table
        .read("/", GET, index)
        .allow(Access::Public)
        .read("/ui/app.js", GET, app_js)
        .allow(Access::Public)
        .read("/ui/style.css", GET, style_css)
        .allow(Access::Public)
}

fn file(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        // The files change with the binary: revalidate rather than keep a stale copy.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

async fn index() -> HttpResponse {
    file("text/html; charset=utf-8", INDEX_HTML)
}

async fn app_js() -> HttpResponse {
    file("text/javascript; charset=utf-8", APP_JS)
}

async fn style_css() -> HttpResponse {
    file("text/css; charset=utf-8", STYLE_CSS)
}
