//! CIs as the seed shows them.

use std::collections::{BTreeSet, HashMap};

use kit::db::DbConn;
use serde_json::{Map, Value};
use wire::cmdb as w;

use crate::error::Error;
use crate::model::{Catalog, IdMap, RetKey, Typed};
use crate::store;

/// Resolves a comma-separated list of attributes (`fields`, `fl`); none means "all".
pub(crate) fn attr_list(
    cat: &Catalog,
    text: Option<&str>,
    param: &str,
) -> Result<Option<Vec<i64>>, Error> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    text.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| {
            cat.attr(k).map(|a| a.id).ok_or_else(|| {
                Error::BadArgument(format!(
                    "invalid parameter `{param}`: unknown attribute `{k}`"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The seed's CI objects, in the order of `ids` (ids that do not exist are left out).
pub(crate) fn render(
    conn: &mut DbConn,
    cat: &Catalog,
    ids: &[i64],
    fields: Option<&[i64]>,
    ret: RetKey,
) -> Result<Vec<w::Ci>, Error> {
    let set: BTreeSet<i64> = ids.iter().copied().collect();
    let types: IdMap<i64, i64> = store::ci_types_of(conn, &set)?.into_iter().collect();
    let mut values: IdMap<(i64, i64), Vec<Typed>> = IdMap::default();
    for (ci, attr, value) in store::load_values(conn, ids)? {
        values.entry((ci, attr)).or_default().push(value);
    }
    let bindings = if fields.is_none() {
        store::all_bindings(conn)?
    } else {
        HashMap::new()
    };
    Ok(render_loaded(
        cat, &bindings, ids, &types, &values, fields, ret,
    ))
}

/// [`render`] of CIs whose types (by CI id) and values (by CI and attribute id, in
/// insertion order) are at hand, `bindings` the attribute ids bound to each type (what
/// "every attribute" is when `fields` does not say).
pub(crate) fn render_loaded(
    cat: &Catalog,
    bindings: &HashMap<i64, Vec<i64>>,
    ids: &[i64],
    types: &IdMap<i64, i64>,
    values: &IdMap<(i64, i64), Vec<Typed>>,
    fields: Option<&[i64]>,
    ret: RetKey,
) -> Vec<w::Ci> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(t) = types.get(id).and_then(|t| cat.type_by_id(*t)) else {
            continue;
        };
        let attr_ids: &[i64] = match fields {
            Some(f) => f,
            None => bindings.get(&t.id).map(Vec::as_slice).unwrap_or(&[]),
        };
        // The entries in order, made into the map at once (a later one with the same key
        // wins, as inserting them one by one would have it).
        let mut ci: Vec<(String, Value)> = Vec::with_capacity(5 + attr_ids.len());
        ci.push(("_id".into(), Value::from(*id)));
        ci.push(("_type".into(), Value::from(t.id)));
        ci.push(("ci_type".into(), Value::String(t.name.clone())));
        ci.push(("ci_type_alias".into(), Value::String(t.alias.clone())));
        let unique = values
            .get(&(*id, t.unique_attr_id))
            .and_then(|v| v.first())
            .map(Typed::to_json)
            .unwrap_or(Value::Null);
        ci.push(("_unique".into(), unique));
        for attr_id in attr_ids {
            let Some(attr) = cat.attr_by_id(*attr_id) else {
                continue;
            };
            let held = values.get(&(*id, *attr_id));
            let value = if attr.is_multivalue {
                Value::Array(
                    held.map(|v| v.iter().map(Typed::to_json).collect())
                        .unwrap_or_default(),
                )
            } else {
                held.and_then(|v| v.first())
                    .map(Typed::to_json)
                    .unwrap_or(Value::Null)
            };
            ci.push((ret.key(attr), value));
        }
        out.push(Map::from_iter(ci));
    }
    out
}
