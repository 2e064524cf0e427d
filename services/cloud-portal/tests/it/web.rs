//! The web page's files (`GET /`, `/ui/...`). What the page does is tested in headless
//! Chromium by clients/python/test_cloud_portal_web.py; here, that the files are served as
//! a browser needs them, and that they fetch nothing from elsewhere.

use kit::on_both_backends;
use kit::testing::TestBackend;

use crate::support::TestApp;

on_both_backends!(
    the_page_and_its_files_are_served_with_their_types_and_policy,
    the_page_loads_only_its_own_files,
    unknown_page_files_are_not_found,
);

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", app.base_url))
        .send()
        .await
        .expect("the service answers")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn the_page_and_its_files_are_served_with_their_types_and_policy(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let expected = [
        (
            "/",
            "text/html; charset=utf-8",
            "<title>DCP cloud portal</title>",
        ),
        (
            "/ui/app.js",
            "text/javascript; charset=utf-8",
            "/api/myun/instance",
        ),
        ("/ui/style.css", "text/css; charset=utf-8", "#login-view"),
    ];
    assert_eq!(
        expected.map(|(path, _, _)| path),
        cloud_portal::PAGE_PATHS,
        "every file of the page is checked"
    );
    for (path, content_type, sample) in expected {
        let response = get(&app, path).await;
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert_eq!(header(&response, "content-type"), content_type, "{path}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        let policy = header(&response, "content-security-policy");
        assert!(
            policy.contains("default-src 'none'") && policy.contains("script-src 'self'"),
            "{path}: {policy}"
        );
        let body = response.text().await.expect("a body");
        assert!(body.contains(sample), "{path} lacks {sample}");
    }
}

async fn the_page_loads_only_its_own_files(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let html = get(&app, "/").await.text().await.expect("the page");
    assert!(html.contains(r#"<script src="/ui/app.js" defer></script>"#));
    assert!(html.contains(r#"<link rel="stylesheet" href="/ui/style.css">"#));
    // No inline script (the policy would block it) and no address of another site.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    for path in cloud_portal::PAGE_PATHS {
        let body = get(&app, path).await.text().await.expect("a body");
        for scheme in ["http://", "https://", "//cdn", "@import"] {
            assert!(!body.contains(scheme), "{path} mentions {scheme}");
        }
    }
    // The page's script calls only routes that exist.
    let script = get(&app, "/ui/app.js").await.text().await.expect("script");
    for route in script
        .split('"')
        .filter(|s| s.starts_with("/api/") && !s.ends_with('/'))
    {
        assert!(
            cloud_portal::ROUTES.contains(&route),
            "app.js calls {route}"
        );
    }
    for action in ["run", "stop", "delete"] {
        assert!(script.contains(&format!(r#"act("{action}""#)), "{action}");
        assert!(cloud_portal::ROUTES.contains(&format!("/api/instance/{action}").as_str()));
    }
}

async fn unknown_page_files_are_not_found(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let response = get(&app, "/ui/missing.js").await;
    assert_eq!(response.status().as_u16(), 404);
    let body: serde_json::Value = response.json().await.expect("the JSON envelope");
    assert_eq!(body["code"], 4);
}
