//! The in-memory search index behind `GET /ci/s`. For every attribute it maps each value to
//! the set of CIs holding it (a roaring bitmap) in a sorted map, so equality, IN, ranges,
//! comparisons and `prefix*` patterns are range walks over the map; it also keeps each CI's
//! values in insertion order (the first one is what `sort` orders by) and the CIs of each
//! type. A search then runs as bitmap algebra, counts, facets and the page in memory, and
//! the page's CIs are rendered from the values held here.
//!
//! It is built from the tables at start and follows the change log (`ci_change_seq`,
//! `ci_changes`, see `store::log_changes`): before answering, a search reads the current
//! sequence (one primary-key read) and, when another transaction (of this process or of any
//! other process on the same database) has committed since, reloads the CIs it names; the
//! entry `store::REBUILD` or a very long list of changes rebuilds it instead.
//!
//! CI ids are kept as `u32`. Should the database hold a larger id, the index declares itself
//! unusable and the service answers searches with SQL (`search::sql`) instead.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use diesel::QueryResult;
use kit::db::DbConn;
use roaring::{MultiOps, RoaringBitmap};

use super::plan::{Cmp, Order, Param, Selector};
use super::query::{glob_match, Join};
use crate::model::{Catalog, IdMap, Typed, ValueType};
use crate::store::{self, from_seconds, to_seconds};

/// Rows read per statement while building.
const BUILD_PAGE: i64 = 50_000;
/// Past this many changed CIs, rebuilding is cheaper than reloading them one chunk at a time.
const REBUILD_ABOVE: usize = store::KEEP_CHANGES as usize;

/// Some CIs' types (by CI id) and values (by CI and attribute id, in insertion order).
pub type PageValues = (IdMap<i64, i64>, IdMap<(i64, i64), Vec<Typed>>);

/// A float as a map key: totally ordered, -0.0 equal to 0.0 as in SQL; the value itself is
/// kept as stored, for rendering.
#[derive(Debug, Clone, Copy)]
struct FloatKey(f64);

impl FloatKey {
    fn ordered(self) -> f64 {
        if self.0 == 0.0 {
            0.0
        } else {
            self.0
        }
    }
}

impl PartialEq for FloatKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for FloatKey {}

impl PartialOrd for FloatKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FloatKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.ordered().total_cmp(&other.ordered())
    }
}

/// A value as a key of one column.
trait Key: Ord + Clone {
    fn from_param(p: &Param) -> Option<Self>;
    /// Whether the value matches a `*` pattern (only text ever does).
    fn glob(&self, _pattern: &str) -> bool {
        false
    }
}

impl Key for i64 {
    fn from_param(p: &Param) -> Option<Self> {
        match p {
            Param::Int(n) => Some(*n),
            _ => None,
        }
    }
}

impl Key for FloatKey {
    fn from_param(p: &Param) -> Option<Self> {
        match p {
            Param::Float(f) => Some(FloatKey(*f)),
            _ => None,
        }
    }
}

/// Text values are shared between the map and the per-CI lists.
impl Key for Arc<str> {
    fn from_param(p: &Param) -> Option<Self> {
        match p {
            Param::Text(s) => Some(Arc::from(s.as_str())),
            _ => None,
        }
    }

    fn glob(&self, pattern: &str) -> bool {
        glob_match(pattern, self)
    }
}

/// The CIs holding one value. Most values of an attribute like a hostname are held by one
/// CI, and a bitmap of one id costs about a hundred bytes more than the id.
enum Posting {
    One(u32),
    Many(RoaringBitmap),
}

impl Posting {
    /// Adds the CI; false when it was there already.
    fn insert(&mut self, ci: u32) -> bool {
        match self {
            Posting::One(held) if *held == ci => false,
            Posting::One(held) => {
                let cis: RoaringBitmap = [*held, ci].into_iter().collect();
                *self = Posting::Many(cis);
                true
            }
            Posting::Many(cis) => cis.insert(ci),
        }
    }

    /// Removes the CI; true when no CI is left.
    fn remove(&mut self, ci: u32) -> bool {
        match self {
            Posting::One(held) => *held == ci,
            Posting::Many(cis) => {
                cis.remove(ci);
                cis.is_empty()
            }
        }
    }

    fn intersection_len(&self, other: &RoaringBitmap) -> u64 {
        match self {
            Posting::One(ci) => u64::from(other.contains(*ci)),
            Posting::Many(cis) => cis.intersection_len(other),
        }
    }

