//! The hash join: an equi-join whose right side does not depend on the left
//! row (a full scan or a materialized subquery) reads that side once into a
//! hash table keyed by its join columns, then probes it with each left row
//! — instead of reading the whole right side again per left row, as the
//! nested loop does.
//!
//! The key of a value is its comparison form ([`comparison_form`], SQLite's
//! comparison affinity for the pair of columns), with integers and reals
//! on one numeric axis; two values that `=` calls equal always get the same
//! key, and every candidate pair is still checked against the join's whole
//! condition, so the hash only ever narrows what the nested loop would try.
//! A NULL key matches nothing, as `NULL = x` is never true.
//!
//! **Memory bound.** The table holds the right side's rows up to
//! [`MAX_BUILD_BYTES`] (estimated); a right side larger than that is
//! dropped and the join continues as a nested loop, so a join never fails
//! for its size and never holds more than the bound.

use super::operators::JoinIter;
use super::*;

use crate::sql::plan::HashKeys;
use crate::sql::types::comparison_form;

/// The most a hash join's table may hold, estimated from its rows.
pub const MAX_BUILD_BYTES: usize = 64 << 20;

/// A join column's value, as equality sees it.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum HashKey {
    /// An integer or real, as the bits of its `f64` (an integer that is
    /// not exactly representable shares a key with its neighbours; the
    /// join condition tells them apart).
    Number(u64),
    Text(String),
    Blob(Vec<u8>),
}

/// The key of `v`, a value of a column of affinity `own` compared with one
/// of affinity `other`; `None` for NULL.
fn key_of(v: &Value, own: Option<Affinity>, other: Option<Affinity>) -> Option<HashKey> {
    let number = |f: f64| HashKey::Number(if f == 0.0 { 0 } else { f.to_bits() });
    Some(match comparison_form(v, own, other).as_ref() {
        Value::Null => return None,
        Value::Integer(i) => number(*i as f64),
        Value::Real(r) => number(*r),
        Value::Text(s) => HashKey::Text(s.clone()),
        Value::Blob(b) => HashKey::Blob(b.clone()),
    })
}

/// The keys of `row` at the positions `mine`, compared with columns of the
/// affinities in `theirs`; `None` when any is NULL.
fn row_key(
    row: &[Value],
    mine: &[(usize, Option<Affinity>)],
    theirs: &[(usize, Option<Affinity>)],
) -> Option<Vec<HashKey>> {
    mine.iter().zip(theirs).map(|(&(at, own), &(_, other))| key_of(row.get(at)?, own, other)).collect()
}

/// Roughly what a row costs in memory.
fn row_bytes(row: &[Value]) -> usize {
    let payload: usize = row
        .iter()
        .map(|v| match v {
            Value::Text(s) => s.len(),
            Value::Blob(b) => b.len(),
            _ => 0,
        })
        .sum();
    payload + std::mem::size_of_val(row) + 2 * std::mem::size_of::<Row>()
}

enum State<'n, S: PageStore> {
    /// Nothing read yet: the left input.
    Start(Box<dyn RowIter<S> + 'n>),
    /// The table is built; `current` is the left row being matched, its
    /// key, and the next candidate's position in the key's bucket.
    Probe {
        left: Box<dyn RowIter<S> + 'n>,
        table: HashMap<Vec<HashKey>, Vec<Row>>,
        current: Option<(Row, Option<Vec<HashKey>>, usize, bool)>,
    },
    /// The right side was too large: a nested loop goes on.
    Nested(JoinIter<'n, S>),
    Done,
}

/// A hash join (see the module doc).
pub(super) struct HashJoinIter<'n, S: PageStore> {
    state: State<'n, S>,
    right_node: &'n Node,
    keys: &'n HashKeys,
    on: Option<&'n CExpr>,
    left_outer: bool,
    right_width: usize,
}

