//! Execution: operators pull rows from their inputs (iterators over a page
//! store), expressions are evaluated against the current row.
//!
//! Blocking operators (sort, aggregate, distinct sets, compound sets) hold
//! their rows in memory; scans, filters, projections and joins stream.
//! Subqueries that do not read an enclosing row run once per statement and
//! are cached; correlated ones run once per outer row.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::io::Vfs;
use crate::storage::PageStore;
use crate::storage::btree::keycode::encode_value;
use crate::storage::btree::{BTree, Cursor, Direction};
use crate::value::{Value, sql_cmp};

use super::ast::{BinaryOp, SetOp, UnaryOp};
use super::func::{self, AggState, Scalar};
use super::plan::{Access, AggSpec, CExpr, Node, RangeBound, SortKey, SubPlan};
use super::table::{RowCursor, RowStore, key_prefix, rowid_of};
use super::types::{self, Affinity, apply_affinity, compare, truth};
use super::{builtins, datetime};

/// A row.
pub type Row = Vec<Value>;

/// What a subquery evaluated to, cached when it is not correlated.
#[derive(Clone, Debug)]
enum SubValue {
    Rows(Rc<Vec<Row>>),
}

/// The state of one statement's execution.
pub struct Ctx<'a, S: PageStore> {
    /// The page store rows are read from.
    pub store: &'a S,
    /// Bound parameters.
    pub params: &'a [Value],
    /// The statement's subqueries.
    pub subs: &'a [SubPlan],
    /// Rows of the enclosing queries, innermost last.
    outer: Vec<Row>,
    sub_cache: HashMap<usize, SubValue>,
    derived: HashMap<usize, Rc<Vec<Row>>>,
    /// The clock and randomness for `'now'`, `random()` (none: 1970 and a
    /// fixed seed).
    vfs: Option<&'a dyn Vfs>,
    /// The statement's time, read at its first use (SQLite: per statement).
    now_ms: Option<i64>,
    /// The state of `random()`'s generator, seeded at its first use.
    rng: Option<u64>,
}

impl<S: PageStore> std::fmt::Debug for Ctx<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ctx({} params)", self.params.len())
    }
}

