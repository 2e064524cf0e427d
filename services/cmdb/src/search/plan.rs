//! Planning a search: `q`, `_type`, `_id`, `fl`, `facet` and `sort` read and checked
//! against the catalog, each term of `q` turned into a [`Selector`] that the index and the
//! SQL both run.

use std::collections::BTreeSet;

use chrono::Duration;

use super::query::{self, CmpOp, Join, Pred, Term};
use super::SearchInput;
use crate::error::Error;
use crate::model::{self, Catalog, ValueType};
use crate::service::attr_list;
use crate::store::{self, AttrRow};

/// What one term of `q` (or `_type` / `_id`) selects, resolved against the catalog.
#[derive(Debug, Clone)]
pub enum Selector {
    Types(Vec<i64>),
    Ids(Vec<i64>),
    /// CIs holding a value of `attr` (of any text attribute when `attr` is none) that meets
    /// every bound of at least one alternative (an alternative without bounds: any value).
    Values {
        vt: ValueType,
        attr: Option<i64>,
        alternatives: Vec<Vec<(Cmp, Param)>>,
    },
    /// `(terms)`: the CIs the terms select, combined left to right as `q`'s are.
    Group(Vec<(Join, Selector)>),
}

/// A value bound to a `?`.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(i64),
    Float(f64),
    Text(String),
}

/// How one bound compares a stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
    /// A case-sensitive `*` pattern (text only).
    Glob,
}

/// The order of a page: by id, or by the first value (in insertion order) of an attribute,
/// CIs without it last in id order, ties by id in the same direction as the values.
#[derive(Debug, Clone, Copy)]
pub enum Order {
    Id,
    Attr {
        vt: ValueType,
        attr_id: i64,
        descending: bool,
    },
}

fn q_error(term: &Term, reason: String) -> Error {
    Error::BadArgument(format!(
        "invalid parameter `q`: bad term `{}`: {reason}",
        term.text
    ))
}

/// Type ids from `a`, `(a;b)` or `a;b`, by id, name or alias.
fn resolve_types(cat: &Catalog, items: &[String], param: &str) -> Result<Vec<i64>, Error> {
    items
        .iter()
        .map(|k| {
            cat.ci_type(k).map(|t| t.id).ok_or_else(|| {
                Error::BadArgument(format!("invalid parameter `{param}`: unknown citype `{k}`"))
            })
        })
        .collect()
}