    /// The CIs also in `other`, by id.
    fn intersection(&self, other: &RoaringBitmap) -> Vec<u32> {
        match self {
            Posting::One(ci) if other.contains(*ci) => vec![*ci],
            Posting::One(_) => Vec::new(),
            Posting::Many(cis) => (cis & other).iter().collect(),
        }
    }
}

/// The union of postings.
fn union<'a>(postings: impl Iterator<Item = &'a Posting>) -> RoaringBitmap {
    let mut ones = Vec::new();
    let mut many = Vec::new();
    for posting in postings {
        match posting {
            Posting::One(ci) => ones.push(*ci),
            Posting::Many(cis) => many.push(cis),
        }
    }
    let mut out = many.union();
    out.extend(ones);
    out
}

/// The values of one attribute in one value table.
struct Column<K> {
    by_value: BTreeMap<K, Posting>,
    /// Each CI's first value (what `sort` orders by)...
    first: IdMap<u32, K>,
    /// ...and its others in insertion order: most attributes hold one value, and a map
    /// entry without a list costs a third of one with.
    rest: IdMap<u32, Vec<K>>,
    /// The CIs holding at least one value.
    holders: RoaringBitmap,
    /// The CIs holding a value more than once: facets count values, not CIs.
    repeats: RoaringBitmap,
}

impl<K: Key> Column<K> {
    fn new() -> Column<K> {
        Column {
            by_value: BTreeMap::new(),
            first: IdMap::default(),
            rest: IdMap::default(),
            holders: RoaringBitmap::new(),
            repeats: RoaringBitmap::new(),
        }
    }

    /// Adds one value after the CI's others.
    fn push(&mut self, ci: u32, key: K) {
        // Reuse the map's copy of a known value (one allocation per distinct text).
        let key = match self.by_value.get_key_value(&key) {
            Some((known, _)) => known.clone(),
            None => key,
        };
        match self.by_value.get_mut(&key) {
            Some(posting) => {
                if !posting.insert(ci) {
                    self.repeats.insert(ci);
                }
            }
            None => {
                self.by_value.insert(key.clone(), Posting::One(ci));
            }
        }
        match self.first.entry(ci) {
            Entry::Occupied(_) => self.rest.entry(ci).or_default().push(key),
            Entry::Vacant(first) => {
                first.insert(key);
            }
        }
        self.holders.insert(ci);
    }

    /// The CI's values in insertion order.
    fn values_of(&self, ci: u32) -> impl Iterator<Item = &K> {
        self.first
            .get(&ci)
            .into_iter()
            .chain(self.rest.get(&ci).into_iter().flatten())
    }

    fn remove(&mut self, ci: u32) {
        let Some(first) = self.first.remove(&ci) else {
            return;
        };
        let rest = self.rest.remove(&ci).unwrap_or_default();
        for key in std::iter::once(first).chain(rest) {
            if self.by_value.get_mut(&key).is_some_and(|p| p.remove(ci)) {
                self.by_value.remove(&key);
            }
        }
        self.holders.remove(ci);
        self.repeats.remove(ci);
    }

    #[cfg(test)]
    fn select(&self, alternatives: &[Vec<(Cmp, Param)>]) -> RoaringBitmap {
        self.select_cow(alternatives).into_owned()
    }

