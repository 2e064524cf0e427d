//! The search of `GET /api/v0.1/ci/s`: the language (`query`), its plan against the
//! catalog (`plan`), and two ways to run a plan that answer alike: the in-memory index
//! (`index`, the usual one) and SQL (`sql`, when the index cannot).

pub(crate) mod index;
pub(crate) mod plan;
pub mod query;
pub(crate) mod sql;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use kit::db::DbConn;
use serde_json::Value;
use wire::cmdb as w;

use crate::error::Error;
use crate::model::{RetKey, Typed};
use crate::service::{render, render_loaded, Cmdb};
use crate::store;
use index::{CatalogSnapshot, PageValues, SharedIndex};
use plan::{plan, Plan};
use sql::{terms_filter, Filter};

#[derive(Debug, Clone)]
pub struct SearchInput {
    pub q: String,
    pub types: Option<String>,
    pub ids: Option<String>,
    pub fl: Option<String>,
    pub ret_key: RetKey,
    pub count: i64,
    pub page: i64,
    pub facet: Option<String>,
    pub sort: Option<String>,
    /// Only these CIs (the walk of `/ci_relations/s`), when given.
    pub within: Option<Vec<i64>>,
}

/// The walk of `GET /ci_relations/s`: from `root_id` along relations (to their second CIs,
/// or with `reverse` to their first CIs), the CIs at each of `levels` hops.
#[derive(Debug, Clone)]
pub struct RelationWalk {
    pub root_id: i64,
    pub levels: Vec<i64>,
    pub reverse: bool,
}

/// The deepest level `/ci_relations/s` walks to.
pub const MAX_RELATION_LEVEL: i64 = 20;

impl Cmdb {
    // ---- search ----

    pub async fn search(&self, input: SearchInput) -> Result<w::SearchResult, Error> {
        let index = self.index.clone();
        self.db
            .read(move |conn| search_cis(conn, &index, &input))
            .await
    }
}

impl Cmdb {
    /// `GET /ci_relations/s`: the CIs `walk` reaches that `input` matches, searched on the
    /// index exactly as `/ci/s` searches (the walk only narrows the CIs it looks at).
    pub async fn relation_search(
        &self,
        walk: RelationWalk,
        mut input: SearchInput,
    ) -> Result<w::SearchResult, Error> {
        if walk.levels.is_empty() {
            return Err(Error::BadArgument(
                "invalid parameter `level`: give one level or several, comma-separated".into(),
            ));
        }
        if let Some(bad) = walk
            .levels
            .iter()
            .find(|l| !(1..=MAX_RELATION_LEVEL).contains(*l))
        {
            return Err(Error::BadArgument(format!(
                "invalid parameter `level`: {bad} is not between 1 and {MAX_RELATION_LEVEL}"
            )));
        }
        let index = self.index.clone();
        self.db
            .read(move |conn| {
                let root = walk.root_id;
                store::ci_type_of(conn, root)?
                    .ok_or_else(|| Error::NotFound(format!("ci {root} is not found")))?;
                // The walk on the index's relations (brought up to date first); in SQL when
                // the index cannot be used.
                index.sync(conn)?;
                let within = match index
                    .with(|idx| walk_levels(&walk, |ids, reverse| Ok(idx.related(ids, reverse))))
                {
                    Some(found) => found?,
                    None => walk_levels(&walk, |ids, reverse| {
                        Ok(store::related_ids(conn, ids, reverse)?)
                    })?,
                };
                input.within = Some(within);
                search_cis(conn, &index, &input)
            })
            .await
    }
}

