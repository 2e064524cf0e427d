//! The route-table test of issue #13: every route of a service, taken from its route table,
//! is called without a token, with a token whose roles fall short, and with one whose roles
//! suffice; a route without a decision is a failure. Every service runs it on both backends.

use actix_web::http::Method;

use crate::access::{Access, ON_BEHALF_OF};
use crate::auth::Role;
use crate::routes::{Effect, RouteSpec, RouteTable};
use crate::testing::issuer::issuer;

/// The statuses a refused caller may get on a route whose seed credential stands in for a
/// token (the seed's own refusal of a request without that credential).
const SEED_REFUSALS: [u16; 2] = [401, 403];

/// What is wrong with the authorization of the service at `base_url` whose table is `table`
/// (empty when nothing is).
pub async fn route_access_problems(base_url: &str, table: &RouteTable) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut problems = Vec::new();
    let mut checked_bad_tokens = false;
    for spec in table.specs() {
        let Some(rule) = spec.rule else {
            problems.push(format!("{}: no authorization decision", spec.path));
            continue;
        };
        for method in methods(spec) {
            let method =
                reqwest::Method::from_bytes(method.as_str().as_bytes()).expect("an HTTP method");
            let url = format!("{base_url}{}", concrete(&spec.path));
            let call = |token: Option<String>| {
                let mut request = http.request(method.clone(), &url);
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                async move {
                    request
                        .send()
                        .await
                        .map(|reply| reply.status().as_u16())
                        .unwrap_or(0)
                }
            };
            let what = format!("{method} {}", spec.path);
            let anonymous = call(None).await;
            match rule.access {
                Access::Public => {
                    if matches!(anonymous, 401 | 403) {
                        problems.push(format!("{what}: public, yet {anonymous} without a token"));
                    }
                    continue;
                }
                _ if rule.seed_credential => {
                    if !SEED_REFUSALS.contains(&anonymous) {
                        problems.push(format!(
                            "{what}: without any credential answered {anonymous}, not 401/403"
                        ));
                    }
                }
                _ => {
                    if anonymous != 401 {
                        problems.push(format!("{what}: without a token answered {anonymous}"));
                    }
                }
            }
            if !checked_bad_tokens {
                checked_bad_tokens = true;
                for (kind, token) in issuer().bad_tokens() {
                    let status = call(Some(token)).await;
                    if status != 401 {
                        problems.push(format!("{what}: a token {kind} answered {status}"));
                    }
                }
                let root = http
                    .request(method.clone(), &url)
                    .header("Authorization", "root")
                    .send()
                    .await
                    .map(|reply| reply.status().as_u16())
                    .unwrap_or(0);
                // Where the seed's credential stands in, another scheme is left to it (the
                // seed's scripts send `Basic` of placeholder text): its own refusal answers.
                let refused_root = if rule.seed_credential {
                    SEED_REFUSALS.contains(&root)
                } else {
                    root == 401
                };
                if !refused_root {
                    problems.push(format!("{what}: `Authorization: root` answered {root}"));
                }
                let relayed = http
                    .request(method.clone(), &url)
                    .bearer_auth(issuer().token("operator-not-a-service", &[Role::Operator]))
                    .header(ON_BEHALF_OF, issuer().token("someone", &[Role::Admin]))
                    .send()
                    .await
                    .map(|reply| reply.status().as_u16())
                    .unwrap_or(0);
                if relayed != 403 {
                    problems.push(format!(
                        "{what}: a relay by a caller without the service role answered {relayed}"
                    ));
                }
            }
            if let Some(short) = falling_short(rule.access) {
                let status = call(Some(issuer().token("short", &short))).await;
                if status != 403 {
                    problems.push(format!(
                        "{what}: roles {short:?} answered {status}, not 403"
                    ));
                }
            }
            for enough in sufficing(rule.access) {
                let status = call(Some(issuer().token("enough", &enough))).await;
                if matches!(status, 401 | 403 | 0) {
                    problems.push(format!("{what}: roles {enough:?} answered {status}"));
                }
            }
        }
    }
    problems
}

/// The methods to call a route with.
fn methods(spec: &RouteSpec) -> Vec<Method> {
    match spec.effect {
        Effect::Forward => vec![Method::GET, Method::POST],
        Effect::Read | Effect::Write => spec.methods.clone(),
    }
}

/// The path with every `{parameter}` replaced by `1`.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => {
                out.push('1');
                rest = &rest[open + close + 1..];
            }
            None => {
                rest = &rest[open..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The largest set of roles the decision refuses, if any does.
fn falling_short(access: Access) -> Option<Vec<Role>> {
    let candidates: [&[Role]; 6] = [
        &[Role::Operator, Role::Service],
        &[Role::Operator],
        &[Role::Viewer, Role::Service],
        &[Role::Viewer],
        &[Role::Service],
        &[],
    ];
    candidates
        .iter()
        .map(|roles| roles.to_vec())
        .find(|roles| !access.admits(&principal(roles)))
}

/// Each least set of roles the decision admits.
fn sufficing(access: Access) -> Vec<Vec<Role>> {
    match access {
        Access::Public | Access::Authenticated => vec![vec![]],
        Access::Role(role) | Access::Scoped(role) => vec![vec![role]],
        Access::AnyOf(roles) => roles.iter().map(|role| vec![*role]).collect(),
        Access::ScopedOr(role, others) => std::iter::once(vec![role])
            .chain(others.iter().map(|other| vec![*other]))
            .collect(),
    }
}

fn principal(roles: &[Role]) -> crate::auth::Principal {
    crate::auth::Principal {
        subject: "probe".into(),
        roles: roles.to_vec(),
        grants: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_made_concrete() {
        assert_eq!(concrete("/pool/{id}/list_nodes"), "/pool/1/list_nodes");
        assert_eq!(concrete("/a/{x}/{tail:.*}"), "/a/1/1");
        assert_eq!(concrete("/plain"), "/plain");
    }

    #[test]
    fn the_roles_that_fall_short_are_the_strongest_refused() {
        assert_eq!(
            falling_short(Access::Role(Role::Admin)),
            Some(vec![Role::Operator, Role::Service])
        );
        assert_eq!(
            falling_short(Access::Role(Role::Operator)),
            Some(vec![Role::Viewer, Role::Service])
        );
        assert_eq!(
            falling_short(Access::AnyOf(&[Role::Operator, Role::Service])),
            Some(vec![Role::Viewer])
        );
        assert_eq!(
            falling_short(Access::Role(Role::Viewer)),
            Some(vec![Role::Service])
        );
        assert_eq!(falling_short(Access::Authenticated), None);
    }
}