    /// The CIs holding a value within any of the alternatives' bounds; borrowed when that is
    /// one set the column holds (every holder, or the CIs of one value), so that combining
    /// it with others copies nothing.
    fn select_cow(&self, alternatives: &[Vec<(Cmp, Param)>]) -> Cow<'_, RoaringBitmap> {
        let mut parts: Vec<&Posting> = Vec::new();
        for bounds in alternatives {
            if bounds.is_empty() {
                return Cow::Borrowed(&self.holders);
            }
            let mut low: Bound<K> = Bound::Unbounded;
            let mut high: Bound<K> = Bound::Unbounded;
            let mut patterns: Vec<&str> = Vec::new();
            let mut impossible = false;
            for (cmp, param) in bounds {
                if *cmp == Cmp::Glob {
                    match param {
                        Param::Text(p) => patterns.push(p),
                        _ => impossible = true,
                    }
                    continue;
                }
                let Some(key) = K::from_param(param) else {
                    impossible = true;
                    continue;
                };
                match cmp {
                    Cmp::Eq => {
                        low = tighter_low(low, Bound::Included(key.clone()));
                        high = tighter_high(high, Bound::Included(key));
                    }
                    Cmp::Ge => low = tighter_low(low, Bound::Included(key)),
                    Cmp::Gt => low = tighter_low(low, Bound::Excluded(key)),
                    Cmp::Le => high = tighter_high(high, Bound::Included(key)),
                    Cmp::Lt => high = tighter_high(high, Bound::Excluded(key)),
                    Cmp::Glob => {}
                }
            }
            if impossible || is_empty_range(&low, &high) {
                continue;
            }
            parts.extend(
                self.by_value
                    .range((low, high))
                    .filter(|(key, _)| patterns.iter().all(|p| key.glob(p)))
                    .map(|(_, cis)| cis),
            );
        }
        match parts.as_slice() {
            [Posting::Many(cis)] => Cow::Borrowed(cis),
            _ => Cow::Owned(union(parts.into_iter())),
        }
    }

    /// Every value held by a CI of `matched`, with how many times it is held.
    fn facet(&self, matched: &RoaringBitmap) -> Vec<(K, u64)> {
        let mut counts: BTreeMap<&K, u64> = BTreeMap::new();
        let holding = matched.intersection_len(&self.holders);
        if (self.by_value.len() as u64) <= holding {
            // Few distinct values: one intersection count each (every value's CIs are
            // holders, so counting against `matched` is counting against the holders in it)...
            for (key, cis) in &self.by_value {
                let n = cis.intersection_len(matched);
                if n > 0 {
                    counts.insert(key, n);
                }
            }
            // ...plus the repeats, which a set counts once.
            if !self.repeats.is_empty() {
                for ci in &(matched & &self.repeats) {
                    let keys: Vec<&K> = self.values_of(ci).collect();
                    for (i, key) in keys.iter().enumerate() {
                        if keys[..i].contains(key) {
                            *counts.entry(*key).or_default() += 1;
                        }
                    }
                }
            }
        } else {
            // Many distinct values (say hostnames): walk the matches instead.
            for ci in &(matched & &self.holders) {
                for key in self.values_of(ci) {
                    *counts.entry(key).or_default() += 1;
                }
            }
        }
        counts.into_iter().map(|(k, n)| (k.clone(), n)).collect()
    }

    /// One page of `matched` ordered by each CI's first value (ties by id in the same
    /// direction), then the CIs without a value by id.
    fn page(&self, matched: &RoaringBitmap, descending: bool, offset: u64, limit: u64) -> Vec<u32> {
        let mut out = Vec::new();
        let mut skip = offset;
        let mut take = |id: u32, out: &mut Vec<u32>| {
            if skip > 0 {
                skip -= 1;
            } else {
                out.push(id);
            }
            (out.len() as u64) < limit
        };
        let with = matched & &self.holders;
        let values: Box<dyn Iterator<Item = (&K, &Posting)>> = if descending {
            Box::new(self.by_value.iter().rev())
        } else {
            Box::new(self.by_value.iter())
        };
        for (key, cis) in values {
            let mut firsts: Vec<u32> = cis
                .intersection(&with)
                .into_iter()
                .filter(|ci| self.first.get(ci) == Some(key))
                .collect();
            if descending {
                firsts.reverse();
            }
            for id in firsts {
                if !take(id, &mut out) {
                    return out;
                }
            }
        }
        for id in &(matched - &self.holders) {
            if !take(id, &mut out) {
                return out;
            }
        }
        out
    }
}

fn tighter_low<K: Ord>(a: Bound<K>, b: Bound<K>) -> Bound<K> {
    tighter(a, b, std::cmp::Ordering::Greater)
}

fn tighter_high<K: Ord>(a: Bound<K>, b: Bound<K>) -> Bound<K> {
    tighter(a, b, std::cmp::Ordering::Less)
}

/// The tighter of two bounds on the same side: the one whose key compares as `wins` to the
/// other's (greater for a low bound, less for a high one); at equal keys the excluded one.
fn tighter<K: Ord>(a: Bound<K>, b: Bound<K>, wins: std::cmp::Ordering) -> Bound<K> {
    match (a, b) {
        (Bound::Unbounded, b) => b,
        (a, Bound::Unbounded) => a,
        (a, b) => {
            let order = bound_key(&a).cmp(&bound_key(&b));
            let a_wins = order == wins
                || (order == std::cmp::Ordering::Equal && matches!(a, Bound::Excluded(_)));
            if a_wins {
                a
            } else {
                b
            }
        }
    }
}

fn bound_key<K>(b: &Bound<K>) -> Option<&K> {
    match b {
        Bound::Included(k) | Bound::Excluded(k) => Some(k),
        Bound::Unbounded => None,
    }
}

/// Whether no key lies between the bounds (`BTreeMap::range` panics on such ranges).
fn is_empty_range<K: Ord>(low: &Bound<K>, high: &Bound<K>) -> bool {
    match (low, high) {
        (Bound::Included(l), Bound::Included(h)) => l > h,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(h) | Bound::Excluded(h)) => {
            l >= h
        }
        _ => false,
    }
}