impl<'a, S: PageStore> Ctx<'a, S> {
    /// A context for one execution.
    pub fn new(store: &'a S, params: &'a [Value], subs: &'a [SubPlan]) -> Ctx<'a, S> {
        Ctx {
            store,
            params,
            subs,
            outer: Vec::new(),
            sub_cache: HashMap::new(),
            derived: HashMap::new(),
            vfs: None,
            now_ms: None,
            rng: None,
        }
    }

    /// Take the statement's time and randomness from `vfs`.
    pub fn with_vfs(mut self, vfs: &'a dyn Vfs) -> Ctx<'a, S> {
        self.vfs = Some(vfs);
        self
    }
}

impl<S: PageStore> datetime::Env for Ctx<'_, S> {
    fn now_unix_ms(&mut self) -> i64 {
        let vfs = self.vfs;
        *self.now_ms.get_or_insert_with(|| vfs.map_or(0, |v| v.now_unix_ms()))
    }
}

impl<S: PageStore> builtins::Env for Ctx<'_, S> {
    fn random_u64(&mut self) -> u64 {
        let vfs = self.vfs;
        let state = self.rng.get_or_insert_with(|| vfs.map_or(0x5EED, |v| v.random_u64()));
        // splitmix64.
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A source of rows.
pub trait RowIter<S: PageStore> {
    /// The next row, or `None` at the end.
    fn next(&mut self, cx: &mut Ctx<'_, S>) -> Result<Option<Row>>;
}

/// Run `node` to completion.
pub fn collect<S: PageStore>(node: &Node, cx: &mut Ctx<'_, S>) -> Result<Vec<Row>> {
    let mut it = open(node, cx, &[])?;
    let mut out = Vec::new();
    while let Some(r) = it.next(cx)? {
        out.push(r);
    }
    Ok(out)
}

struct VecIter(std::vec::IntoIter<Row>);

impl<S: PageStore> RowIter<S> for VecIter {
    fn next(&mut self, _: &mut Ctx<'_, S>) -> Result<Option<Row>> {
        Ok(self.0.next())
    }
}

struct RcIter {
    rows: Rc<Vec<Row>>,
    at: usize,
}

impl<S: PageStore> RowIter<S> for RcIter {
    fn next(&mut self, _: &mut Ctx<'_, S>) -> Result<Option<Row>> {
        let r = self.rows.get(self.at).cloned();
        self.at += 1;
        Ok(r)
    }
}

/// Open `node`; `left` is the current row of the join's left side, which a
/// scan's access values may read.
#[recursive::recursive]
pub fn open<'n, S: PageStore + 'n>(
    node: &'n Node,
    cx: &mut Ctx<'_, S>,
    left: &[Value],
) -> Result<Box<dyn RowIter<S> + 'n>> {
    Ok(match node {
        Node::One => Box::new(VecIter(vec![Vec::new()].into_iter())),
        Node::Values(rows) => {
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(r.iter().map(|e| eval(e, left, cx)).collect::<Result<Row>>()?);
            }
            Box::new(VecIter(out.into_iter()))
        }
        Node::Scan { table, access, desc, needed } => open_scan(table, access, *desc, needed.as_deref(), cx, left)?,
        Node::Derived { id, plan } => {
            let rows = match cx.derived.get(id) {
                Some(r) => r.clone(),
                None => {
                    let outer = std::mem::take(&mut cx.outer);
                    let rows = collect(&plan.root, cx);
                    cx.outer = outer;
                    let rows = Rc::new(rows?);
                    cx.derived.insert(*id, rows.clone());
                    rows
                }
            };
            Box::new(RcIter { rows, at: 0 })
        }
        Node::Join { left: l, right, left_outer, on, right_width } => Box::new(JoinIter {
            left: open(l, cx, left)?,
            right_node: right,
            right: None,
            current: None,
            matched: false,
            left_outer: *left_outer,
            on: on.as_ref(),
            right_width: *right_width,
        }),
        Node::Filter { input, pred } => Box::new(FilterIter { input: open(input, cx, left)?, pred }),
        Node::Project { input, exprs } => Box::new(ProjectIter { input: open(input, cx, left)?, exprs }),
        Node::Aggregate { input, group, aggs, input_width } => {
            let rows = aggregate(open(input, cx, left)?, group, aggs, *input_width, cx)?;
            Box::new(VecIter(rows.into_iter()))
        }
        Node::Sort { input, keys } => {
            let mut it = open(input, cx, left)?;
            let mut rows = Vec::new();
            while let Some(r) = it.next(cx)? {
                let k = keys.iter().map(|k| eval(&k.expr, &r, cx)).collect::<Result<Vec<_>>>()?;
                rows.push((k, r));
            }
            rows.sort_by(|a, b| cmp_keys(&a.0, &b.0, keys));
            Box::new(VecIter(rows.into_iter().map(|(_, r)| r).collect::<Vec<_>>().into_iter()))
        }
        Node::Distinct { input, width } => {
            Box::new(DistinctIter { input: open(input, cx, left)?, width: *width, seen: HashSet::new() })
        }
        Node::Limit { input, limit, offset } => {
            let lim = limit.as_ref().map(|e| eval(e, &[], cx).map(|v| types::to_int(&v))).transpose()?;
            let off = offset.as_ref().map(|e| eval(e, &[], cx).map(|v| types::to_int(&v))).transpose()?;
            Box::new(LimitIter {
                input: open(input, cx, left)?,
                remaining: lim.filter(|l| *l >= 0).map(|l| l as u64),
                skip: off.unwrap_or(0).max(0) as u64,
            })
        }
        Node::Compound { op, left: l, right } => {
            let rows = compound(*op, l, right, cx, left)?;
            Box::new(VecIter(rows.into_iter()))
        }
        Node::Trim { input, width } => Box::new(TrimIter { input: open(input, cx, left)?, width: *width }),
    })
}

fn cmp_keys(a: &[Value], b: &[Value], keys: &[SortKey]) -> Ordering {
    for ((x, y), k) in a.iter().zip(b).zip(keys) {
        let o = match (matches!(x, Value::Null), matches!(y, Value::Null)) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if k.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if k.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            _ => {
                let o = sql_cmp(x, y);
                if k.desc { o.reverse() } else { o }
            }
        };
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}

/// The memcomparable key of values: equal values (1 and 1.0, two NULLs)
/// give equal keys, for DISTINCT, GROUP BY and set operations.
fn row_key(vals: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(vals.len() * 10);
    for v in vals {
        encode_value(&mut out, v);
    }
    out
}

struct FilterIter<'n, S: PageStore> {
    input: Box<dyn RowIter<S> + 'n>,
    pred: &'n CExpr,
}

impl<'n, S: PageStore + 'n> RowIter<S> for FilterIter<'n, S> {
    fn next(&mut self, cx: &mut Ctx<'_, S>) -> Result<Option<Row>> {
        while let Some(r) = self.input.next(cx)? {
            if truth(&eval(self.pred, &r, cx)?) == Some(true) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}

struct ProjectIter<'n, S: PageStore> {
    input: Box<dyn RowIter<S> + 'n>,
    exprs: &'n [CExpr],
}