impl<'n, S: PageStore + 'n> HashJoinIter<'n, S> {
    pub(super) fn new(
        left: Box<dyn RowIter<S> + 'n>,
        right_node: &'n Node,
        keys: &'n HashKeys,
        on: Option<&'n CExpr>,
        left_outer: bool,
        right_width: usize,
    ) -> Self {
        HashJoinIter { state: State::Start(left), right_node, keys, on, left_outer, right_width }
    }

    /// Read the right side into a table, or give up past the bound (`None`).
    fn build(&self, cx: &mut Ctx<'_, S>) -> Result<Option<HashMap<Vec<HashKey>, Vec<Row>>>> {
        let mut right = open(self.right_node, cx, &[])?;
        let mut table: HashMap<Vec<HashKey>, Vec<Row>> = HashMap::new();
        let mut bytes = 0usize;
        while let Some(r) = right.next(cx)? {
            let Some(key) = row_key(&r, &self.keys.right, &self.keys.left) else { continue };
            bytes = bytes.saturating_add(row_bytes(&r) + std::mem::size_of_val(key.as_slice()));
            if bytes > MAX_BUILD_BYTES {
                return Ok(None);
            }
            table.entry(key).or_default().push(r);
        }
        Ok(Some(table))
    }

    /// The joined row if `l` and `r` meet the join's condition.
    fn joined(&self, l: &[Value], r: &[Value], cx: &mut Ctx<'_, S>) -> Result<Option<Row>> {
        let mut row = Vec::with_capacity(l.len() + r.len());
        row.extend_from_slice(l);
        row.extend_from_slice(r);
        if let Some(on) = self.on
            && truth(&eval(on, &row, cx)?) != Some(true)
        {
            return Ok(None);
        }
        Ok(Some(row))
    }
}

impl<'n, S: PageStore + 'n> RowIter<S> for HashJoinIter<'n, S> {
    fn next(&mut self, cx: &mut Ctx<'_, S>) -> Result<Option<Row>> {
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return Ok(None),
                State::Start(mut left) => {
                    // An empty left side never reads the right one.
                    let Some(first) = left.next(cx)? else { return Ok(None) };
                    self.state = match self.build(cx)? {
                        Some(table) => {
                            let key = row_key(&first, &self.keys.left, &self.keys.right);
                            State::Probe { left, table, current: Some((first, key, 0, false)) }
                        }
                        None => {
                            let right = open(self.right_node, cx, &first)?;
                            State::Nested(JoinIter {
                                left,
                                right_node: self.right_node,
                                right: Some(right),
                                current: Some(first),
                                matched: false,
                                left_outer: self.left_outer,
                                on: self.on,
                                right_width: self.right_width,
                            })
                        }
                    };
                }
                State::Nested(mut nested) => {
                    let r = nested.next(cx)?;
                    self.state = State::Nested(nested);
                    return Ok(r);
                }
                State::Probe { mut left, table, current } => {
                    let Some((l, key, at, matched)) = current else {
                        let Some(l) = left.next(cx)? else { return Ok(None) };
                        let key = row_key(&l, &self.keys.left, &self.keys.right);
                        self.state = State::Probe { left, table, current: Some((l, key, 0, false)) };
                        continue;
                    };
                    let candidate = key.as_ref().and_then(|k| table.get(k)).and_then(|bucket| bucket.get(at));
                    let out = match candidate {
                        Some(r) => {
                            let row = self.joined(&l, r, cx)?;
                            let matched = matched || row.is_some();
                            self.state = State::Probe { left, table, current: Some((l, key, at + 1, matched)) };
                            row
                        }
                        None => {
                            let unmatched = (self.left_outer && !matched).then(|| {
                                let mut row = l;
                                row.extend(std::iter::repeat_n(Value::Null, self.right_width));
                                row
                            });
                            self.state = State::Probe { left, table, current: None };
                            unmatched
                        }
                    };
                    if out.is_some() {
                        return Ok(out);
                    }
                }
            }
        }
    }
}
