//! Revoked API tokens (issue #13). API tokens are long-lived JWTs of the issuer (claim
//! `token_use: "api"`, an id in `jti`); revoking one puts its `jti` on the issuer's list of
//! revoked tokens (`GET <issuer>/oauth/revoked`: `{"revoked": ["<jti>", ...]}`), and every
//! service's verifier fetches that list at most `revocation_poll_secs` apart when a token is
//! presented. So a revoked token stops working on every service within `revocation_poll_secs`
//! (10 s by default) — the documented bound.
//!
//! Each fetch also reports the ids of the API tokens this service accepted since the last one
//! (`?seen=<jti>,<jti>`): the issuer keeps them as the tokens' last-used time, at most one
//! poll interval late.
//!
//! If the list cannot be fetched, the last one is used for `revocation_stale_secs` (60 s by
//! default); after that API tokens are refused (503) until it can be fetched again: a token
//! that may have been revoked is not honoured blind. Short-lived access tokens are never on
//! the list and do not wait for it.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// The ids of the revoked tokens, or why they cannot be had.
pub type Revoked = Result<HashSet<String>, String>;

/// The revoked ids from the issuer in this process, given the ids seen since the last fetch.
pub type LocalRevocations =
    Box<dyn Fn(Vec<String>) -> Pin<Box<dyn Future<Output = Revoked> + Send>> + Send + Sync>;

/// Where the list comes from: the issuer over HTTP, or the issuer in this very process.
pub enum RevocationSource {
    Remote { http: reqwest::Client, url: String },
    Local(LocalRevocations),
}

/// The most ids one fetch reports as seen (the rest wait for the next).
const SEEN_PER_FETCH: usize = 200;

struct Fetched {
    revoked: HashSet<String>,
    /// When the list was last fetched successfully.
    at: Option<Instant>,
    /// When a fetch was last tried.
    tried: Option<Instant>,
    /// API tokens accepted since the last fetch.
    seen: HashSet<String>,
}

/// The revoked tokens as last fetched, fetched again when older than `poll`.
pub struct RevocationList {
    source: RevocationSource,
    poll: Duration,
    stale: Duration,
    fetched: Mutex<Fetched>,
}

/// What the list says of one token id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Valid,
    Revoked,
    /// The list has not been fetched for longer than `revocation_stale_secs`.
    Unknown(String),
}

impl RevocationList {
    pub fn new(source: RevocationSource, poll: Duration, stale: Duration) -> RevocationList {
        RevocationList {
            source,
            poll,
            stale,
            fetched: Mutex::new(Fetched {
                revoked: HashSet::new(),
                at: None,
                tried: None,
                seen: HashSet::new(),
            }),
        }
    }

    /// Whether token `jti` is revoked, on a list at most `poll` old (or `stale` when the issuer
    /// cannot be reached).
    pub async fn standing(&self, jti: &str) -> Standing {
        let mut fetched = self.fetched.lock().await;
        let due = fetched.tried.is_none_or(|at| at.elapsed() >= self.poll);
        if due {
            fetched.tried = Some(Instant::now());
            let seen: Vec<String> = fetched.seen.iter().take(SEEN_PER_FETCH).cloned().collect();
            match self.fetch(seen.clone()).await {
                Ok(revoked) => {
                    fetched.revoked = revoked;
                    fetched.at = Some(Instant::now());
                    for jti in &seen {
                        fetched.seen.remove(jti);
                    }
                }
                Err(reason) => tracing::warn!(%reason, "the revoked tokens cannot be fetched"),
            }
        }
        match fetched.at {
            Some(at) if at.elapsed() < self.stale.max(self.poll) => {
                if fetched.revoked.contains(jti) {
                    Standing::Revoked
                } else {
                    fetched.seen.insert(jti.to_string());
                    Standing::Valid
                }
            }
            _ => Standing::Unknown("the issuer's list of revoked tokens cannot be fetched".into()),
        }
    }

    async fn fetch(&self, seen: Vec<String>) -> Revoked {
        match &self.source {
            RevocationSource::Local(list) => list(seen).await,
            RevocationSource::Remote { http, url } => {
                #[derive(serde::Deserialize)]
                struct List {
                    revoked: Vec<String>,
                }
                let mut request = http.get(url);
                if !seen.is_empty() {
                    request = request.query(&[("seen", seen.join(","))]);
                }
                let list: List = request
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|e| e.to_string())?
                    .json()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(list.revoked.into_iter().collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    fn local(
        revoked: Arc<std::sync::Mutex<HashSet<String>>>,
        up: Arc<AtomicBool>,
        fetches: Arc<AtomicUsize>,
    ) -> RevocationSource {
        RevocationSource::Local(Box::new(move |_seen| {
            let (revoked, up, fetches) = (revoked.clone(), up.clone(), fetches.clone());
            Box::pin(async move {
                fetches.fetch_add(1, Ordering::SeqCst);
                if !up.load(Ordering::SeqCst) {
                    return Err("down".to_string());
                }
                Ok(revoked.lock().map(|r| r.clone()).unwrap_or_default())
            })
        }))
    }

    #[tokio::test]
    async fn a_revocation_is_seen_within_the_poll_interval_and_a_dead_issuer_fails_closed() {
        let revoked = Arc::new(std::sync::Mutex::new(HashSet::new()));
        let up = Arc::new(AtomicBool::new(true));
        let fetches = Arc::new(AtomicUsize::new(0));
        let list = RevocationList::new(
            local(revoked.clone(), up.clone(), fetches.clone()),
            Duration::from_millis(200),
            Duration::from_millis(600),
        );
        assert_eq!(list.standing("t1").await, Standing::Valid);
        // Within the poll interval the list is not fetched again.
        assert_eq!(list.standing("t1").await, Standing::Valid);
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        revoked.lock().expect("lock").insert("t1".into());
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(list.standing("t1").await, Standing::Revoked);
        assert_eq!(list.standing("t2").await, Standing::Valid);
        // The issuer goes away: the last list serves until it is stale, then nothing does.
        up.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(list.standing("t1").await, Standing::Revoked);
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(matches!(list.standing("t2").await, Standing::Unknown(_)));
        // It comes back: so do the answers.
        up.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(list.standing("t2").await, Standing::Valid);
    }
}

#[cfg(test)]
mod seen_tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[tokio::test]
    async fn the_tokens_accepted_are_reported_at_the_next_fetch() {
        let reported: Arc<Mutex<Vec<Vec<String>>>> = Arc::new(Mutex::new(Vec::new()));
        let log = reported.clone();
        let source = RevocationSource::Local(Box::new(move |seen| {
            if let Ok(mut log) = log.lock() {
                log.push(seen);
            }
            Box::pin(async { Ok(HashSet::from(["gone".to_string()])) })
        }));
        let list = RevocationList::new(source, Duration::from_millis(100), Duration::from_secs(5));
        assert_eq!(list.standing("a").await, Standing::Valid);
        assert_eq!(list.standing("gone").await, Standing::Revoked);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(list.standing("b").await, Standing::Valid);
        let reported = reported.lock().expect("lock").clone();
        // The first fetch knew of nothing; the second reports `a` (not the revoked one).
        assert_eq!(reported, vec![Vec::<String>::new(), vec!["a".to_string()]]);
    }
}