impl<'n, S: PageStore + 'n> RowIter<S> for ProjectIter<'n, S> {
    fn next(&mut self, cx: &mut Ctx<'_, S>) -> Result<Option<Row>> {
        match self.input.next(cx)? {
            None => Ok(None),
            Some(r) => Ok(Some(self.exprs.iter().map(|e| eval(e, &r, cx)).collect::<Result<Row>>()?)),
        }
    }
}

struct TrimIter<'n, S: PageStore> {
    input: Box<dyn RowIter<S> + 'n>,
    width: usize,
}

impl<'n, S: PageStore + 'n> RowIter<S> for TrimIter<'n, S> {
    fn next(&mut self, cx: &mut Ctx<'_, S>) -> Result<Option<Row>> {
        Ok(self.input.next(cx)?.map(|mut r| {
            r.truncate(self.width);
            r
        }))
    }
}

struct DistinctIter<'n, S: PageStore> {
    input: Box<dyn RowIter<S> + 'n>,
    width: usize,
    seen: HashSet<Vec<u8>>,
}

impl<'n, S: PageStore + 'n> RowIter<S> for DistinctIter<'n, S> {
    fn next(&mut self, cx: &mut Ctx<'_, S>) -> Result<Option<Row>> {
        while let Some(r) = self.input.next(cx)? {
            if self.seen.insert(row_key(&r[..self.width.min(r.len())])) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}

struct LimitIter<'n, S: PageStore> {
    input: Box<dyn RowIter<S> + 'n>,
    remaining: Option<u64>,
    skip: u64,
}

impl<'n, S: PageStore + 'n> RowIter<S> for LimitIter<'n, S> {
    fn next(&mut self, cx: &mut Ctx<'_, S>) -> Result<Option<Row>> {
        if self.remaining == Some(0) {
            return Ok(None);
        }
        while self.skip > 0 {
            if self.input.next(cx)?.is_none() {
                return Ok(None);
            }
            self.skip -= 1;
        }
        let r = self.input.next(cx)?;
        if r.is_some()
            && let Some(n) = self.remaining.as_mut()
        {
            *n -= 1;
        }
        Ok(r)
    }
}

struct JoinIter<'n, S: PageStore> {
    left: Box<dyn RowIter<S> + 'n>,
    right_node: &'n Node,
    right: Option<Box<dyn RowIter<S> + 'n>>,
    current: Option<Row>,
    matched: bool,
    left_outer: bool,
    on: Option<&'n CExpr>,
    right_width: usize,
}

impl<'n, S: PageStore + 'n> RowIter<S> for JoinIter<'n, S> {
    fn next(&mut self, cx: &mut Ctx<'_, S>) -> Result<Option<Row>> {
        loop {
            if self.current.is_none() {
                let Some(l) = self.left.next(cx)? else { return Ok(None) };
                self.right = Some(open(self.right_node, cx, &l)?);
                self.current = Some(l);
                self.matched = false;
            }
            let (Some(l), Some(right)) = (self.current.as_ref(), self.right.as_mut()) else { return Ok(None) };
            match right.next(cx)? {
                Some(r) => {
                    let mut row = l.clone();
                    row.extend(r);
                    if let Some(on) = self.on
                        && truth(&eval(on, &row, cx)?) != Some(true)
                    {
                        continue;
                    }
                    self.matched = true;
                    return Ok(Some(row));
                }
                None => {
                    let l = self.current.take();
                    if self.left_outer
                        && !self.matched
                        && let Some(mut row) = l
                    {
                        row.extend(std::iter::repeat_n(Value::Null, self.right_width));
                        return Ok(Some(row));
                    }
                }
            }
        }
    }
}

/// Rows of a table through its access path: the table's columns, then the
/// rowid.
enum ScanIter<'t> {
    Rows(RowCursor<'t>),
    Rowids { store: RowStore<'t>, want: Option<&'t [bool]>, ids: std::vec::IntoIter<i64> },
    Index { store: RowStore<'t>, want: Option<&'t [bool]>, cursors: Vec<Cursor>, at: usize, seen: Option<HashSet<i64>> },
}

impl<S: PageStore> RowIter<S> for ScanIter<'_> {
    fn next(&mut self, cx: &mut Ctx<'_, S>) -> Result<Option<Row>> {
        match self {
            ScanIter::Rows(c) => Ok(c.next(cx.store)?.map(|(rowid, mut row)| {
                row.push(Value::Integer(rowid));
                row
            })),
            ScanIter::Rowids { store, want, ids } => {
                for id in ids.by_ref() {
                    if let Some(mut row) = store.get_columns(cx.store, id, *want)? {
                        row.push(Value::Integer(id));
                        return Ok(Some(row));
                    }
                }
                Ok(None)
            }
            ScanIter::Index { store, want, cursors, at, seen } => {
                while *at < cursors.len() {
                    match cursors[*at].next(cx.store)? {
                        None => *at += 1,
                        Some((k, _)) => {
                            let id = rowid_of(&k).ok_or_else(|| Error::Sql("malformed index key".into()))?;
                            if let Some(seen) = seen.as_mut()
                                && !seen.insert(id)
                            {
                                continue;
                            }
                            match store.get_columns(cx.store, id, *want)? {
                                Some(mut row) => {
                                    row.push(Value::Integer(id));
                                    return Ok(Some(row));
                                }
                                None => return Err(Error::Sql(format!("index entry for missing row {id}"))),
                            }
                        }
                    }
                }
                Ok(None)
            }
        }
    }
}