/// The catalog (attributes, types) and every type's bound attributes, as of the index's
/// sequence: what a search plans and renders with, without reading them per search. Every
/// write to them logs [`store::CATALOG`], so the next search anywhere reads them again.
pub struct CatalogSnapshot {
    pub cat: Catalog,
    /// Attribute ids bound to each type, by type id (rendering's "every attribute").
    pub bindings: HashMap<i64, Vec<i64>>,
}

impl CatalogSnapshot {
    fn load(conn: &mut DbConn) -> QueryResult<Arc<CatalogSnapshot>> {
        Ok(Arc::new(CatalogSnapshot {
            cat: Catalog {
                attrs: store::all_attributes(conn)?,
                types: store::all_types(conn)?,
            },
            bindings: store::all_bindings(conn)?,
        }))
    }
}

/// The CI relations, as adjacency lists both ways (ids as the table holds them, so a CI id
/// beyond 32 bits is no obstacle here).
#[derive(Default)]
struct Relations {
    /// first CI -> its relations' second CIs.
    forward: IdMap<i64, Vec<i64>>,
    /// second CI -> its relations' first CIs.
    reverse: IdMap<i64, Vec<i64>>,
}

impl Relations {
    fn add(&mut self, first: i64, second: i64) {
        self.forward.entry(first).or_default().push(second);
        self.reverse.entry(second).or_default().push(first);
    }

    /// Forgets every relation with `ci` at either end.
    fn remove_ci(&mut self, ci: i64) {
        for second in self.forward.remove(&ci).unwrap_or_default() {
            if let Entry::Occupied(mut e) = self.reverse.entry(second) {
                e.get_mut().retain(|f| *f != ci);
                if e.get().is_empty() {
                    e.remove();
                }
            }
        }
        for first in self.reverse.remove(&ci).unwrap_or_default() {
            if let Entry::Occupied(mut e) = self.forward.entry(first) {
                e.get_mut().retain(|s| *s != ci);
                if e.get().is_empty() {
                    e.remove();
                }
            }
        }
    }

    /// As `store::related_ids`: the other ends of the relations from (or with `reverse`,
    /// to) any of `ids`, with repeats.
    fn related(&self, ids: &[i64], reverse: bool) -> Vec<i64> {
        let map = if reverse {
            &self.reverse
        } else {
            &self.forward
        };
        ids.iter()
            .filter_map(|id| map.get(id))
            .flatten()
            .copied()
            .collect()
    }
}

/// One map per value table, by attribute id, as the tables are.
pub struct Index {
    /// The change sequence this index reflects.
    seq: i64,
    /// The catalog as of `seq` (or later).
    catalog: Arc<CatalogSnapshot>,
    /// Every CI relation, both ways: the walk of `/ci_relations/s`.
    relations: Relations,
    /// False once a CI id does not fit; searches then go to SQL until a restart.
    usable: bool,
    all: RoaringBitmap,
    by_type: IdMap<i64, RoaringBitmap>,
    type_of: IdMap<u32, i64>,
    ints: IdMap<i64, Column<i64>>,
    floats: IdMap<i64, Column<FloatKey>>,
    texts: IdMap<i64, Column<Arc<str>>>,
    dates: IdMap<i64, Column<i64>>,
}

fn ci_key(id: i64) -> Option<u32> {
    u32::try_from(id).ok()
}

impl Index {
    fn empty(seq: i64, catalog: Arc<CatalogSnapshot>) -> Index {
        Index {
            seq,
            catalog,
            relations: Relations::default(),
            usable: true,
            all: RoaringBitmap::new(),
            by_type: IdMap::default(),
            type_of: IdMap::default(),
            ints: IdMap::default(),
            floats: IdMap::default(),
            texts: IdMap::default(),
            dates: IdMap::default(),
        }
    }

    /// Everything in the tables, as of sequence `seq` or later.
    fn build(conn: &mut DbConn, seq: i64) -> QueryResult<Index> {
        let mut index = Index::empty(seq, CatalogSnapshot::load(conn)?);
        let mut after = 0;
        loop {
            let rows = store::cis_after(conn, after, BUILD_PAGE)?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            for (id, type_id) in rows {
                index.add_ci(id, type_id);
            }
        }
        for vt in ValueType::ALL {
            let mut after = 0;
            loop {
                let rows = store::values_after(conn, vt, after, BUILD_PAGE)?;
                let Some(last) = rows.last() else { break };
                after = last.0;
                for (_, ci, attr, value) in rows {
                    index.add_value(ci, attr, value);
                }
            }
        }
        let mut after = 0;
        loop {
            let rows = store::relation_pairs_after(conn, after, BUILD_PAGE)?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            for (_, first, second) in rows {
                index.relations.add(first, second);
            }
        }
        if !index.usable {
            // Keep only the sequence: nothing here would be used.
            index = Index {
                usable: false,
                ..Index::empty(seq, index.catalog.clone())
            };
        }
        Ok(index)
    }

