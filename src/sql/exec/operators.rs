//! The operators: each opens into a [`RowIter`] over its inputs. Scans
//! stream through B+tree cursors; sort, aggregate, distinct and compound
//! sets hold their rows in memory; a hash join (`hash_join`) holds its
//! right side's, up to a bound.

use super::hash_join::HashJoinIter;
use super::*;

pub(super) struct VecIter(std::vec::IntoIter<Row>);

impl<S: PageStore> RowIter<S> for VecIter {
    fn next(&mut self, _: &mut Ctx<'_, S>) -> Result<Option<Row>> {
        Ok(self.0.next())
    }
}

pub(super) struct RcIter {
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
        Node::Join { left: l, right, left_outer, on, right_width, hash: Some(keys) } => Box::new(
            HashJoinIter::new(open(l, cx, left)?, right, keys, on.as_ref(), *left_outer, *right_width),
        ),
        Node::Join { left: l, right, left_outer, on, right_width, hash: None } => Box::new(JoinIter {
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
        Node::Working { id } => Box::new(VecIter(cx.working.get(id).cloned().into_iter().collect::<Vec<_>>().into_iter())),
        Node::Recursive(plan) => Box::new(super::cte_queue::RecursiveIter::open(plan, cx)?),
    })
}

pub(super) fn cmp_keys(a: &[Value], b: &[Value], keys: &[SortKey]) -> Ordering {
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
pub(super) fn row_key(vals: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(vals.len() * 10);
    for v in vals {
        encode_value(&mut out, v);
    }
    out
}

pub(super) struct FilterIter<'n, S: PageStore> {
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

pub(super) struct ProjectIter<'n, S: PageStore> {
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

pub(super) struct TrimIter<'n, S: PageStore> {
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

pub(super) struct DistinctIter<'n, S: PageStore> {
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

pub(super) struct LimitIter<'n, S: PageStore> {
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

/// A nested-loop join: the right side is opened again for each left row.
pub(super) struct JoinIter<'n, S: PageStore> {
    pub(super) left: Box<dyn RowIter<S> + 'n>,
    pub(super) right_node: &'n Node,
    pub(super) right: Option<Box<dyn RowIter<S> + 'n>>,
    pub(super) current: Option<Row>,
    pub(super) matched: bool,
    pub(super) left_outer: bool,
    pub(super) on: Option<&'n CExpr>,
    pub(super) right_width: usize,
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
pub(super) enum ScanIter<'t> {
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
pub(super) fn as_rowid(v: &Value) -> Option<i64> {
    match apply_affinity(v.clone(), Affinity::Integer) {
        Value::Integer(i) => Some(i),
        _ => None,
    }
}

pub(super) fn rowid_bound(
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

pub(super) fn open_scan<'t, S: PageStore>(
    table: &'t crate::sql::catalog::Table,
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

pub(super) fn bref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Group and aggregate: per group the last input row, the group values and
/// the aggregate results.
pub(super) fn aggregate<S: PageStore>(
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

pub(super) fn compound<S: PageStore>(
    op: SetOp,
    l: &Node,
    r: &Node,
    cx: &mut Ctx<'_, S>,
    left: &[Value],
) -> Result<Vec<Row>> {
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
