//! CIs: reading them, writing one or a batch (the write itself is `ci_write`), deleting.

use serde_json::{Map, Value};
use wire::cmdb as w;

use super::ci_batch::batch;
use super::ci_write::write_ci;
use super::history::history_text;
use super::{
    attr_list, catalog, group_values, now, render, type_not_found, Cmdb, CI_PAGE_SIZE,
    MAX_BATCH_ROWS,
};
use crate::auth::Actor;
use crate::error::Error;
use crate::model::HistoryAction;
use crate::model::{scalar_text, Catalog, RetKey, Typed};
use crate::store::{self, AttrRow, NewAttrChange};
use kit::db::DbConn;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    Add,
    Update,
}

impl WriteMode {
    /// How a batch row names what was done to it.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteMode::Add => "add",
            WriteMode::Update => "update",
        }
    }
}

/// What `POST /ci` does when a CI of the type already holds the unique value given
/// (`exist_policy`, as veops CMDB has it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExistPolicy {
    /// The default: the write is refused (400, "already exists").
    Reject,
    /// Only an existing CI is written (updated); none is a 404.
    Need,
    /// The existing CI is updated, else a CI is added.
    Replace,
}

impl ExistPolicy {
    pub fn parse(text: Option<&str>) -> Result<ExistPolicy, Error> {
        match text.map(str::trim) {
            None | Some("") | Some("reject") => Ok(ExistPolicy::Reject),
            Some("need") => Ok(ExistPolicy::Need),
            Some("replace") => Ok(ExistPolicy::Replace),
            Some(other) => Err(Error::BadArgument(format!(
                "invalid parameter `exist_policy`: `{other}` is not one of need, reject, replace"
            ))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CiWrite {
    /// The type by name, alias or id; may be empty on an update by id (the CI's own type).
    pub ci_type: String,
    /// `_no_attribute_policy=reject`: refuse attributes the type does not have.
    pub reject_unknown: bool,
    /// Update only: the CI by id rather than by its unique value.
    pub ci_id: Option<i64>,
    /// Every other parameter: attribute (name, id or alias) -> value.
    pub fields: Map<String, Value>,
}

impl Cmdb {
    // ---- CIs ----

    pub async fn cis_of_type(
        &self,
        type_id: i64,
        fields: Option<String>,
        ret_key: RetKey,
        page: i64,
    ) -> Result<w::CiPage, Error> {
        self.db
            .read(move |conn| {
                let cat = catalog(conn)?;
                cat.type_by_id(type_id)
                    .ok_or_else(|| type_not_found(type_id))?;
                let wanted = attr_list(&cat, fields.as_deref(), "fields")?;
                let numfound = store::count_cis_of_type(conn, type_id)?;
                let offset = (page - 1).saturating_mul(CI_PAGE_SIZE);
                let ids = store::ci_page_of_type(conn, type_id, offset, CI_PAGE_SIZE)?;
                let cis = render(conn, &cat, &ids, wanted.as_deref(), ret_key)?;
                Ok(w::CiPage {
                    numfound,
                    type_id,
                    page,
                    cis,
                })
            })
            .await
    }

    pub async fn ci(&self, id: i64, ret_key: RetKey) -> Result<w::CiOne, Error> {
        self.db
            .read(move |conn| {
                let cat = catalog(conn)?;
                let mut cis = render(conn, &cat, &[id], None, ret_key)?;
                let ci = cis
                    .pop()
                    .ok_or_else(|| Error::NotFound(format!("ci {id} is not found")))?;
                Ok(w::CiOne { ci_id: id, ci })
            })
            .await
    }

    pub async fn write_ci(
        &self,
        caller: Actor,
        mode: WriteMode,
        input: CiWrite,
    ) -> Result<w::CiId, Error> {
        self.db
            .write(move |conn| {
                let ci_id = write_ci(conn, &caller, mode, input)?;
                store::log_changes(conn, &[ci_id])?;
                Ok(w::CiId { ci_id })
            })
            .await
    }

    /// `POST /ci`: adds a CI, or under `exist_policy` `need` / `replace` updates the CI of
    /// the type holding the unique value given.
    pub async fn add_ci(
        &self,
        caller: Actor,
        policy: ExistPolicy,
        mut input: CiWrite,
    ) -> Result<w::CiId, Error> {
        self.db
            .write(move |conn| {
                let mode = match policy {
                    ExistPolicy::Reject => WriteMode::Add,
                    ExistPolicy::Need | ExistPolicy::Replace => {
                        match existing_of_type(conn, &input)? {
                            Some(id) => {
                                input.ci_id = Some(id);
                                WriteMode::Update
                            }
                            None if policy == ExistPolicy::Need => {
                                return Err(Error::NotFound(format!(
                                    "no ci of citype `{}` holds the unique value given \
                                     (exist_policy=need)",
                                    input.ci_type
                                )))
                            }
                            // Added; a unique value held by a CI of another type is refused
                            // there as already existing.
                            None => WriteMode::Add,
                        }
                    }
                };
                let ci_id = write_ci(conn, &caller, mode, input)?;
                store::log_changes(conn, &[ci_id])?;
                Ok(w::CiId { ci_id })
            })
            .await
    }

    /// Writes every row in one transaction; a refused row leaves no trace and does not undo
    /// the others. A row with `_id` / `ci_id` updates that CI; otherwise it updates the CI
    /// holding its unique value, or adds one. Rows that add CIs are written in bulk (see
    /// `ci_batch`), each answered as if written alone.
    pub async fn batch_cis(
        &self,
        caller: Actor,
        rows: Vec<CiWrite>,
    ) -> Result<w::BatchResult, Error> {
        if rows.is_empty() || rows.len() > MAX_BATCH_ROWS {
            return Err(Error::BadArgument(format!(
                "invalid parameter `cis`: give between 1 and {MAX_BATCH_ROWS} rows, not {}",
                rows.len()
            )));
        }
        self.db
            .write(move |conn| {
                let (results, written_ids) = batch(conn, &caller, rows)?;
                let count = |action: &str| results.iter().filter(|r| r.action == action).count();
                let out = w::BatchResult {
                    added: count(WriteMode::Add.as_str()) as i64,
                    updated: count(WriteMode::Update.as_str()) as i64,
                    failed: count("error") as i64,
                    results,
                };
                store::log_changes(conn, &written_ids)?;
                Ok(out)
            })
            .await
    }

    pub async fn delete_ci(&self, caller: Actor, id: i64) -> Result<w::Message, Error> {
        self.db
            .write(move |conn| {
                let type_id = store::ci_type_of(conn, id)?
                    .ok_or_else(|| Error::NotFound(format!("ci {id} is not found")))?;
                let cat = catalog(conn)?;
                may_write_ci_of(&caller, &cat, type_id)?;
                let record = store::insert_record(conn, caller.user_id, &caller.username, now())?;
                let mut relations = store::crs_from(conn, id)?;
                relations.extend(store::crs_to(conn, id)?);
                for r in &relations {
                    store::delete_cr(conn, r.id)?;
                    store::insert_rel_change(conn, record, r, HistoryAction::Delete)?;
                }
                for (attr_id, values) in group_values(store::load_values(conn, &[id])?) {
                    if let Some(attr) = cat.attr_by_id(attr_id) {
                        store::insert_attr_change(
                            conn,
                            record,
                            &NewAttrChange {
                                ci_id: id,
                                attr,
                                operate: HistoryAction::Delete,
                                old: Some(history_text(attr, &values)),
                                new: None,
                            },
                        )?;
                    }
                }
                store::delete_ci(conn, id)?;
                // The other ends of its relations changed too (for the index's relations).
                let mut touched = vec![id];
                for r in &relations {
                    touched.extend([r.first_ci_id, r.second_ci_id]);
                }
                store::log_changes(conn, &touched)?;
                Ok(w::Message {
                    message: "ok".into(),
                })
            })
            .await
    }
}

/// The values a parameter gives an attribute: a JSON list, or for a multi-valued attribute
/// text split on commas. Empty means "no value".
pub(super) fn raw_values(attr: &AttrRow, key: &str, value: &Value) -> Result<Vec<String>, Error> {
    let scalar = |v: &Value| {
        scalar_text(v).ok_or_else(|| {
            Error::BadArgument(format!(
                "invalid value for attribute `{key}`: expected a value or a list of values"
            ))
        })
    };
    match value {
        Value::Array(items) if attr.is_multivalue => items
            .iter()
            .map(scalar)
            .filter(|r| !matches!(r, Ok(s) if s.trim().is_empty()))
            .collect(),
        Value::Array(_) => Err(Error::BadArgument(format!(
            "invalid value for attribute `{key}`: it takes one value, not a list"
        ))),
        other => {
            let text = scalar(other)?;
            if text.trim().is_empty() {
                Ok(Vec::new())
            } else if attr.is_multivalue {
                Ok(text
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect())
            } else {
                Ok(vec![text])
            }
        }
    }
}

/// The CI already holding the row's unique value, if the row names its type and gives
/// that value. Anything unreadable is left for `write_ci` to refuse with its own message.
pub(super) fn existing_ci(conn: &mut DbConn, row: &CiWrite) -> Result<Option<i64>, Error> {
    let cat = catalog(conn)?;
    let Some(ty) = cat.ci_type(&row.ci_type) else {
        return Ok(None);
    };
    let Some(unique) = cat.attr_by_id(ty.unique_attr_id) else {
        return Ok(None);
    };
    let given = row.fields.iter().find_map(|(key, value)| {
        cat.attr(key)
            .filter(|a| a.id == unique.id)
            .map(|_| (key, value))
    });
    let Some((key, value)) = given else {
        return Ok(None);
    };
    let Ok(raws) = raw_values(unique, key, value) else {
        return Ok(None);
    };
    let Some(typed) = raws
        .first()
        .and_then(|raw| Typed::parse(unique.value_type, raw).ok())
    else {
        return Ok(None);
    };
    Ok(store::unique_owner(conn, unique.id, &typed.canonical())?)
}

/// The CI of the row's type already holding its unique value (none when another type's CI
/// holds it, or the row names no known type).
fn existing_of_type(conn: &mut DbConn, row: &CiWrite) -> Result<Option<i64>, Error> {
    let cat = catalog(conn)?;
    let Some(ty) = cat.ci_type(&row.ci_type) else {
        return Err(Error::BadArgument(format!(
            "invalid parameter `ci_type`: citype `{}` is not found",
            row.ci_type
        )));
    };
    let type_id = ty.id;
    match existing_ci(conn, row)? {
        Some(id) if store::ci_type_of(conn, id)? == Some(type_id) => Ok(Some(id)),
        _ => Ok(None),
    }
}

/// Whether `caller` may write a CI of the type `type_id` (a service writes only `dcp_*`).
pub(super) fn may_write_ci_of(caller: &Actor, cat: &Catalog, type_id: i64) -> Result<(), Error> {
    match cat.type_by_id(type_id) {
        Some(ty) => caller.may_write_type(&ty.name),
        None => Err(Error::Internal(
            format!("ci of citype {type_id}, which is not in the catalog").into(),
        )),
    }
}
