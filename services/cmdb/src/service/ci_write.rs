//! Writing one CI, in three steps: [`resolve`] reads the parameters against the catalog into
//! typed values, [`check_add`] / [`check_update`] hold them to the rules of the write mode
//! (and find the CI an update is for), and [`apply`] stores what changed with its history.

use std::collections::HashSet;
use std::sync::Arc;

use kit::db::DbConn;
use serde_json::Value;

use super::cis::{raw_values, CiWrite, WriteMode};
use super::history::history_text;
use super::{catalog, group_values, now};
use crate::auth::Actor;
use crate::error::Error;
use crate::model::{Catalog, HistoryAction, Typed};
use crate::store::{self, AttrRow, NewAttrChange, TypeRow};

/// Writes one CI (inside the caller's transaction) and returns its id.
pub(super) fn write_ci(
    conn: &mut DbConn,
    caller: &Actor,
    mode: WriteMode,
    input: CiWrite,
) -> Result<i64, Error> {
    let write = resolve(conn, input)?;
    caller.may_write_type(&write.ty.name)?;
    let ci_id = match mode {
        WriteMode::Add => {
            check_add(&write)?;
            store::insert_ci(conn, write.ty.id)?
        }
        WriteMode::Update => check_update(conn, &write)?,
    };
    apply(conn, caller, ci_id, write.changes)?;
    Ok(ci_id)
}

/// One attribute as a write gives it: its values, or `None` to clear it.
pub(super) struct Change {
    pub(super) attr: AttrRow,
    pub(super) values: Option<Vec<Typed>>,
}

/// A write read against the catalog: its type, the type's bindings, and every attribute
/// it gives with its values parsed.
pub(super) struct ResolvedWrite {
    cat: Arc<Catalog>,
    pub(super) ty: TypeRow,
    /// `(attr_id, is_required)` of the type's attributes.
    bound: Vec<(i64, bool)>,
    pub(super) changes: Vec<Change>,
    unique_attr: AttrRow,
    /// The CI by id (update only).
    ci_id: Option<i64>,
}

impl ResolvedWrite {
    /// What the write gives the unique attribute: absent, cleared, or values.
    fn unique_value(&self) -> Option<&Option<Vec<Typed>>> {
        self.changes
            .iter()
            .find(|c| c.attr.id == self.unique_attr.id)
            .map(|c| &c.values)
    }

    fn missing_unique(&self) -> Error {
        Error::BadArgument(format!(
            "missing parameter `{}`: the unique attribute of citype `{}`",
            self.unique_attr.name, self.ty.name
        ))
    }
}

/// The type (enabled), and each given attribute of it with its values parsed; attributes
/// the type does not have are skipped or, with `reject_unknown`, refused.
fn resolve(conn: &mut DbConn, input: CiWrite) -> Result<ResolvedWrite, Error> {
    let cat = Arc::new(catalog(conn)?);
    // An update by id may leave the type out: it is the CI's own.
    let own_type = match input.ci_id {
        Some(id) if input.ci_type.trim().is_empty() => Some(
            store::ci_type_of(conn, id)?
                .ok_or_else(|| Error::NotFound(format!("ci {id} is not found")))?,
        ),
        _ => None,
    };
    let ty = resolve_type(&cat, own_type, &input)?;
    let bound = store::type_bindings(conn, ty.id)?;
    resolve_with(cat, ty, bound, &input)
}

/// The type a write names (or `own_type`, the CI's), refused when unknown or disabled.
pub(super) fn resolve_type(
    cat: &Catalog,
    own_type: Option<i64>,
    input: &CiWrite,
) -> Result<TypeRow, Error> {
    let ty = own_type
        .and_then(|t| cat.type_by_id(t))
        .or_else(|| cat.ci_type(&input.ci_type))
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
    Ok(ty)
}

/// [`resolve`] with the catalog, the type and its bindings at hand (reads nothing).
pub(super) fn resolve_with(
    cat: Arc<Catalog>,
    ty: TypeRow,
    bound: Vec<(i64, bool)>,
    input: &CiWrite,
) -> Result<ResolvedWrite, Error> {
    let mut changes: Vec<Change> = Vec::new();
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
        let values = parse_values(&attr, key, value)?;
        changes.push(Change { attr, values });
    }
    let unique_attr = cat
        .attr_by_id(ty.unique_attr_id)
        .ok_or_else(|| {
            Error::Internal(format!("citype `{}` lost its unique attribute", ty.name).into())
        })?
        .clone();
    Ok(ResolvedWrite {
        cat,
        ty,
        bound,
        changes,
        unique_attr,
        ci_id: input.ci_id,
    })
}