/// A value as a rowid for lookup, if it can equal one.
fn as_rowid(v: &Value) -> Option<i64> {
    match apply_affinity(v.clone(), Affinity::Integer) {
        Value::Integer(i) => Some(i),
        _ => None,
    }
}

fn rowid_bound(
    b: &Option<RangeBound>,
    lower: bool,
    left: &[Value],
    cx: &mut Ctx<'_, impl PageStore>,
) -> Result<Option<Bound<i64>>> {
    let Some(b) = b else { return Ok(Some(Bound::Unbounded)) };
    let v = apply_affinity(eval(&b.expr, left, cx)?, Affinity::Numeric);
    Ok(match v {
        Value::Null => None,
        Value::Integer(i) => Some(if b.inclusive { Bound::Included(i) } else { Bound::Excluded(i) }),
        Value::Real(r) => {
            // Round toward the inside of the range.
            let i = if lower { r.ceil() } else { r.floor() };
            let exact = i == r;
            let i = types::real_to_int(i);
            Some(if exact && !b.inclusive { Bound::Excluded(i) } else { Bound::Included(i) })
        }
        // Text sorts after every number: a text lower bound leaves nothing,
        // a text upper bound leaves everything.
        _ if lower => None,
        _ => Some(Bound::Unbounded),
    })
}

fn open_scan<'t, S: PageStore>(
    table: &'t super::catalog::Table,
    access: &Access,
    desc: bool,
    want: Option<&'t [bool]>,
    cx: &mut Ctx<'_, S>,
    left: &[Value],
) -> Result<Box<dyn RowIter<S> + 't>> {
    let store = RowStore::new(table);
    let dir = if desc { Direction::Backward } else { Direction::Forward };
    Ok(match access {
        Access::Full => {
            Box::new(ScanIter::Rows(store.cursor(cx.store, Bound::Unbounded, Bound::Unbounded, dir)?.reading(want)))
        }
        Access::RowidEq(e) => {
            let ids: Vec<i64> = as_rowid(&eval(e, left, cx)?).into_iter().collect();
            Box::new(ScanIter::Rowids { store, want, ids: ids.into_iter() })
        }
        Access::RowidIn(list) => {
            let mut ids = Vec::new();
            for e in list {
                if let Some(i) = as_rowid(&eval(e, left, cx)?) {
                    ids.push(i);
                }
            }
            ids.sort_unstable();
            ids.dedup();
            if desc {
                ids.reverse();
            }
            Box::new(ScanIter::Rowids { store, want, ids: ids.into_iter() })
        }
        Access::RowidRange(lo, hi) => {
            let (Some(l), Some(h)) = (rowid_bound(lo, true, left, cx)?, rowid_bound(hi, false, left, cx)?) else {
                return Ok(Box::new(VecIter(Vec::new().into_iter())));
            };
            Box::new(ScanIter::Rows(store.cursor(cx.store, l, h, dir)?.reading(want)))
        }
        Access::Index { index, eq, lo, hi } => {
            let mut vals = Vec::with_capacity(eq.len());
            for (i, e) in eq.iter().enumerate() {
                let aff = index.columns.get(i).and_then(|&c| table.columns.get(c)).map(|c| c.affinity);
                let v = eval(e, left, cx)?;
                if matches!(v, Value::Null) {
                    return Ok(Box::new(VecIter(Vec::new().into_iter())));
                }
                vals.push(aff.map_or(v.clone(), |a| apply_affinity(v, a)));
            }
            let refs: Vec<&Value> = vals.iter().collect();
            let prefix = key_prefix(&refs);
            let next_aff = index.columns.get(eq.len()).and_then(|&c| table.columns.get(c)).map(|c| c.affinity);
            let mut bound = |b: &Option<RangeBound>, lower: bool| -> Result<Option<Bound<Vec<u8>>>> {
                let Some(b) = b else {
                    return Ok(Some(if lower {
                        Bound::Included(prefix.clone())
                    } else {
                        Bound::Included([prefix.as_slice(), &[0xFF; 9]].concat())
                    }));
                };
                let v = eval(&b.expr, left, cx)?;
                if matches!(v, Value::Null) {
                    return Ok(None);
                }
                let v = next_aff.map_or(v.clone(), |a| apply_affinity(v, a));
                let mut k = prefix.clone();
                encode_value(&mut k, &v);
                Ok(Some(match (lower, b.inclusive) {
                    (true, true) => Bound::Included(k),
                    (true, false) => Bound::Excluded([k.as_slice(), &[0xFF; 9]].concat()),
                    (false, true) => Bound::Included([k.as_slice(), &[0xFF; 9]].concat()),
                    (false, false) => Bound::Excluded(k),
                }))
            };
            let (Some(l), Some(h)) = (bound(lo, true)?, bound(hi, false)?) else {
                return Ok(Box::new(VecIter(Vec::new().into_iter())));
            };
            let as_ref = |b: &Bound<Vec<u8>>| -> Bound<Vec<u8>> { b.clone() };
            let (l, h) = (as_ref(&l), as_ref(&h));
            let c = BTree::open(index.root).range(cx.store, bref(&l), bref(&h), dir)?;
            Box::new(ScanIter::Index { store, want, cursors: vec![c], at: 0, seen: None })
        }
        Access::IndexIn { index, values } => {
            let aff = index.columns.first().and_then(|&c| table.columns.get(c)).map(|c| c.affinity);
            let mut keys = Vec::new();
            for e in values {
                let v = eval(e, left, cx)?;
                if matches!(v, Value::Null) {
                    continue;
                }
                let v = aff.map_or(v.clone(), |a| apply_affinity(v, a));
                keys.push(key_prefix(&[&v]));
            }
            keys.sort();
            keys.dedup();
            if desc {
                keys.reverse();
            }
            let mut cursors = Vec::with_capacity(keys.len());
            for k in keys {
                let hi = [k.as_slice(), &[0xFF; 9]].concat();
                cursors.push(BTree::open(index.root).range(
                    cx.store,
                    Bound::Included(&k),
                    Bound::Included(&hi),
                    dir,
                )?);
            }
            Box::new(ScanIter::Index { store, want, cursors, at: 0, seen: Some(HashSet::new()) })
        }
    })
}

