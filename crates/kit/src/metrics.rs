//! Requests and latency per route, method and status, rendered as Prometheus text.
//!
//! Hand-rolled rather than a metrics crate: one mutex-guarded map is all a service needs,
//! and it keeps each server's numbers apart when tests run several in one process.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    /// Non-cumulative counts per bucket; the last slot is +Inf.
    buckets: [u64; BUCKETS.len() + 1],
}

/// The series of one route, by method and status.
type RouteSeries = BTreeMap<(&'static str, u16), Series>;

pub struct Metrics {
    service: String,
    /// By route, then method and status: a request of a route already seen is counted without
    /// allocating (the route is looked up by `&str`, the method is one of a fixed set).
    series: Mutex<BTreeMap<String, RouteSeries>>,
}

/// The label of an HTTP method: the standard ones as they are, anything else `OTHER` (so a
/// client cannot grow the series with made-up methods).
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

impl Metrics {
    pub fn new(service: &str) -> Self {
        Metrics {
            service: service.to_string(),
            series: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(BUCKETS.len());
        let mut series = match self.series.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let of_route = match series.get_mut(route) {
            Some(of_route) => of_route,
            None => series.entry(route.to_string()).or_default(),
        };
        let entry = of_route.entry((method_label(method), status)).or_default();
        entry.count += 1;
        entry.sum_seconds += seconds;
        entry.buckets[slot] += 1;
    }

    pub fn render(&self) -> String {
        let series = match self.series.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut out = String::new();
        out.push_str(
            "# HELP dcp_http_requests_total HTTP requests served, by route, method and status.\n",
        );
        out.push_str("# TYPE dcp_http_requests_total counter\n");
        for (route, (method, status), s) in flatten(&series) {
            let labels = self.labels(route, method, status);
            let _ = writeln!(out, "dcp_http_requests_total{{{labels}}} {}", s.count);
        }
        out.push_str("# HELP dcp_http_request_duration_seconds Time to serve a request, by route, method and status.\n");
        out.push_str("# TYPE dcp_http_request_duration_seconds histogram\n");
        for (route, (method, status), s) in flatten(&series) {
            let labels = self.labels(route, method, status);
            let mut cumulative = 0;
            for (i, le) in BUCKETS.iter().enumerate() {
                cumulative += s.buckets[i];
                let _ = writeln!(
                    out,
                    "dcp_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                );
            }
            cumulative += s.buckets[BUCKETS.len()];
            let _ = writeln!(
                out,
                "dcp_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {cumulative}"
            );
            let _ = writeln!(
                out,
                "dcp_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum_seconds
            );
            let _ = writeln!(
                out,
                "dcp_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }

    fn labels(&self, route: &str, method: &str, status: u16) -> String {
        format!(
            "service=\"{}\",route=\"{}\",method=\"{}\",status=\"{}\"",
            escape(&self.service),
            escape(route),
            escape(method),
            status
        )
    }
}

/// Every series in (route, method, status) order.
fn flatten(
    series: &BTreeMap<String, RouteSeries>,
) -> impl Iterator<Item = (&str, (&'static str, u16), &Series)> {
    series.iter().flat_map(|(route, of_route)| {
        of_route
            .iter()
            .map(move |(key, s)| (route.as_str(), *key, s))
    })
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_match() {
        let metrics = Metrics::new("svc");
        metrics.observe("/a", "GET", 200, Duration::from_micros(300));
        metrics.observe("/a", "GET", 200, Duration::from_millis(3));
        metrics.observe("/a", "GET", 404, Duration::from_secs(20));
        let text = metrics.render();
        assert!(text.contains(
            "dcp_http_requests_total{service=\"svc\",route=\"/a\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains("route=\"/a\",method=\"GET\",status=\"200\",le=\"0.0005\"} 1"));
        assert!(text.contains("route=\"/a\",method=\"GET\",status=\"200\",le=\"0.005\"} 2"));
        assert!(text.contains("route=\"/a\",method=\"GET\",status=\"404\",le=\"10\"} 0"));
        assert!(text.contains("route=\"/a\",method=\"GET\",status=\"404\",le=\"+Inf\"} 1"));
    }

    #[test]
    fn made_up_methods_share_one_series() {
        let metrics = Metrics::new("svc");
        metrics.observe("/a", "BREW", 405, Duration::from_millis(1));
        metrics.observe("/a", "PROPFIND", 405, Duration::from_millis(1));
        let text = metrics.render();
        assert!(
            text.contains("route=\"/a\",method=\"OTHER\",status=\"405\"} 2"),
            "{text}"
        );
        assert!(!text.contains("BREW"), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::new("svc");
        metrics.observe("/a\"b", "GET", 200, Duration::from_millis(1));
        assert!(metrics.render().contains("route=\"/a\\\"b\""));
    }
}
