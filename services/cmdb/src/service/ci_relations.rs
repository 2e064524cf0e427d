//! Relations between CIs, and the graph around one CI.

use std::collections::HashMap;

use serde_json::Value;
use wire::cmdb as w;

use super::cis::may_write_ci_of;
use super::{catalog, now, render, Cmdb, MAX_GRAPH_CIS, MAX_GRAPH_DEPTH};
use crate::auth::Actor;
use crate::error::Error;
use crate::model::HistoryAction;
use crate::model::{RelationType, RetKey};
use crate::store::{self, CrRow};

impl Cmdb {
    // ---- CI relations ----

    pub async fn related_cis(&self, id: i64, second: bool) -> Result<(i64, Vec<w::Ci>), Error> {
        self.db
            .read(move |conn| {
                store::ci_type_of(conn, id)?
                    .ok_or_else(|| Error::NotFound(format!("ci {id} is not found")))?;
                let cat = catalog(conn)?;
                let relations = if second {
                    store::crs_from(conn, id)?
                } else {
                    store::crs_to(conn, id)?
                };
                let ids: Vec<i64> = relations
                    .iter()
                    .map(|r| {
                        if second {
                            r.second_ci_id
                        } else {
                            r.first_ci_id
                        }
                    })
                    .collect();
                let mut cis = render(conn, &cat, &ids, None, RetKey::Name)?;
                for (ci, r) in cis.iter_mut().zip(&relations) {
                    ci.insert("_cr_id".into(), Value::from(r.id));
                    ci.insert(
                        "_relation_type".into(),
                        Value::String(r.relation_type.clone()),
                    );
                    ci.insert(
                        "_more".into(),
                        r.more.map(Value::from).unwrap_or(Value::Null),
                    );
                }
                Ok((cis.len() as i64, cis))
            })
            .await
    }

    /// The CIs within `depth` hops of `root`, following relations either way, and every
    /// relation between two of them. Breadth first, so each CI's `_depth` is its distance.
    pub async fn ci_graph(&self, root: i64, depth: i64) -> Result<w::CiGraph, Error> {
        if !(1..=MAX_GRAPH_DEPTH).contains(&depth) {
            return Err(Error::BadArgument(format!(
                "invalid parameter `depth`: must be between 1 and {MAX_GRAPH_DEPTH}"
            )));
        }
        self.db
            .read(move |conn| {
                store::ci_type_of(conn, root)?
                    .ok_or_else(|| Error::NotFound(format!("ci {root} is not found")))?;
                let mut depth_of: HashMap<i64, i64> = HashMap::from([(root, 0)]);
                let mut order = vec![root];
                let mut frontier = vec![root];
                let mut truncated = false;
                for hop in 1..=depth {
                    let mut next = Vec::new();
                    for r in store::crs_touching(conn, &frontier)? {
                        for other in [r.first_ci_id, r.second_ci_id] {
                            if depth_of.contains_key(&other) {
                                continue;
                            }
                            if order.len() >= MAX_GRAPH_CIS {
                                truncated = true;
                                continue;
                            }
                            depth_of.insert(other, hop);
                            order.push(other);
                            next.push(other);
                        }
                    }
                    frontier = next;
                    if frontier.is_empty() {
                        break;
                    }
                }
                // Relations among the CIs found, those between the farthest ones included.
                let relations: Vec<w::CiRelation> = store::crs_touching(conn, &order)?
                    .into_iter()
                    .filter(|r| {
                        depth_of.contains_key(&r.first_ci_id)
                            && depth_of.contains_key(&r.second_ci_id)
                    })
                    .map(|r| w::CiRelation {
                        cr_id: r.id,
                        first_ci_id: r.first_ci_id,
                        second_ci_id: r.second_ci_id,
                        relation_type: r.relation_type,
                        more: r.more,
                    })
                    .collect();
                let cat = catalog(conn)?;
                let mut cis = render(conn, &cat, &order, None, RetKey::Name)?;
                for ci in &mut cis {
                    let id = ci.get("_id").and_then(Value::as_i64).unwrap_or_default();
                    let hops = depth_of.get(&id).copied().unwrap_or_default();
                    ci.insert("_depth".into(), Value::from(hops));
                }
                Ok(w::CiGraph {
                    root,
                    depth,
                    numfound: cis.len() as i64,
                    truncated,
                    cis,
                    relations,
                })
            })
            .await
    }