fn bref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Group and aggregate: per group the last input row, the group values and
/// the aggregate results.
fn aggregate<S: PageStore>(
    mut input: Box<dyn RowIter<S> + '_>,
    group: &[CExpr],
    aggs: &[AggSpec],
    input_width: usize,
    cx: &mut Ctx<'_, S>,
) -> Result<Vec<Row>> {
    struct Group {
        last: Row,
        keys: Row,
        states: Vec<AggState>,
        seen: Vec<HashSet<Vec<u8>>>,
    }
    let mut order: Vec<Group> = Vec::new();
    let mut by_key: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut args: Row = Vec::new();
    while let Some(row) = input.next(cx)? {
        let keys = group.iter().map(|g| eval(g, &row, cx)).collect::<Result<Row>>()?;
        // Without GROUP BY every row is in the one group: no key to hash.
        let known = if group.is_empty() { (!order.is_empty()).then_some(0) } else { None };
        let k = if known.is_some() { Vec::new() } else { row_key(&keys) };
        let gi = match known.or_else(|| by_key.get(&k).copied()) {
            Some(i) => i,
            None => {
                order.push(Group {
                    last: Vec::new(),
                    keys,
                    states: aggs.iter().map(AggSpec::state).collect(),
                    seen: vec![HashSet::new(); aggs.len()],
                });
                by_key.insert(k, order.len() - 1);
                order.len() - 1
            }
        };
        let g = &mut order[gi];
        for (i, a) in aggs.iter().enumerate() {
            args.clear();
            for e in &a.args {
                args.push(eval(e, &row, cx)?);
            }
            if a.distinct
                && (args.first().is_some_and(|v| matches!(v, Value::Null))
                    || !g.seen[i].insert(row_key(&args[..1.min(args.len())])))
            {
                continue;
            }
            g.states[i].step(a.func, &args)?;
        }
        g.last = row;
    }
    if order.is_empty() && group.is_empty() {
        order.push(Group {
            last: vec![Value::Null; input_width],
            keys: Vec::new(),
            states: aggs.iter().map(AggSpec::state).collect(),
            seen: Vec::new(),
        });
    }
    let mut out = Vec::with_capacity(order.len());
    for g in order {
        let mut row = g.last;
        row.resize(input_width, Value::Null);
        row.extend(g.keys);
        for (s, a) in g.states.into_iter().zip(aggs) {
            row.push(s.finish(a.func)?);
        }
        out.push(row);
    }
    Ok(out)
}