/// The CIs at each of the walk's levels: level 1 is the root's relations' other ends, level
/// n those of level n-1 (a CI met at two levels is at both; a cycle may bring the root back).
/// `related` answers the other ends of the relations of some CIs, with repeats.
fn walk_levels(
    walk: &RelationWalk,
    mut related: impl FnMut(&[i64], bool) -> Result<Vec<i64>, Error>,
) -> Result<Vec<i64>, Error> {
    let deepest = walk.levels.iter().copied().max().unwrap_or(0);
    let mut frontier = vec![walk.root_id];
    let mut found = Vec::new();
    for level in 1..=deepest {
        let mut next = related(&frontier, walk.reverse)?;
        next.sort_unstable();
        next.dedup();
        if walk.levels.contains(&level) {
            found.extend(next.iter().copied());
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    // Sorted and distinct, as the search takes them.
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

/// What a search found.
struct Found {
    numfound: i64,
    facets: Vec<Vec<(Typed, i64)>>,
    page: Vec<i64>,
    /// The page's types and values when the index gave them (else they are read).
    loaded: Option<PageValues>,
}

/// The search on the in-memory index; `None` when it is not usable (then SQL answers).
fn find_in_index(index: &SharedIndex, plan: &Plan<'_>, offset: i64, count: i64) -> Option<Found> {
    index.with(|idx| {
        let matched = idx.matches(&plan.terms, plan.types.as_deref(), plan.ids.as_deref());
        let numfound = i64::try_from(matched.len()).unwrap_or(i64::MAX);
        let facets = plan
            .facets
            .iter()
            .map(|attr| idx.facet(&matched, attr.value_type, attr.id))
            .collect();
        let page = if offset >= numfound {
            Vec::new()
        } else {
            idx.page(&matched, plan.order, offset, count)
        };
        let loaded = Some(idx.cis(&page));
        Found {
            numfound,
            facets,
            page,
            loaded,
        }
    })
}

/// The search in SQL: each term an `IN (SELECT ...)` (see `sql`).
fn find_in_sql(
    conn: &mut DbConn,
    plan: &Plan<'_>,
    offset: i64,
    count: i64,
) -> Result<Found, Error> {
    let mut filter = terms_filter(conn, &plan.terms);
    if let Some(types) = &plan.types {
        filter = Filter::types_in(types).and(filter);
    }
    if let Some(ids) = &plan.ids {
        filter = Filter::ids_in(ids).and(filter);
    }
    let by_type = sql::count_by_type(conn, &filter)?;
    let numfound = by_type.iter().map(|(_, n)| n).sum();
    let mut facets = Vec::with_capacity(plan.facets.len());
    for attr in &plan.facets {
        facets.push(if numfound == 0 {
            Vec::new()
        } else {
            sql::facet(conn, &filter, attr.value_type, attr.id)?
        });
    }
    let page = if offset >= numfound {
        Vec::new()
    } else {
        sql::page(conn, &filter, plan.order, offset, count)?
    };
    Ok(Found {
        numfound,
        facets,
        page,
        loaded: None,
    })
}

fn search_cis(
    conn: &mut DbConn,
    index: &SharedIndex,
    input: &SearchInput,
) -> Result<w::SearchResult, Error> {
    // The freshness check (one read when nothing changed) gives the catalog too.
    let snapshot = index.sync(conn)?;
    let plan = plan(&snapshot.cat, input)?;
    let offset = (input.page - 1).saturating_mul(input.count);
    let found = match find_in_index(index, &plan, offset, input.count) {
        Some(found) => found,
        None => find_in_sql(conn, &plan, offset, input.count)?,
    };
    search_result(conn, &snapshot, &plan, input, found)
}

fn search_result(
    conn: &mut DbConn,
    snapshot: &CatalogSnapshot,
    plan: &Plan<'_>,
    input: &SearchInput,
    found: Found,
) -> Result<w::SearchResult, Error> {
    let mut facet = BTreeMap::new();
    for (attr, rows) in plan.facets.iter().zip(found.facets) {
        let mut entries: Vec<(String, Value, i64)> = rows
            .into_iter()
            .map(|(value, n)| (value.canonical(), value.to_json(), n))
            .collect();
        entries.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        let key = input.ret_key.key(attr);
        facet.insert(
            key.clone(),
            entries
                .into_iter()
                .map(|(_, v, n)| (v, n, key.clone()))
                .collect(),
        );
    }
    let cat = &snapshot.cat;
    let fl = plan.fl.as_deref();
    let result = match &found.loaded {
        Some((types, values)) => render_loaded(
            cat,
            &snapshot.bindings,
            &found.page,
            types,
            values,
            fl,
            input.ret_key,
        ),
        None => render(conn, cat, &found.page, fl, input.ret_key)?,
    };
    // The page's CIs per type name, as veops CMDB counts them.
    let mut counter: BTreeMap<String, i64> = BTreeMap::new();
    for ci in &result {
        let type_id = ci.get("_type").and_then(Value::as_i64).unwrap_or_default();
        if let Some(t) = cat.type_by_id(type_id) {
            *counter.entry(t.name.clone()).or_default() += 1;
        }
    }
    Ok(w::SearchResult {
        numfound: found.numfound,
        total: result.len() as i64,
        page: input.page,
        counter,
        facet,
        result,
    })
}
