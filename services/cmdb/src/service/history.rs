//! History: every write of CIs and CI relations leaves a record of who changed what.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDateTime};
use serde_json::Value;
use wire::cmdb as w;

use super::Cmdb;
use crate::error::Error;
use crate::model::{self, HistoryAction, Typed};
use crate::store::{self, AttrRow};

#[derive(Debug, Clone)]
pub struct HistoryInput {
    pub username: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub page: i64,
    pub page_size: i64,
}

impl Cmdb {
    // ---- history ----

    pub async fn history(&self, input: HistoryInput) -> Result<w::HistoryList, Error> {
        let filter = store::RecordFilter {
            username: input.username.clone().filter(|u| !u.is_empty()),
            start: history_time("start", input.start.as_deref(), false)?,
            end: history_time("end", input.end.as_deref(), true)?,
        };
        self.db
            .read(move |conn| {
                let offset = (input.page - 1).saturating_mul(input.page_size);
                let (numfound, rows) = store::list_records(conn, &filter, offset, input.page_size)?;
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                let mut attr_names: HashMap<i64, Vec<String>> = HashMap::new();
                for change in store::attr_changes(conn, &ids)? {
                    let names = attr_names.entry(change.record_id).or_default();
                    if !names.contains(&change.attr_name) {
                        names.push(change.attr_name);
                    }
                }
                let mut rel_counts: HashMap<i64, BTreeMap<String, i64>> = HashMap::new();
                for change in store::rel_changes(conn, &ids)? {
                    *rel_counts
                        .entry(change.record_id)
                        .or_default()
                        .entry(change.operate.as_str().to_string())
                        .or_default() += 1;
                }
                let records = rows
                    .into_iter()
                    .map(|r| w::HistorySummary {
                        record_id: r.id,
                        user: r.user_id,
                        username: r.username,
                        timestamp: model::format_date(&store::from_seconds(r.created_at)),
                        origin: None,
                        reason: None,
                        ticket_id: None,
                        attr_history: attr_names.remove(&r.id).unwrap_or_default(),
                        rel_history: rel_counts.remove(&r.id).unwrap_or_default(),
                    })
                    .collect();
                Ok(w::HistoryList {
                    username: input.username.clone().unwrap_or_default(),
                    start: input.start.clone().unwrap_or_default(),
                    end: input.end.clone().unwrap_or_default(),
                    page: input.page,
                    numfound,
                    records,
                })
            })
            .await
    }

    pub async fn history_record(&self, id: i64) -> Result<w::HistoryDetail, Error> {
        self.db
            .read(move |conn| {
                let record = store::record(conn, id)?
                    .ok_or_else(|| Error::NotFound(format!("history record {id} is not found")))?;
                let mut attr_history: BTreeMap<String, Vec<w::AttrChange>> = BTreeMap::new();
                for c in store::attr_changes(conn, &[id])? {
                    attr_history
                        .entry(c.ci_id.to_string())
                        .or_default()
                        .push(w::AttrChange {
                            ci_id: c.ci_id,
                            attr_id: c.attr_id,
                            attr_name: c.attr_name,
                            operate_type: c.operate.as_str().into(),
                            old: c.old_value,
                            new: c.new_value,
                        });
                }
                let mut rel_history: BTreeMap<String, Vec<(i64, String, i64)>> = BTreeMap::new();
                rel_history.insert(HistoryAction::Add.as_str().into(), Vec::new());
                rel_history.insert(HistoryAction::Delete.as_str().into(), Vec::new());
                for c in store::rel_changes(conn, &[id])? {
                    rel_history
                        .entry(c.operate.as_str().into())
                        .or_default()
                        .push((c.first_ci_id, c.relation_type, c.second_ci_id));
                }
                Ok(w::HistoryDetail {
                    record_id: record.id,
                    user: record.user_id,
                    username: record.username,
                    timestamp: model::format_date(&store::from_seconds(record.created_at)),
                    attr_history,
                    rel_history,
                })
            })
            .await
    }
}

pub(super) fn history_text(attr: &AttrRow, values: &[Typed]) -> String {
    if attr.is_multivalue {
        Value::Array(values.iter().map(Typed::to_json).collect()).to_string()
    } else {
        values.first().map(Typed::canonical).unwrap_or_default()
    }
}

fn history_time(
    param: &str,
    text: Option<&str>,
    end: bool,
) -> Result<Option<NaiveDateTime>, Error> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let at = model::parse_datetime(text).ok_or_else(|| {
        Error::BadArgument(format!(
            "invalid parameter `{param}`: `{text}` is not a date (YYYY-mm-dd or YYYY-mm-dd HH:MM:SS)"
        ))
    })?;
    // A bare date as `end` means the end of that day.
    if end && model::is_date_only(text) {
        return Ok(Some(at + Duration::seconds(86_399)));
    }
    Ok(Some(at))
}