fn compound<S: PageStore>(op: SetOp, l: &Node, r: &Node, cx: &mut Ctx<'_, S>, left: &[Value]) -> Result<Vec<Row>> {
    let mut lrows = Vec::new();
    let mut it = open(l, cx, left)?;
    while let Some(row) = it.next(cx)? {
        lrows.push(row);
    }
    let mut rrows = Vec::new();
    let mut it = open(r, cx, left)?;
    while let Some(row) = it.next(cx)? {
        rrows.push(row);
    }
    Ok(match op {
        SetOp::UnionAll => {
            lrows.extend(rrows);
            lrows
        }
        SetOp::Union => {
            let mut seen = HashSet::new();
            lrows.into_iter().chain(rrows).filter(|r| seen.insert(row_key(r))).collect()
        }
        SetOp::Except => {
            let right: HashSet<Vec<u8>> = rrows.iter().map(|r| row_key(r)).collect();
            let mut seen = HashSet::new();
            lrows.into_iter().filter(|r| !right.contains(&row_key(r)) && seen.insert(row_key(r))).collect()
        }
        SetOp::Intersect => {
            let right: HashSet<Vec<u8>> = rrows.iter().map(|r| row_key(r)).collect();
            let mut seen = HashSet::new();
            lrows.into_iter().filter(|r| right.contains(&row_key(r)) && seen.insert(row_key(r))).collect()
        }
    })
}

/// Rows of subquery `id` evaluated for the current row.
fn sub_rows<S: PageStore>(id: usize, row: &[Value], cx: &mut Ctx<'_, S>) -> Result<Rc<Vec<Row>>> {
    let sub = cx.subs.get(id).ok_or_else(|| Error::Sql(format!("no subquery {id}")))?;
    if !sub.correlated
        && let Some(SubValue::Rows(r)) = cx.sub_cache.get(&id)
    {
        return Ok(r.clone());
    }
    let subs = cx.subs;
    let plan = &subs[id].plan;
    cx.outer.push(row.to_vec());
    let rows = collect(&plan.root, cx);
    cx.outer.pop();
    let rows = Rc::new(rows?);
    if !subs[id].correlated {
        cx.sub_cache.insert(id, SubValue::Rows(rows.clone()));
    }
    Ok(rows)
}

fn bool_value(b: Option<bool>) -> Value {
    match b {
        None => Value::Null,
        Some(b) => Value::Integer(i64::from(b)),
    }
}

/// SQL `LIKE` (case-insensitive for ASCII; `%`, `_`, an escape) and `GLOB`
/// (case-sensitive; `*`, `?`, `[…]`).
pub fn like(text: &str, pattern: &str, escape: Option<char>, glob: bool) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    fn eq(a: char, b: char, glob: bool) -> bool {
        if glob { a == b } else { a.eq_ignore_ascii_case(&b) }
    }
    fn go(t: &[char], p: &[char], esc: Option<char>, glob: bool) -> bool {
        let (many, one) = if glob { ('*', '?') } else { ('%', '_') };
        let mut ti = 0;
        let mut pi = 0;
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            if pi < p.len() {
                let c = p[pi];
                if Some(c) == esc && !glob && pi + 1 < p.len() {
                    if eq(t[ti], p[pi + 1], glob) {
                        ti += 1;
                        pi += 2;
                        continue;
                    }
                } else if c == many {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                } else if c == one {
                    ti += 1;
                    pi += 1;
                    continue;
                } else if glob && c == '[' {
                    if let Some(end) = p[pi + 1..].iter().position(|&x| x == ']').map(|e| pi + 1 + e) {
                        let class = &p[pi + 1..end];
                        let (neg, class) = match class.first() {
                            Some('^') => (true, &class[1..]),
                            _ => (false, class),
                        };
                        let mut hit = false;
                        let mut i = 0;
                        while i < class.len() {
                            if i + 2 < class.len() && class[i + 1] == '-' {
                                hit |= class[i] <= t[ti] && t[ti] <= class[i + 2];
                                i += 3;
                            } else {
                                hit |= class[i] == t[ti];
                                i += 1;
                            }
                        }
                        if hit != neg {
                            ti += 1;
                            pi = end + 1;
                            continue;
                        }
                    }
                } else if eq(t[ti], c, glob) {
                    ti += 1;
                    pi += 1;
                    continue;
                }
            }
            match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            }
        }
        p[pi..].iter().all(|&c| c == many)
    }
    go(&t, &p, escape, glob)
}

fn cmp_op(op: BinaryOp, o: Ordering) -> bool {
    match op {
        BinaryOp::Eq => o.is_eq(),
        BinaryOp::NotEq => o.is_ne(),
        BinaryOp::Lt => o.is_lt(),
        BinaryOp::LtEq => o.is_le(),
        BinaryOp::Gt => o.is_gt(),
        _ => o.is_ge(),
    }
}

/// The three-valued result of `x [NOT] IN (…)`: true on an equal
/// candidate, NULL if none was equal but some comparison was NULL.
#[derive(Default)]
struct Membership {
    found: bool,
    null: bool,
}