    fn add_ci(&mut self, id: i64, type_id: i64) {
        let Some(ci) = ci_key(id) else {
            self.usable = false;
            return;
        };
        self.all.insert(ci);
        self.by_type.entry(type_id).or_default().insert(ci);
        self.type_of.insert(ci, type_id);
    }

    /// Adds a value after the CI's others; values of CIs not (yet) known are left for the
    /// change that adds the CI.
    fn add_value(&mut self, id: i64, attr: i64, value: Typed) {
        let Some(ci) = ci_key(id).filter(|ci| self.type_of.contains_key(ci)) else {
            return;
        };
        match value {
            Typed::Int(n) => self
                .ints
                .entry(attr)
                .or_insert_with(Column::new)
                .push(ci, n),
            Typed::Float(f) => self
                .floats
                .entry(attr)
                .or_insert_with(Column::new)
                .push(ci, FloatKey(f)),
            Typed::Text(s) => self
                .texts
                .entry(attr)
                .or_insert_with(Column::new)
                .push(ci, Arc::from(s)),
            Typed::Date(at) => self
                .dates
                .entry(attr)
                .or_insert_with(Column::new)
                .push(ci, to_seconds(&at)),
        }
    }

    fn remove_ci(&mut self, ci: u32) {
        if let Some(type_id) = self.type_of.remove(&ci) {
            if let Some(cis) = self.by_type.get_mut(&type_id) {
                cis.remove(ci);
            }
        }
        self.all.remove(ci);
        self.ints.values_mut().for_each(|c| c.remove(ci));
        self.floats.values_mut().for_each(|c| c.remove(ci));
        self.texts.values_mut().for_each(|c| c.remove(ci));
        self.dates.values_mut().for_each(|c| c.remove(ci));
    }

    /// Reads these CIs again (the ones that no longer exist leave the index).
    fn reload(&mut self, conn: &mut DbConn, ids: &BTreeSet<i64>) -> QueryResult<()> {
        let types = store::ci_types_of(conn, ids)?;
        let mut present: Vec<i64> = types.keys().copied().collect();
        present.sort_unstable();
        let values = store::load_values(conn, &present)?;
        for id in ids {
            if let Some(ci) = ci_key(*id) {
                self.remove_ci(ci);
            }
        }
        for id in &present {
            if let Some(type_id) = types.get(id) {
                self.add_ci(*id, *type_id);
            }
        }
        for (ci, attr, value) in values {
            self.add_value(ci, attr, value);
        }
        // Their relations too: every relation write logs both of its CIs.
        let ids: Vec<i64> = ids.iter().copied().collect();
        let touching = store::crs_touching(conn, &ids)?;
        for id in &ids {
            self.relations.remove_ci(*id);
        }
        for row in touching {
            self.relations.add(row.first_ci_id, row.second_ci_id);
        }
        Ok(())
    }

    /// The CIs of terms combined left to right: AND, `-` OR, `~` AND NOT, `-~` OR NOT; a
    /// leading `~` or `-~` starts from every CI; no term is every CI.
    fn combine(&self, terms: &[(Join, Selector)]) -> RoaringBitmap {
        let mut matched: Option<RoaringBitmap> = None;
        for (join, selector) in terms {
            let next = self.select(selector);
            matched = Some(match (matched, join) {
                (None, Join::Not | Join::OrNot) => &self.all - next.as_ref(),
                (None, _) => next.into_owned(),
                (Some(mut acc), Join::And) => {
                    acc &= next.as_ref();
                    acc
                }
                (Some(mut acc), Join::Or) => {
                    acc |= next.as_ref();
                    acc
                }
                (Some(mut acc), Join::Not) => {
                    acc -= next.as_ref();
                    acc
                }
                (Some(acc), Join::OrNot) => acc | (&self.all - next.as_ref()),
            });
        }
        matched.unwrap_or_else(|| self.all.clone())
    }

