//! Task events: after each node state change and at a task's end, the engine POSTs
//! `{"fid", "state", "node_id"}` to the task's `notify_url`, as this service's own identity
//! (`[identity]`: `Authorization: Bearer <its token>`). Best effort: one attempt with a
//! 5 s timeout on a task of its own, failures only logged; it never delays nor fails a task.
//!
//! A `notify_url` must lie under one of the base URLs of `events.allowed_urls` (same scheme,
//! host and port, its path under the base's path): the engine never POSTs anywhere a caller
//! names (cloud metadata endpoints, internal services). Redirects are not followed.

use std::time::Duration;

use client::Credentials;
use reqwest::Url;
use wire::task_engine::TaskEvent;

/// How long one delivery may take.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// The configuration key of the allow-list, named in every refusal.
pub const ALLOWED_URLS_KEY: &str = "events.allowed_urls";

/// One allowed base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Base {
    scheme: String,
    /// As the URL parser writes it (lower case, IP addresses canonical).
    host: String,
    /// `None`: any port (the base was written `host:*`).
    port: Option<u16>,
    /// The base's path; a URL is under it when its path equals it or continues it after a
    /// `/`.
    path: String,
}

/// The event targets a task may name: the base URLs of `events.allowed_urls`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventTargets {
    bases: Vec<Base>,
}

impl EventTargets {
    /// Parses the configured base URLs; the error names the one that is not valid.
    pub fn parse(urls: &[String]) -> Result<EventTargets, String> {
        let bases = urls
            .iter()
            .map(|text| parse_base(text.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(EventTargets { bases })
    }

    pub fn is_empty(&self) -> bool {
        self.bases.is_empty()
    }

    /// Whether `url` lies under one of the bases: same scheme, host and port (compared as
    /// parsed, so `http://allowed.example.evil.net` or `http://allowed.example@evil.net` are
    /// other hosts), and a path equal to the base's or below it.
    pub fn allows(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        self.bases.iter().any(|base| {
            base.scheme == url.scheme()
                && base.host == host
                && base
                    .port
                    .is_none_or(|p| Some(p) == url.port_or_known_default())
                && under(&base.path, url.path())
        })
    }
}

/// Whether `path` is `base` or lies below it (at a `/`).
fn under(base: &str, path: &str) -> bool {
    if base.ends_with('/') {
        return path.starts_with(base);
    }
    path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether an authority (`user@host:port`) names a port.
fn has_port(authority: &str) -> bool {
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    match host_port.rfind(']') {
        Some(close) => host_port[close..].contains(':'),
        None => host_port.contains(':'),
    }
}

fn parse_base(text: &str) -> Result<Base, String> {
    let bad = |why: &str| format!("`{}` {why}", text.escape_debug());
    // `host:*` (any port) is not a URL: read it without the port, then remember.
    let (text_without_star, any_port) = match text.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(end);
            match authority.strip_suffix(":*") {
                Some(authority) if has_port(authority) => return Err(bad("names a port and `*`")),
                Some(authority) => (format!("{scheme}://{authority}{tail}"), true),
                None => (text.to_string(), false),
            }
        }
        None => (text.to_string(), false),
    };
    let url = Url::parse(&text_without_star).map_err(|e| bad(&format!("is not a URL: {e}")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(bad("is not an http or https URL"));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("has no host"))?
        .to_string();
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad(
            "must be a base URL: scheme, host, port and path, no user, query or fragment",
        ));
    }
    let port = if any_port {
        None
    } else {
        url.port_or_known_default()
    };
    Ok(Base {
        scheme: url.scheme().to_string(),
        host,
        port,
        path: url.path().to_string(),
    })
}

#[derive(Clone)]
pub struct Notifier {
    http: reqwest::Client,
    targets: EventTargets,
    /// Who the events come from: this service's identity.
    credentials: Credentials,
}