    /// Relates `first` to `second`. The seed's route (`as_veops` false) refuses a relation
    /// that exists and defaults to `contain`; veops CMDB's (`/ci_relations/<src>/<dst>`,
    /// `as_veops` true) answers an existing relation's id, and without `relation_type`
    /// takes the kind of the relation between the two CIs' types, if there is one.
    pub async fn add_ci_relation(
        &self,
        caller: Actor,
        (first, second): (i64, i64),
        kind: Option<String>,
        more: Option<i64>,
        as_veops: bool,
    ) -> Result<w::CrId, Error> {
        let given = match kind.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(_) => Some(RelationType::parse(kind.as_deref())?),
        };
        if first == second {
            return Err(Error::BadArgument(format!(
                "a CI cannot be related to itself (ci {first})"
            )));
        }
        self.db
            .write(move |conn| {
                let cat = catalog(conn)?;
                let mut types = (0, 0);
                for (id, slot) in [(first, &mut types.0), (second, &mut types.1)] {
                    let type_id = store::ci_type_of(conn, id)?
                        .ok_or_else(|| Error::NotFound(format!("ci {id} is not found")))?;
                    may_write_ci_of(&caller, &cat, type_id)?;
                    *slot = type_id;
                }
                if as_veops {
                    if let Some(existing) = store::cr_between(conn, first, second)? {
                        return Ok(w::CrId { cr_id: existing.id });
                    }
                }
                let kind = match given {
                    Some(kind) => kind,
                    None if as_veops => match store::ctr_between(conn, types.0, types.1)? {
                        Some(ctr) => RelationType::parse(Some(&ctr.relation_type))?,
                        None => RelationType::parse(None)?,
                    },
                    None => RelationType::parse(None)?,
                };
                if let Some(m) = more {
                    store::ci_type_of(conn, m)?.ok_or_else(|| {
                        Error::NotFound(format!("invalid parameter `more`: ci {m} is not found"))
                    })?;
                }
                let taken = || format!("ci relation {first} -> {second} already exists");
                if store::cr_between(conn, first, second)?.is_some() {
                    return Err(Error::Duplicate(taken()));
                }
                let id = store::insert_cr(conn, first, second, kind.as_str(), more)
                    .map_err(|e| Error::already_exists(e, taken))?;
                let record = store::insert_record(conn, caller.user_id, &caller.username, now())?;
                let row = CrRow {
                    id,
                    first_ci_id: first,
                    second_ci_id: second,
                    relation_type: kind.as_str().to_string(),
                    more,
                };
                store::insert_rel_change(conn, record, &row, HistoryAction::Add)?;
                // Both CIs: the search index keeps their relations (`/ci_relations/s`).
                store::log_changes(conn, &[first, second])?;
                Ok(w::CrId { cr_id: id })
            })
            .await
    }

    pub async fn delete_ci_relation(&self, caller: Actor, id: i64) -> Result<w::Message, Error> {
        self.db
            .write(move |conn| {
                let row = store::cr(conn, id)?
                    .ok_or_else(|| Error::NotFound(format!("ci relation {id} is not found")))?;
                let cat = catalog(conn)?;
                for ci in [row.first_ci_id, row.second_ci_id] {
                    if let Some(type_id) = store::ci_type_of(conn, ci)? {
                        may_write_ci_of(&caller, &cat, type_id)?;
                    }
                }
                store::delete_cr(conn, id)?;
                let record = store::insert_record(conn, caller.user_id, &caller.username, now())?;
                store::insert_rel_change(conn, record, &row, HistoryAction::Delete)?;
                store::log_changes(conn, &[row.first_ci_id, row.second_ci_id])?;
                Ok(w::Message {
                    message: format!("CI relation {} deleted", row.relation_type),
                })
            })
            .await
    }
}