impl Membership {
    /// Record one comparison; true once a candidate is equal (stop).
    fn test(&mut self, c: Option<Ordering>) -> bool {
        match c {
            Some(Ordering::Equal) => self.found = true,
            None => self.null = true,
            _ => {}
        }
        self.found
    }

    fn result(&self, negated: bool) -> Value {
        let r = if self.found {
            Some(true)
        } else if self.null {
            None
        } else {
            Some(false)
        };
        bool_value(if negated { r.map(|b| !b) } else { r })
    }
}

/// Evaluate an expression against `row`.
#[recursive::recursive]
pub fn eval<S: PageStore>(e: &CExpr, row: &[Value], cx: &mut Ctx<'_, S>) -> Result<Value> {
    Ok(match e {
        CExpr::Const(v) => v.clone(),
        CExpr::Param(i) => cx.params.get(*i).cloned().unwrap_or(Value::Null),
        CExpr::Col { idx, .. } => row.get(*idx).cloned().unwrap_or(Value::Null),
        CExpr::Outer { depth, idx, .. } => {
            let n = cx.outer.len();
            n.checked_sub(*depth)
                .and_then(|i| cx.outer.get(i))
                .and_then(|r| r.get(*idx))
                .cloned()
                .unwrap_or(Value::Null)
        }
        CExpr::Unary(op, a) => {
            let v = eval(a, row, cx)?;
            match op {
                UnaryOp::Neg => types::neg(&v),
                UnaryOp::Plus => v,
                UnaryOp::Not => bool_value(truth(&v).map(|b| !b)),
                UnaryOp::BitNot => match v {
                    Value::Null => Value::Null,
                    other => Value::Integer(!types::to_int(&other)),
                },
            }
        }
        CExpr::Binary(op, a, b) => match op {
            BinaryOp::And => {
                let x = truth(&eval(a, row, cx)?);
                if x == Some(false) {
                    return Ok(Value::Integer(0));
                }
                let y = truth(&eval(b, row, cx)?);
                bool_value(match (x, y) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                })
            }
            BinaryOp::Or => {
                let x = truth(&eval(a, row, cx)?);
                if x == Some(true) {
                    return Ok(Value::Integer(1));
                }
                let y = truth(&eval(b, row, cx)?);
                bool_value(match (x, y) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                })
            }
            _ => {
                let x = eval(a, row, cx)?;
                let y = eval(b, row, cx)?;
                binary(*op, &x, a.affinity(), &y, b.affinity())?
            }
        },
        CExpr::IsNull(a, negated) => Value::Integer(i64::from(matches!(eval(a, row, cx)?, Value::Null) != *negated)),
        CExpr::Between(a, lo, hi, negated) => {
            let v = eval(a, row, cx)?;
            let l = eval(lo, row, cx)?;
            let h = eval(hi, row, cx)?;
            let aa = a.affinity();
            let ge = compare(&v, aa, &l, lo.affinity()).map(Ordering::is_ge);
            let le = compare(&v, aa, &h, hi.affinity()).map(Ordering::is_le);
            let r = match (ge, le) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            bool_value(if *negated { r.map(|b| !b) } else { r })
        }
        CExpr::InList(a, list, negated) => {
            let v = eval(a, row, cx)?;
            if matches!(v, Value::Null) {
                return Ok(if list.is_empty() { Value::Integer(i64::from(*negated)) } else { Value::Null });
            }
            // `a IN (x, y)` is `a = +x OR a = +y`: the list's values have
            // no affinity, even columns and CASTs (SQLite's rule).
            let mut m = Membership::default();
            for x in list {
                let w = eval(x, row, cx)?;
                if m.test(compare(&v, a.affinity(), &w, None)) {
                    break;
                }
            }
            m.result(*negated)
        }
        CExpr::InSub(a, id, negated) => {
            let v = eval(a, row, cx)?;
            let rows = sub_rows(*id, row, cx)?;
            if matches!(v, Value::Null) {
                return Ok(if rows.is_empty() { Value::Integer(i64::from(*negated)) } else { Value::Null });
            }
            let aff = cx.subs.get(*id).and_then(|s| s.plan.affinities.first().copied().flatten());
            let mut m = Membership::default();
            for r in rows.iter() {
                if m.test(compare(&v, a.affinity(), r.first().unwrap_or(&Value::Null), aff)) {
                    break;
                }
            }
            m.result(*negated)
        }
        CExpr::Exists(id, negated) => {
            let rows = sub_rows(*id, row, cx)?;
            Value::Integer(i64::from(rows.is_empty() == *negated))
        }
        CExpr::ScalarSub(id, _) => {
            let rows = sub_rows(*id, row, cx)?;
            rows.first().and_then(|r| r.first().cloned()).unwrap_or(Value::Null)
        }
        CExpr::Like(a, p, esc, negated, glob) => {
            let v = eval(a, row, cx)?;
            let pat = eval(p, row, cx)?;
            let esc = match esc {
                Some(e) => match types::to_text(&eval(e, row, cx)?) {
                    Some(s) if s.chars().count() == 1 => s.chars().next(),
                    Some(_) => return Err(Error::Sql("ESCAPE expression must be a single character".into())),
                    None => return Ok(Value::Null),
                },
                None => None,
            };
            match (types::to_text(&v), types::to_text(&pat)) {
                (Some(t), Some(pt)) => Value::Integer(i64::from(like(&t, &pt, esc, *glob) != *negated)),
                _ => Value::Null,
            }
        }
        CExpr::Case(operand, whens, else_) => {
            match operand {
                Some(o) => {
                    let v = eval(o, row, cx)?;
                    for (w, t) in whens {
                        let wv = eval(w, row, cx)?;
                        if compare(&v, o.affinity(), &wv, w.affinity()) == Some(Ordering::Equal) {
                            return eval(t, row, cx);
                        }
                    }
                }
                None => {
                    for (w, t) in whens {
                        if truth(&eval(w, row, cx)?) == Some(true) {
                            return eval(t, row, cx);
                        }
                    }
                }
            }
            match else_ {
                Some(e) => eval(e, row, cx)?,
                None => Value::Null,
            }
        }
        CExpr::Cast(a, t) => types::cast(&eval(a, row, cx)?, t)?,
        CExpr::Func(Scalar::Ext(g), args) => {
            let vals = args.iter().map(|x| eval(x, row, cx)).collect::<Result<Vec<_>>>()?;
            builtins::call(*g, &vals, cx)?
        }
        CExpr::Func(f, args) => {
            // f(column) reads the row's value in place: no copy of a long
            // text or blob just to measure or convert it.
            if let [CExpr::Col { idx, .. }] = args.as_slice()
                && let Some(v) = row.get(*idx)
            {
                return func::call(*f, std::slice::from_ref(v));
            }
            let vals = args.iter().map(|x| eval(x, row, cx)).collect::<Result<Vec<_>>>()?;
            func::call(*f, &vals)?
        }
    })
}