fn list_items(text: &str) -> Vec<String> {
    let inner = text.trim();
    let inner = inner
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(inner);
    inner
        .split([';', ','])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_ids(items: &[String], param: &str) -> Result<BTreeSet<i64>, Error> {
    items
        .iter()
        .map(|s| {
            s.parse::<i64>().map_err(|_| {
                Error::BadArgument(format!("invalid parameter `{param}`: `{s}` is not a CI id"))
            })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

fn cmp_of(op: Op) -> Cmp {
    match op {
        Op::Eq => Cmp::Eq,
        Op::Ge => Cmp::Ge,
        Op::Gt => Cmp::Gt,
        Op::Le => Cmp::Le,
        Op::Lt => Cmp::Lt,
    }
}

/// The SQL bounds on a value of `attr` (or of any text attribute, when `attr` is none) that
/// all together say `bounds`. `*` alone as a bound means "any"; in text, `*` is a wildcard.
fn sql_bounds(
    attr: Option<&AttrRow>,
    bounds: &[(Op, &str)],
    term: &Term,
) -> Result<Vec<(Cmp, Param)>, Error> {
    let bounds: Vec<(Op, &str)> = bounds.iter().copied().filter(|(_, v)| *v != "*").collect();
    let vt = attr.map(|a| a.value_type).unwrap_or(ValueType::Text);
    let name = attr.map(|a| a.name.as_str()).unwrap_or("");
    let bad_value = |reason: String| {
        q_error(
            term,
            format!("attribute `{name}` is {}: {reason}", vt.as_str()),
        )
    };
    let mut out = Vec::new();
    for (op, v) in &bounds {
        match vt {
            ValueType::Int => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| bad_value(format!("`{v}` is not an integer")))?;
                out.push((cmp_of(*op), Param::Int(n)));
            }
            ValueType::Float => {
                let n: f64 = v
                    .parse()
                    .ok()
                    .filter(|f: &f64| f.is_finite())
                    .ok_or_else(|| bad_value(format!("`{v}` is not a number")))?;
                out.push((cmp_of(*op), Param::Float(n)));
            }
            ValueType::Date => {
                let at = model::parse_datetime(v).ok_or_else(|| {
                    bad_value(format!(
                        "`{v}` is not a date (YYYY-mm-dd or YYYY-mm-dd HH:MM:SS)"
                    ))
                })?;
                let first = store::to_seconds(&at);
                if model::is_date_only(v) {
                    // A bare date stands for its whole day.
                    let last = store::to_seconds(&(at + Duration::seconds(86_399)));
                    match op {
                        Op::Eq => {
                            out.push((Cmp::Ge, Param::Int(first)));
                            out.push((Cmp::Le, Param::Int(last)));
                        }
                        Op::Ge | Op::Lt => out.push((cmp_of(*op), Param::Int(first))),
                        Op::Gt | Op::Le => out.push((cmp_of(*op), Param::Int(last))),
                    }
                } else {
                    out.push((cmp_of(*op), Param::Int(first)));
                }
            }
            ValueType::Text => {
                let wild = v.contains('*');
                let text = |s: String| Param::Text(s);
                match op {
                    Op::Eq if wild => {
                        let prefix = query::literal_prefix(v);
                        if !prefix.is_empty() {
                            // An index range on the literal prefix; the pattern narrows after.
                            out.push((Cmp::Ge, text(prefix.to_string())));
                            out.push((Cmp::Lt, text(query::prefix_upper_bound(prefix))));
                        }
                        out.push((Cmp::Glob, text(v.to_string())));
                    }
                    // In a bound, `cmdb*` from below is `cmdb`, from above every `cmdb...`.
                    Op::Ge | Op::Gt if wild => {
                        out.push((cmp_of(*op), text(query::literal_prefix(v).to_string())))
                    }
                    Op::Le | Op::Lt if wild => out.push((
                        cmp_of(*op),
                        text(query::prefix_upper_bound(query::literal_prefix(v))),
                    )),
                    _ => out.push((cmp_of(*op), text(v.to_string()))),
                }
            }
        }
    }
    Ok(out)
}

/// What one term selects, checked against the catalog.
fn term_selector(cat: &Catalog, term: &Term) -> Result<Selector, Error> {
    let items = |pred: &Pred| -> Result<Vec<String>, Error> {
        match pred {
            Pred::Eq(v) => Ok(vec![v.clone()]),
            Pred::In(list) => Ok(list.clone()),
            _ => Err(q_error(
                term,
                "`_type` and `_id` take a value or an IN list `(a;b)`".into(),
            )),
        }
    };
    let attr = match term.field.as_deref() {
        Some("_type") => {
            return Ok(Selector::Types(resolve_types(
                cat,
                &items(&term.pred)?,
                "q",
            )?));
        }
        Some("_id") => {
            let wanted: Vec<i64> = parse_ids(&items(&term.pred)?, "q")?.into_iter().collect();
            return Ok(Selector::Ids(wanted));
        }
        Some(key) => Some(
            cat.attr(key)
                .ok_or_else(|| q_error(term, format!("unknown attribute `{key}`")))?,
        ),
        None => None,
    };
    let alternatives: Vec<Vec<(Cmp, Param)>> = match &term.pred {
        Pred::Eq(v) => vec![sql_bounds(attr, &[(Op::Eq, v)], term)?],
        Pred::In(list) => list
            .iter()
            .map(|v| sql_bounds(attr, &[(Op::Eq, v)], term))
            .collect::<Result<_, _>>()?,
        Pred::Range(low, high) => vec![sql_bounds(attr, &[(Op::Ge, low), (Op::Le, high)], term)?],
        Pred::Group(inner) => return terms_selectors(cat, inner).map(Selector::Group),
        Pred::Cmp(op, v) => {
            let op = match op {
                CmpOp::Gt => Op::Gt,
                CmpOp::Ge => Op::Ge,
                CmpOp::Lt => Op::Lt,
                CmpOp::Le => Op::Le,
            };
            vec![sql_bounds(attr, &[(op, v)], term)?]
        }
    };
    Ok(Selector::Values {
        vt: attr.map(|a| a.value_type).unwrap_or(ValueType::Text),
        attr: attr.map(|a| a.id),
        alternatives,
    })
}

/// Each term's selector with how it joins the ones before it.
fn terms_selectors(cat: &Catalog, terms: &[Term]) -> Result<Vec<(Join, Selector)>, Error> {
    terms
        .iter()
        .map(|term| Ok((term.join, term_selector(cat, term)?)))
        .collect()
}

/// A search, read and checked against the catalog.
pub(super) struct Plan<'c> {
    pub(super) terms: Vec<(Join, Selector)>,
    pub(super) types: Option<Vec<i64>>,
    pub(super) ids: Option<Vec<i64>>,
    pub(super) fl: Option<Vec<i64>>,
    pub(super) facets: Vec<&'c AttrRow>,
    pub(super) order: Order,
}

pub(super) fn plan<'c>(cat: &'c Catalog, input: &SearchInput) -> Result<Plan<'c>, Error> {
    let parsed = query::parse(&input.q).map_err(|e| Error::BadArgument(e.to_string()))?;
    let types = match input.types.as_deref().map(list_items) {
        Some(items) if !items.is_empty() => Some(resolve_types(cat, &items, "_type")?),
        _ => None,
    };
    let ids: Option<Vec<i64>> = match input.ids.as_deref().map(list_items) {
        Some(items) if !items.is_empty() => Some(parse_ids(&items, "_id")?.into_iter().collect()),
        _ => None,
    };
    // Both `_id` and a relation walk: the CIs in both.
    let ids = match (ids, &input.within) {
        (Some(ids), Some(within)) => {
            let within: BTreeSet<i64> = within.iter().copied().collect();
            Some(ids.into_iter().filter(|id| within.contains(id)).collect())
        }
        (ids, within) => ids.or_else(|| within.clone()),
    };
    let fl = attr_list(cat, input.fl.as_deref(), "fl")?;
    let facets: Vec<&AttrRow> = match input.facet.as_deref() {
        Some(text) => text
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                cat.attr(k).ok_or_else(|| {
                    Error::BadArgument(format!(
                        "invalid parameter `facet`: unknown attribute `{k}`"
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let order = match input
        .sort
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(text) => {
            let (descending, key) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text.strip_prefix('+').unwrap_or(text)),
            };
            let attr = cat.attr(key.trim()).ok_or_else(|| {
                Error::BadArgument(format!(
                    "invalid parameter `sort`: unknown attribute `{key}`"
                ))
            })?;
            Order::Attr {
                vt: attr.value_type,
                attr_id: attr.id,
                descending,
            }
        }
        None => Order::Id,
    };
    let terms = terms_selectors(cat, &parsed)?;
    Ok(Plan {
        terms,
        types,
        ids,
        fl,
        facets,
        order,
    })
}
