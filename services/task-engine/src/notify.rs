//! Task events: after each node state change and at a task's end, the engine POSTs
//! `{"fid", "state", "node_id"}` to the task's `notify_url`. Best effort: one attempt with a
//! 5 s timeout on a task of its own, failures only logged; it never delays nor fails a task.

use std::time::Duration;

use wire::task_engine::TaskEvent;

/// How long one delivery may take.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Notifier {
    http: reqwest::Client,
}

impl Notifier {
    pub fn new() -> Result<Notifier, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(NOTIFY_TIMEOUT)
            .connect_timeout(NOTIFY_TIMEOUT)
            .build()?;
        Ok(Notifier { http })
    }

    /// Sends `event` to `url` in the background; an empty `url` sends nothing.
    pub fn send(&self, url: &str, event: TaskEvent) {
        if url.is_empty() {
            return;
        }
        let (http, url) = (self.http.clone(), url.to_string());
        tokio::spawn(async move {
            let sent = http.post(&url).json(&event).send().await;
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