/// A binary operator other than AND/OR on evaluated operands.
pub fn binary(op: BinaryOp, x: &Value, xa: Option<Affinity>, y: &Value, ya: Option<Affinity>) -> Result<Value> {
    Ok(match op {
        BinaryOp::Add => types::add(x, y),
        BinaryOp::Sub => types::sub(x, y),
        BinaryOp::Mul => types::mul(x, y),
        BinaryOp::Div => types::div(x, y),
        BinaryOp::Mod => types::rem(x, y),
        BinaryOp::Concat => super::build::concat(x, y)?,
        BinaryOp::Eq | BinaryOp::NotEq | BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq => {
            bool_value(compare(x, xa, y, ya).map(|o| cmp_op(op, o)))
        }
        BinaryOp::Is | BinaryOp::IsNot => {
            let same = match (x, y) {
                (Value::Null, Value::Null) => true,
                (Value::Null, _) | (_, Value::Null) => false,
                _ => compare(x, xa, y, ya) == Some(Ordering::Equal),
            };
            Value::Integer(i64::from(same == (op == BinaryOp::Is)))
        }
        BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::ShiftLeft | BinaryOp::ShiftRight => {
            if matches!(x, Value::Null) || matches!(y, Value::Null) {
                return Ok(Value::Null);
            }
            let (a, b) = (types::to_int(x), types::to_int(y));
            Value::Integer(match op {
                BinaryOp::BitAnd => a & b,
                BinaryOp::BitOr => a | b,
                BinaryOp::ShiftLeft => shift(a, b),
                _ => shift(a, b.saturating_neg()),
            })
        }
        BinaryOp::And | BinaryOp::Or => return Err(Error::Sql("AND/OR evaluated out of place".into())),
    })
}

fn shift(a: i64, b: i64) -> i64 {
    if b >= 64 {
        0
    } else if b >= 0 {
        a << b
    } else if b <= -64 {
        if a < 0 { -1 } else { 0 }
    } else {
        a >> -b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_and_glob_follow_sqlite() {
        assert!(like("abc", "A%", None, false));
        assert!(like("abc", "_b_", None, false));
        assert!(!like("abc", "A*", None, true));
        assert!(like("abc", "a*", None, true));
        assert!(like("a%c", "a\\%c", Some('\\'), false));
        assert!(!like("abc", "a\\%c", Some('\\'), false));
        assert!(like("b", "[a-c]", None, true));
        assert!(!like("d", "[a-c]", None, true));
        assert!(like("", "%", None, false));
        assert!(like("anything", "%thing", None, false));
    }
}