/// The values a parameter gives `attr`, each parsed to its type and among its choices,
/// without repeats; `None` when it gives none (which clears the attribute).
fn parse_values(attr: &AttrRow, key: &str, value: &Value) -> Result<Option<Vec<Typed>>, Error> {
    let raws = raw_values(attr, key, value)?;
    if raws.is_empty() {
        return Ok(None);
    }
    let choices = attr.choices();
    let mut typed: Vec<Typed> = Vec::with_capacity(raws.len());
    for raw in &raws {
        // A text value may span lines (a description, a script); nothing else invisible.
        kit::text::check_multiline(key, raw)?;
        let v = Typed::parse(attr.value_type, raw).map_err(|reason| {
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
    Ok(Some(typed))
}

/// A new CI needs its unique value and every required attribute.
pub(super) fn check_add(write: &ResolvedWrite) -> Result<(), Error> {
    if !matches!(write.unique_value(), Some(Some(_))) {
        return Err(write.missing_unique());
    }
    for (attr_id, required) in &write.bound {
        let given = write
            .changes
            .iter()
            .any(|c| c.attr.id == *attr_id && c.values.is_some());
        if *required && !given {
            let name = write
                .cat
                .attr_by_id(*attr_id)
                .map(|a| a.name.clone())
                .unwrap_or_default();
            return Err(Error::BadArgument(format!(
                "missing parameter `{name}`: required by citype `{}`",
                write.ty.name
            )));
        }
    }
    Ok(())
}

/// An update may not clear the unique value or a required attribute; it is for the CI given
/// by id, else for the one holding the unique value given, which must be of the type.
fn check_update(conn: &mut DbConn, write: &ResolvedWrite) -> Result<i64, Error> {
    let unique_value = write.unique_value();
    if matches!(unique_value, Some(None)) {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{}`: the unique attribute cannot be cleared",
            write.unique_attr.name
        )));
    }
    for change in &write.changes {
        let required = write
            .bound
            .iter()
            .any(|(id, r)| *id == change.attr.id && *r);
        if required && change.values.is_none() {
            return Err(Error::BadArgument(format!(
                "invalid parameter `{}`: required by citype `{}`, it cannot be cleared",
                change.attr.name, write.ty.name
            )));
        }
    }
    let id = match (write.ci_id, unique_value) {
        (Some(id), _) => id,
        (None, Some(Some(values))) => {
            let canonical = values.first().map(Typed::canonical).unwrap_or_default();
            store::unique_owner(conn, write.unique_attr.id, &canonical)?.ok_or_else(|| {
                Error::NotFound(format!(
                    "no ci of citype `{}` has {}=`{canonical}`",
                    write.ty.name, write.unique_attr.name
                ))
            })?
        }
        (None, _) => return Err(write.missing_unique()),
    };
    match store::ci_type_of(conn, id)? {
        Some(t) if t == write.ty.id => Ok(id),
        _ => Err(Error::NotFound(format!(
            "ci {id} of citype `{}` is not found",
            write.ty.name
        ))),
    }
}

/// Stores the changes that change something, claiming unique values, and records each in
/// one history record (made at the first change, so a write that changes nothing leaves none).
fn apply(conn: &mut DbConn, caller: &Actor, ci_id: i64, changes: Vec<Change>) -> Result<(), Error> {
    let current = group_values(store::load_values(conn, &[ci_id])?);
    let mut record: Option<i64> = None;
    for Change { attr, values: new } in changes {
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
        for value in new.iter().flatten() {
            if attr.is_uniq {
                claim_unique(conn, &attr, value, ci_id)?;
            }
            store::insert_value(conn, ci_id, attr.id, value)?;
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
    Ok(())
}

/// Gives `value` of the unique attribute `attr` to the CI, unless another CI holds it.
fn claim_unique(conn: &mut DbConn, attr: &AttrRow, value: &Typed, ci_id: i64) -> Result<(), Error> {
    let canonical = value.canonical();
    let taken = |holder: &str| {
        format!(
            "attribute `{}` is unique and `{canonical}` already exists ({holder})",
            attr.name
        )
    };
    if let Some(owner) = store::unique_owner(conn, attr.id, &canonical)? {
        return Err(Error::Duplicate(taken(&format!("ci {owner} has it"))));
    }
    store::claim_unique(conn, attr.id, &canonical, ci_id)
        .map_err(|e| Error::already_exists(e, || taken("another CI was just given it")))?;
    Ok(())
}