impl Notifier {
    pub fn new(
        targets: EventTargets,
        credentials: Credentials,
    ) -> Result<Notifier, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(NOTIFY_TIMEOUT)
            .connect_timeout(NOTIFY_TIMEOUT)
            // An allowed receiver must not be able to send the engine elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Notifier {
            http,
            targets,
            credentials,
        })
    }

    /// Where events may go.
    pub fn targets(&self) -> &EventTargets {
        &self.targets
    }

    /// Sends `event` to `url` in the background; an empty `url` sends nothing, nor does one
    /// outside `events.allowed_urls` (a task created before the list changed).
    pub fn send(&self, url: &str, event: TaskEvent) {
        if url.is_empty() {
            return;
        }
        let allowed = Url::parse(url).is_ok_and(|parsed| self.targets.allows(&parsed));
        if !allowed {
            tracing::warn!(
                task = event.fid,
                url = %url,
                "task event not sent: the notify_url is not under {ALLOWED_URLS_KEY}"
            );
            return;
        }
        let (http, url) = (self.http.clone(), url.to_string());
        let credentials = self.credentials.clone();
        tokio::spawn(async move {
            let mut request = http.post(&url).json(&event);
            match credentials.authorization().await {
                Ok(Some(value)) => request = request.header(reqwest::header::AUTHORIZATION, value),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(
                        task = event.fid,
                        url = %url,
                        error = %e,
                        "task event not sent: no token for this service's identity"
                    );
                    return;
                }
            }
            let sent = request.send().await;
            match sent {
                Ok(reply) if reply.status().is_success() => {}
                Ok(reply) => tracing::warn!(
                    task = event.fid,
                    url = %url,
                    status = %reply.status(),
                    "task event refused"
                ),
                Err(e) => tracing::warn!(
                    task = event.fid,
                    url = %url,
                    error = %e,
                    "task event not delivered"
                ),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(urls: &[&str]) -> EventTargets {
        let urls: Vec<String> = urls.iter().map(|u| u.to_string()).collect();
        EventTargets::parse(&urls).expect("valid bases")
    }

    fn allows(t: &EventTargets, url: &str) -> bool {
        t.allows(&Url::parse(url).expect("a URL"))
    }

    #[test]
    fn a_url_is_allowed_under_a_base_with_the_same_scheme_host_and_port() {
        let t = targets(&["http://oc.internal:8002/internal/task_event"]);
        assert!(allows(&t, "http://oc.internal:8002/internal/task_event"));
        assert!(allows(&t, "http://OC.internal:8002/internal/task_event/"));
        assert!(allows(
            &t,
            "http://oc.internal:8002/internal/task_event?x=1"
        ));
        for refused in [
            "https://oc.internal:8002/internal/task_event",
            "http://oc.internal:8003/internal/task_event",
            "http://oc.internal/internal/task_event",
            "http://oc.internal:8002/internal/task_events",
            "http://oc.internal:8002/internal",
            "http://oc.internal:8002/internal/task_event/../../admin",
            "http://oc.internal:8002/internal/task_event/%2e%2e/%2e%2e/admin",
            "http://oc.internal.evil.net:8002/internal/task_event",
            "http://oc.internal:8002@evil.net:8002/internal/task_event",
            "http://169.254.169.254/latest/meta-data/",
        ] {
            assert!(!allows(&t, refused), "{refused} was allowed");
        }
    }

    #[test]
    fn a_base_ending_in_a_slash_covers_its_folder_and_the_default_port_counts() {
        let t = targets(&["https://hooks.example.com/"]);
        assert!(allows(&t, "https://hooks.example.com:443/a/b"));
        assert!(!allows(&t, "http://hooks.example.com/a"));
    }

    #[test]
    fn a_star_port_allows_any_port_of_that_host_only() {
        let t = targets(&["http://127.0.0.1:*/internal/task_event"]);
        assert!(allows(&t, "http://127.0.0.1:40123/internal/task_event"));
        assert!(allows(&t, "http://127.0.0.1/internal/task_event"));
        assert!(!allows(&t, "http://127.0.0.2:40123/internal/task_event"));
        assert!(!allows(&t, "http://127.0.0.1:40123/other"));
    }

    #[test]
    fn an_empty_list_allows_nothing() {
        assert!(!allows(&EventTargets::default(), "http://127.0.0.1/"));
    }

    #[test]
    fn bases_must_be_plain_http_base_urls() {
        for bad in [
            "ftp://x/",
            "not a url",
            "http://x/?q=1",
            "http://u@x/",
            "http://x:80:*/",
            "http:///",
        ] {
            assert!(
                EventTargets::parse(&[bad.to_string()]).is_err(),
                "{bad} was accepted"
            );
        }
    }
}
