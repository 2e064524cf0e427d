//! Writing one CI: resolve the parameters against the type, check them against the write
//! mode, apply the changes with their history.

use std::collections::HashSet;

use kit::db::DbConn;
use serde_json::Value;

use super::cis::{raw_values, CiWrite, WriteMode};
use super::history::history_text;
use super::{catalog, group_values, now};
use crate::auth::Caller;
use crate::error::Error;
use crate::model::HistoryAction;
use crate::model::Typed;
use crate::store::{self, AttrRow, NewAttrChange};

pub(super) fn write_ci(
    conn: &mut DbConn,
    caller: &Caller,
    mode: WriteMode,
    input: CiWrite,
) -> Result<i64, Error> {
    let cat = catalog(conn)?;
    let ty = cat
        .ci_type(&input.ci_type)
        .ok_or_else(|| {
            Error::BadArgument(format!(
                "invalid parameter `ci_type`: citype `{}` is not found",
                input.ci_type
            ))
        })?
        .clone();
    if !ty.enabled {
        return Err(Error::BadArgument(format!(
            "invalid parameter `ci_type`: citype `{}` is disabled",
            ty.name
        )));
    }
    let bound = store::type_bindings(conn, ty.id)?;
    let mut changes: Vec<(AttrRow, Option<Vec<Typed>>)> = Vec::new();
    let mut seen = HashSet::new();
    for (key, value) in &input.fields {
        let attr = match cat.attr(key) {
            Some(a) if bound.iter().any(|(id, _)| *id == a.id) => a.clone(),
            _ if input.reject_unknown => {
                return Err(Error::BadArgument(format!(
                    "unknown attribute `{key}`: citype `{}` has no such attribute (_no_attribute_policy=reject)",
                    ty.name
                )))
            }
            _ => continue,
        };
        if !seen.insert(attr.id) {
            return Err(Error::BadArgument(format!(
                "attribute `{}` is given twice (once as `{key}`)",
                attr.name
            )));
        }
        let raws = raw_values(&attr, key, value)?;
        if raws.is_empty() {
            changes.push((attr, None));
            continue;
        }
        let choices = attr.choices();
        let mut typed: Vec<Typed> = Vec::with_capacity(raws.len());
        for raw in &raws {
            // A text value may span lines (a description, a script); nothing else invisible.
            kit::text::check_multiline(key, raw)?;
            let v = Typed::parse(attr.vt(), raw).map_err(|reason| {
                Error::BadArgument(format!("invalid value for attribute `{key}`: {reason}"))
            })?;
            if attr.is_choice && !choices.contains(&v.to_json()) {
                return Err(Error::BadArgument(format!(
                    "invalid value for attribute `{key}`: `{raw}` is not one of {}",
                    Value::Array(choices.clone())
                )));
            }
            if !typed.contains(&v) {
                typed.push(v);
            }
        }
        changes.push((attr, Some(typed)));
    }
    let unique_attr = cat
        .attr_by_id(ty.unique_attr_id)
        .ok_or_else(|| Error::Internal(format!("citype `{}` lost its unique attribute", ty.name)))?
        .clone();
    let unique_value = changes
        .iter()
        .find(|(a, _)| a.id == unique_attr.id)
        .map(|(_, v)| v.clone());
    let missing_unique = || {
        Error::BadArgument(format!(
            "missing parameter `{}`: the unique attribute of citype `{}`",
            unique_attr.name, ty.name
        ))
    };
    let ci_id = match mode {
        WriteMode::Add => {
            match &unique_value {
                Some(Some(_)) => {}
                _ => return Err(missing_unique()),
            }
            for (attr_id, required) in &bound {
                let given = changes.iter().any(|(a, v)| a.id == *attr_id && v.is_some());
                if *required && !given {
                    let name = cat
                        .attr_by_id(*attr_id)
                        .map(|a| a.name.clone())
                        .unwrap_or_default();
                    return Err(Error::BadArgument(format!(
                        "missing parameter `{name}`: required by citype `{}`",
                        ty.name
                    )));
                }
            }
            store::insert_ci(conn, ty.id)?
        }
        WriteMode::Update => {
            if matches!(unique_value, Some(None)) {
                return Err(Error::BadArgument(format!(
                    "invalid parameter `{}`: the unique attribute cannot be cleared",
                    unique_attr.name
                )));
            }
            for (attr, v) in &changes {
                let required = bound.iter().any(|(id, r)| *id == attr.id && *r);
                if required && v.is_none() {
                    return Err(Error::BadArgument(format!(
                        "invalid parameter `{}`: required by citype `{}`, it cannot be cleared",
                        attr.name, ty.name
                    )));
                }
            }
            let id = match (input.ci_id, &unique_value) {
                (Some(id), _) => id,
                (None, Some(Some(values))) => {
                    let canonical = values.first().map(Typed::canonical).unwrap_or_default();
                    store::unique_owner(conn, unique_attr.id, &canonical)?.ok_or_else(|| {
                        Error::NotFound(format!(
                            "no ci of citype `{}` has {}=`{canonical}`",
                            ty.name, unique_attr.name
                        ))
                    })?
                }
                (None, _) => return Err(missing_unique()),
            };
            match store::ci_type_of(conn, id)? {
                Some(t) if t == ty.id => id,
                _ => {
                    return Err(Error::NotFound(format!(
                        "ci {id} of citype `{}` is not found",
                        ty.name
                    )))
                }
            }
        }
    };
    let current = group_values(store::load_values(conn, &[ci_id])?);
    let mut record: Option<i64> = None;
    for (attr, new) in changes {
        let old = current.get(&attr.id);
        let operate = match (old, &new) {
            (None, None) => continue,
            (Some(o), Some(n)) if o == n => continue,
            (None, Some(_)) => HistoryAction::Add,
            (Some(_), Some(_)) => HistoryAction::Update,
            (Some(_), None) => HistoryAction::Delete,
        };
        // Only when there is something to delete: on MariaDB a DELETE that finds no row
        // still gap-locks the end of the `ci_id` index, and two processes adding CIs at once
        // then deadlocked on their inserts into `ci_unique_values`.
        if old.is_some() {
            store::delete_values(conn, ci_id, &attr)?;
        }
        if let Some(values) = &new {
            for v in values {
                if attr.is_uniq {
                    let canonical = v.canonical();
                    let taken = |holder: &str| {
                        format!(
                            "attribute `{}` is unique and `{canonical}` already exists ({holder})",
                            attr.name
                        )
                    };
                    if let Some(owner) = store::unique_owner(conn, attr.id, &canonical)? {
                        return Err(Error::Duplicate(taken(&format!("ci {owner} has it"))));
                    }
                    store::claim_unique(conn, attr.id, &canonical, ci_id).map_err(|e| {
                        Error::already_exists(e, || taken("another CI was just given it"))
                    })?;
                }
                store::insert_value(conn, ci_id, attr.id, v)?;
            }
        }
        let record_id = match record {
            Some(r) => r,
            None => {
                let r = store::insert_record(conn, caller.user_id, &caller.username, now())?;
                record = Some(r);
                r
            }
        };
        store::insert_attr_change(
            conn,
            record_id,
            &NewAttrChange {
                ci_id,
                attr: &attr,
                operate,
                old: old.map(|o| history_text(&attr, o)),
                new: new.as_ref().map(|n| history_text(&attr, n)),
            },
        )?;
    }
    Ok(ci_id)
}