    fn select(&self, selector: &Selector) -> Cow<'_, RoaringBitmap> {
        match selector {
            Selector::Group(terms) => Cow::Owned(self.combine(terms)),
            Selector::Types(types) => match types.as_slice() {
                [one] => self
                    .by_type
                    .get(one)
                    .map_or_else(|| Cow::Owned(RoaringBitmap::new()), Cow::Borrowed),
                _ => Cow::Owned(types.iter().filter_map(|t| self.by_type.get(t)).union()),
            },
            Selector::Ids(ids) => {
                let mut out: RoaringBitmap = ids.iter().filter_map(|id| ci_key(*id)).collect();
                out &= &self.all;
                Cow::Owned(out)
            }
            Selector::Values {
                vt,
                attr: Some(attr),
                alternatives,
            } => match vt {
                ValueType::Int => self.ints.get(attr).map(|c| c.select_cow(alternatives)),
                ValueType::Float => self.floats.get(attr).map(|c| c.select_cow(alternatives)),
                ValueType::Text => self.texts.get(attr).map(|c| c.select_cow(alternatives)),
                ValueType::Date => self.dates.get(attr).map(|c| c.select_cow(alternatives)),
            }
            .unwrap_or_default(),
            // A bare value: any text attribute.
            Selector::Values {
                attr: None,
                alternatives,
                ..
            } => Cow::Owned(
                self.texts
                    .values()
                    .map(|c| c.select_cow(alternatives).into_owned())
                    .union(),
            ),
        }
    }

    /// The CIs `q` selects (terms left to right: AND, `-` OR, `~` AND NOT; a leading `~`
    /// subtracts from every CI), within `types` and `ids` when given.
    pub fn matches(
        &self,
        terms: &[(Join, Selector)],
        types: Option<&[i64]>,
        ids: Option<&[i64]>,
    ) -> RoaringBitmap {
        let mut matched = self.combine(terms);
        // Values are only ever indexed for known CIs; this keeps it so in any case.
        matched &= &self.all;
        if let Some(types) = types {
            matched &= self.select(&Selector::Types(types.to_vec())).as_ref();
        }
        if let Some(ids) = ids {
            // A walk's ids come sorted and distinct, and go in as a sorted run (a hundred
            // thousand of them under a big root); any others one at a time.
            let keys = ids.iter().filter_map(|id| ci_key(*id));
            let only =
                RoaringBitmap::from_sorted_iter(keys.clone()).unwrap_or_else(|_| keys.collect());
            matched &= &only;
        }
        matched
    }

    /// Every value of the attribute held by a CI of `matched`, with how many times.
    pub fn facet(&self, matched: &RoaringBitmap, vt: ValueType, attr: i64) -> Vec<(Typed, i64)> {
        fn out<K>(rows: Vec<(K, u64)>, typed: impl Fn(K) -> Typed) -> Vec<(Typed, i64)> {
            rows.into_iter()
                .map(|(k, n)| (typed(k), i64::try_from(n).unwrap_or(i64::MAX)))
                .collect()
        }
        match vt {
            ValueType::Int => self
                .ints
                .get(&attr)
                .map(|c| out(c.facet(matched), Typed::Int)),
            ValueType::Float => self
                .floats
                .get(&attr)
                .map(|c| out(c.facet(matched), |k| Typed::Float(k.0))),
            ValueType::Text => self
                .texts
                .get(&attr)
                .map(|c| out(c.facet(matched), |k| Typed::Text(k.to_string()))),
            ValueType::Date => self
                .dates
                .get(&attr)
                .map(|c| out(c.facet(matched), |k| Typed::Date(from_seconds(k)))),
        }
        .unwrap_or_default()
    }

    /// The type and values of these CIs (the ones not indexed are left out), for rendering
    /// a page without reading it back from the database.
    pub fn cis(&self, ids: &[i64]) -> PageValues {
        fn collect<K: Key>(
            out: &mut IdMap<(i64, i64), Vec<Typed>>,
            columns: &IdMap<i64, Column<K>>,
            id: i64,
            ci: u32,
            typed: impl Fn(&K) -> Typed,
        ) {
            for (attr, column) in columns {
                let values: Vec<Typed> = column.values_of(ci).map(&typed).collect();
                if !values.is_empty() {
                    out.insert((id, *attr), values);
                }
            }
        }
        let mut types = IdMap::with_capacity_and_hasher(ids.len(), Default::default());
        let mut values = IdMap::with_capacity_and_hasher(ids.len() * 8, Default::default());
        for id in ids {
            let Some((ci, type_id)) =
                ci_key(*id).and_then(|ci| self.type_of.get(&ci).map(|t| (ci, *t)))
            else {
                continue;
            };
            types.insert(*id, type_id);
            collect(&mut values, &self.ints, *id, ci, |k| Typed::Int(*k));
            collect(&mut values, &self.floats, *id, ci, |k| Typed::Float(k.0));
            collect(&mut values, &self.texts, *id, ci, |k| {
                Typed::Text(k.to_string())
            });
            collect(&mut values, &self.dates, *id, ci, |k| {
                Typed::Date(from_seconds(*k))
            });
        }
        (types, values)
    }

    /// As `store::related_ids`, on the relations held here.
    pub fn related(&self, ids: &[i64], reverse: bool) -> Vec<i64> {
        self.relations.related(ids, reverse)
    }

    /// The ids of one page of `matched`.
    pub fn page(&self, matched: &RoaringBitmap, order: Order, offset: i64, limit: i64) -> Vec<i64> {
        let offset = u64::try_from(offset).unwrap_or(0);
        let limit = u64::try_from(limit).unwrap_or(0);
        if limit == 0 {
            return Vec::new();
        }
        let ids: Vec<u32> = match order {
            Order::Id => matched
                .iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .collect(),
            Order::Attr {
                vt,
                attr_id,
                descending,
            } => {
                let page = match vt {
                    ValueType::Int => self
                        .ints
                        .get(&attr_id)
                        .map(|c| c.page(matched, descending, offset, limit)),
                    ValueType::Float => self
                        .floats
                        .get(&attr_id)
                        .map(|c| c.page(matched, descending, offset, limit)),
                    ValueType::Text => self
                        .texts
                        .get(&attr_id)
                        .map(|c| c.page(matched, descending, offset, limit)),
                    ValueType::Date => self
                        .dates
                        .get(&attr_id)
                        .map(|c| c.page(matched, descending, offset, limit)),
                };
                // No CI holds the attribute: all of them sort as "no value", by id.
                page.unwrap_or_else(|| Column::<i64>::new().page(matched, false, offset, limit))
            }
        };
        ids.into_iter().map(i64::from).collect()
    }
}

