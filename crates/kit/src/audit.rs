//! The audit trail a service keeps of its writes (issue #13): who (the verified subject of the
//! access token, and the service that relayed them), what, on what, when, and the request id
//! that follows one operation across services. Written in the same transaction as the change;
//! listed by actor and time.
//!
//! The table is `dcp_audit`; each service creates it with a migration of its own (the same
//! columns on SQLite and MySQL, see `proto-docs/identity.md`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConn;
use crate::params::Page;

diesel::table! {
    dcp_audit (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        via -> Nullable<Text>,
        action -> Text,
        entity -> Text,
        target -> Text,
        request_id -> Text,
    }
}

/// One change, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Insertable, Queryable, Selectable)]
#[diesel(table_name = dcp_audit)]
pub struct Change {
    /// UTC.
    #[serde(serialize_with = "utc_text")]
    pub at: NaiveDateTime,
    /// The verified subject the change was made for.
    pub actor: String,
    /// The service that relayed the request for the actor, if one did.
    pub via: Option<String>,
    /// What was done: `create`, `update`, `delete`, `expand`, ...
    pub action: String,
    /// What kind of thing: `cluster`, `pool`, `instance`, ...
    pub entity: String,
    /// Which one: its id or name.
    pub target: String,
    pub request_id: String,
}

fn utc_text<S: serde::Serializer>(at: &NaiveDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// A recorded change and its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable)]
#[diesel(table_name = dcp_audit)]
pub struct Entry {
    pub id: i64,
    #[diesel(embed)]
    #[serde(flatten)]
    pub change: Change,
}

/// Who asked for a change, as a handler knows it: the subject, the relaying service, the
/// request id. The domain receives it and records it with what it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub subject: String,
    pub via: Option<String>,
    pub request_id: String,
}

impl Actor {
    /// The change `action` of `entity` `target`, made now by this actor.
    pub fn change(&self, action: &str, entity: &str, target: impl Into<String>) -> Change {
        Change {
            at: chrono::Utc::now().naive_utc(),
            actor: self.subject.clone(),
            via: self.via.clone(),
            action: action.into(),
            entity: entity.into(),
            target: target.into(),
            request_id: self.request_id.clone(),
        }
    }
}

/// Records `change` (call it inside the transaction of the change itself).
pub fn record(conn: &mut DbConn, change: &Change) -> QueryResult<()> {
    diesel::insert_into(dcp_audit::table)
        .values(change)
        .execute(conn)?;
    Ok(())
}

/// Which changes to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub request_id: Option<String>,
}

/// A page of the changes that match, newest first, and how many match.
pub fn list(conn: &mut DbConn, filter: &Filter, page: Page) -> QueryResult<(Vec<Entry>, i64)> {
    let matching = || {
        let mut query = dcp_audit::table.into_boxed();
        if let Some(actor) = &filter.actor {
            query = query.filter(dcp_audit::actor.eq(actor.clone()));
        }
        if let Some(since) = filter.since {
            query = query.filter(dcp_audit::at.ge(since));
        }
        if let Some(until) = filter.until {
            query = query.filter(dcp_audit::at.le(until));
        }
        if let Some(request_id) = &filter.request_id {
            query = query.filter(dcp_audit::request_id.eq(request_id.clone()));
        }
        query
    };
    let total = matching().count().get_result(conn)?;
    let rows = matching()
        .order(dcp_audit::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select(Entry::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Where the kit records the writes of a service's route table ([`record_write`]): its
/// database, which holds `dcp_audit`. A service adds it to its `AppData`.
pub struct Trail {
    db: crate::db::Db,
}

impl Trail {
    pub fn new(db: crate::db::Db) -> Trail {
        Trail { db }
    }

    /// A page of the trail.
    pub async fn list(
        &self,
        filter: Filter,
        page: Page,
    ) -> Result<(Vec<Entry>, i64), crate::db::DbError> {
        self.db
            .read(move |conn| list(conn, &filter, page).map_err(crate::db::DbError::from))
            .await
    }
}

/// The middleware on every write route of a table: once the handler answered with a success,
/// records who (the verified caller), the route (`POST /pool/expand/{id}`), its path
/// parameters (`id=3`) and the request id. A write whose record cannot be written is logged
/// (the change itself is made and answered).
pub async fn record_write(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<actix_web::body::BoxBody>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    let trail = req.app_data::<actix_web::web::Data<Trail>>().cloned();
    let caller = req.extensions().get::<crate::access::Caller>().cloned();
    let request_id = req
        .extensions()
        .get::<crate::telemetry::RequestId>()
        .map(|id| id.to_string())
        .unwrap_or_default();
    let action = format!(
        "{} {}",
        req.method(),
        req.match_pattern()
            .unwrap_or_else(|| req.path().to_string())
    );
    let target = req
        .match_info()
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(",");
    let response = next.call(req).await?;
    if let (Some(trail), true) = (trail, response.status().is_success()) {
        let (actor, via) = match caller {
            Some(caller) => (caller.subject().to_string(), caller.via.clone()),
            // A seed credential stood in for a token: the handler knows who; the trail says so.
            None => ("(seed credential)".to_string(), None),
        };
        let change = Change {
            at: chrono::Utc::now().naive_utc(),
            actor,
            via,
            entity: "route".into(),
            action,
            target,
            request_id,
        };
        let written = trail
            .db
            .write(move |conn| record(conn, &change).map_err(crate::db::DbError::from))
            .await;
        if let Err(error) = written {
            tracing::error!(%error, "a write was made but its audit record was not");
        }
    }
    Ok(response)
}

/// The filter of a listing's parameters: `actor`, `since` and `until` (UTC,
/// `YYYY-mm-dd HH:MM:SS` or `YYYY-mm-dd`), `request_id`.
pub fn filter_of<E>(params: &mut crate::params::Params<E>) -> Result<Filter, crate::ParamsError> {
    let time =
        |name: &str, text: Option<String>| -> Result<Option<NaiveDateTime>, crate::ParamsError> {
            let Some(text) = text else {
                return Ok(None);
            };
            let text = text.trim();
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                        .map(|day| day.and_time(chrono::NaiveTime::MIN))
                })
                .map(Some)
                .map_err(|_| {
                    crate::ParamsError::invalid(
                        name,
                        "a UTC time `YYYY-mm-dd HH:MM:SS` or a day `YYYY-mm-dd`",
                    )
                })
        };
    let actor = params.take_str("actor")?;
    let since = params.take_str("since")?;
    let until = params.take_str("until")?;
    Ok(Filter {
        actor,
        since: time("since", since)?,
        until: time("until", until)?,
        request_id: params.take_str("request_id")?,
    })
}

/// `/audit/list` of the services that answer in the orchestration seed's envelope
/// (orchestrator, task-engine): the trail, newest first, by actor, time and request id.
pub async fn seed_list(
    trail: actix_web::web::Data<Trail>,
    mut params: crate::params::Params<crate::status_error::StatusError>,
) -> Result<actix_web::HttpResponse, crate::status_error::StatusError> {
    let filter = filter_of(&mut params)?;
    let page = params.take_page(crate::params::DEFAULT_PAGE_SIZE)?;
    params.finish()?;
    let (rows, total) = trail.list(filter, page).await?;
    Ok(crate::seed_reply::listed(page, rows, total.max(0) as u64))
}