/// The index of one process, shared by its searches.
pub struct SharedIndex {
    state: RwLock<Option<Index>>,
}

impl Default for SharedIndex {
    fn default() -> Self {
        SharedIndex::new()
    }
}

impl SharedIndex {
    /// Empty until the first [`SharedIndex::sync`] builds it.
    pub fn new() -> SharedIndex {
        SharedIndex {
            state: RwLock::new(None),
        }
    }

    fn write(&self) -> RwLockWriteGuard<'_, Option<Index>> {
        match self.state.write() {
            Ok(guard) => guard,
            Err(poisoned) => {
                // A panic while changing it: what it holds cannot be trusted, so rebuild.
                let mut guard = poisoned.into_inner();
                *guard = None;
                self.state.clear_poison();
                guard
            }
        }
    }

    fn read(&self) -> Option<RwLockReadGuard<'_, Option<Index>>> {
        self.state.read().ok()
    }

    /// Brings the index up to the last committed change: builds it if it has never been,
    /// reloads the CIs changed since (and the catalog when it changed), or rebuilds it when
    /// asked to or when that is cheaper. Answers the catalog as of that change.
    ///
    /// This is the search's freshness check: one primary-key read of the change sequence,
    /// and nothing more while no transaction has committed since the index last looked.
    pub fn sync(&self, conn: &mut DbConn) -> QueryResult<Arc<CatalogSnapshot>> {
        let seq = store::change_seq(conn)?;
        if let Some(guard) = self.read() {
            if let Some(index) = guard.as_ref().filter(|i| i.seq >= seq) {
                return Ok(index.catalog.clone());
            }
        }
        let mut guard = self.write();
        let rebuild = match guard.as_mut() {
            Some(index) if index.seq >= seq => false,
            Some(index) if !index.usable => {
                // Searches run in SQL: only the catalog is kept, read again on any change.
                index.catalog = CatalogSnapshot::load(conn)?;
                index.seq = seq;
                false
            }
            // The log no longer reaches back to this index: it cannot catch up.
            Some(index) if index.seq < store::trimmed_upto(conn)? => true,
            Some(index) => {
                let mut changed = store::changes_between(conn, index.seq, seq)?;
                if changed.contains(&store::REBUILD) || changed.len() > REBUILD_ABOVE {
                    true
                } else {
                    if changed.remove(&store::CATALOG) {
                        index.catalog = CatalogSnapshot::load(conn)?;
                    }
                    index.reload(conn, &changed)?;
                    // A reload that stopped half way leaves the sequence behind, so the next
                    // search reloads the same CIs again.
                    index.seq = seq;
                    false
                }
            }
            None => true,
        };
        if rebuild {
            *guard = Some(Index::build(conn, seq)?);
            if let Some(index) = guard.as_ref().filter(|i| !i.usable) {
                tracing::warn!(
                    seq = index.seq,
                    "a CI id does not fit the search index; searches run in SQL"
                );
            }
        }
        match guard.as_ref() {
            Some(index) => Ok(index.catalog.clone()),
            None => CatalogSnapshot::load(conn),
        }
    }

    /// Runs `f` on the index when it is built and usable; `None` tells the caller to use SQL.
    pub fn with<T>(&self, f: impl FnOnce(&Index) -> T) -> Option<T> {
        let guard = self.read()?;
        guard.as_ref().filter(|i| i.usable).map(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: &[(u32, &str)]) -> Column<Arc<str>> {
        let mut c = Column::new();
        for (ci, v) in values {
            c.push(*ci, Arc::from(*v));
        }
        c
    }

    fn ids(b: &RoaringBitmap) -> Vec<u32> {
        b.iter().collect()
    }

    fn text(cmp: Cmp, v: &str) -> (Cmp, Param) {
        (cmp, Param::Text(v.to_string()))
    }

    #[test]
    fn prefix_patterns_walk_the_range_and_check_the_pattern() {
        let c = column(&[(1, "web-12"), (2, "web-123"), (3, "web-2"), (4, "xweb-12")]);
        let prefix = vec![
            text(Cmp::Ge, "web-12"),
            text(Cmp::Lt, "web-12\u{10FFFF}"),
            text(Cmp::Glob, "web-12*"),
        ];
        assert_eq!(ids(&c.select(&[prefix])), vec![1, 2]);
        assert_eq!(
            ids(&c.select(&[vec![text(Cmp::Glob, "*web-1*")]])),
            vec![1, 2, 4]
        );
    }

    #[test]
    fn bounds_tighten_and_empty_ranges_match_nothing() {
        let mut c: Column<i64> = Column::new();
        for (ci, v) in [(1, 4), (2, 8), (3, 16), (4, 32)] {
            c.push(ci, v);
        }
        let b = |cmp, n| (cmp, Param::Int(n));
        let range = vec![b(Cmp::Ge, 8), b(Cmp::Le, 16), b(Cmp::Gt, 4)];
        assert_eq!(ids(&c.select(&[range])), vec![2, 3]);
        assert!(c.select(&[vec![b(Cmp::Gt, 16), b(Cmp::Lt, 16)]]).is_empty());
        assert!(c.select(&[vec![b(Cmp::Ge, 32), b(Cmp::Le, 8)]]).is_empty());
        // No bounds: any value.
        assert_eq!(ids(&c.select(&[vec![]])), vec![1, 2, 3, 4]);
    }

    #[test]
    fn removing_a_ci_drops_its_values() {
        let mut c = column(&[(1, "a"), (2, "a"), (2, "b")]);
        c.remove(2);
        assert_eq!(ids(&c.select(&[vec![text(Cmp::Eq, "a")]])), vec![1]);
        assert!(c.select(&[vec![text(Cmp::Eq, "b")]]).is_empty());
        assert!(!c.by_value.contains_key("b"));
    }

    #[test]
    fn facets_count_repeated_values_either_way() {
        // CI 1 holds `a` twice (a multi-valued attribute).
        let c = column(&[(1, "a"), (1, "a"), (2, "a"), (2, "b"), (3, "b")]);
        let all: RoaringBitmap = [1, 2, 3].into_iter().collect();
        let expected: Vec<(Arc<str>, u64)> = vec![(Arc::from("a"), 3), (Arc::from("b"), 2)];
        // Two distinct values for three CIs: counted per value.
        assert_eq!(c.facet(&all), expected);
        // One CI: walked per CI.
        let one: RoaringBitmap = [1].into_iter().collect();
        assert_eq!(c.facet(&one), vec![(Arc::from("a"), 2)]);
    }

    #[test]
    fn pages_sort_by_the_first_value_then_the_cis_without_one() {
        // CI 3's first value is `c`, so `a` does not place it.
        let c = column(&[(1, "b"), (2, "a"), (3, "c"), (3, "a"), (5, "b")]);
        let all: RoaringBitmap = [1, 2, 3, 4, 5, 6].into_iter().collect();
        assert_eq!(c.page(&all, false, 0, 10), vec![2, 1, 5, 3, 4, 6]);
        assert_eq!(c.page(&all, true, 0, 10), vec![3, 5, 1, 2, 4, 6]);
        assert_eq!(c.page(&all, true, 2, 3), vec![1, 2, 4]);
    }
}
