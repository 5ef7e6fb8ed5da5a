//! The queue of a recursive common table expression (SQLite's algorithm,
//! <https://sqlite.org/lang_with.html>): the initial rows are queued; then,
//! row by row, a row is taken from the queue, becomes the only row of the
//! working table, the recursive SELECT runs over it and its rows are
//! queued, and the taken row is output. Rows are produced on demand, so a
//! consumer that stops early (an outer `LIMIT`) stops the recursion.
//!
//! The queue is first in, first out, or, with the CTE's own `ORDER BY`,
//! smallest first (first in, first out among equals). With `UNION` a row
//! that was ever queued is not queued again. Queuing more than
//! [`MAX_RECURSIVE_ROWS`] rows fails the statement.

use std::collections::VecDeque;

use super::operators::{cmp_keys, row_key};
use super::*;
use crate::sql::plan::MAX_RECURSIVE_ROWS;

/// A recursive CTE being read.
pub(super) struct RecursiveIter<'n> {
    plan: &'n RecursivePlan,
    /// First in, first out (no ORDER BY).
    fifo: VecDeque<Row>,
    /// Ordered by (sort keys, arrival) (with ORDER BY).
    ordered: Vec<(Vec<Value>, u64, Row)>,
    /// Every row queued so far (UNION).
    seen: HashSet<Vec<u8>>,
    /// Rows queued so far.
    queued: u64,
    /// Rows still to output (`LIMIT`).
    remaining: Option<u64>,
    /// Rows still to skip (`OFFSET`).
    skip: u64,
}

impl<'n> RecursiveIter<'n> {
    /// Evaluate the bounds and queue the initial rows.
    pub(super) fn open<S: PageStore>(plan: &'n RecursivePlan, cx: &mut Ctx<'_, S>) -> Result<RecursiveIter<'n>> {
        let lim = plan.limit.as_ref().map(|e| eval(e, &[], cx).map(|v| types::to_int(&v))).transpose()?;
        let off = plan.offset.as_ref().map(|e| eval(e, &[], cx).map(|v| types::to_int(&v))).transpose()?;
        let mut it = RecursiveIter {
            plan,
            fifo: VecDeque::new(),
            ordered: Vec::new(),
            seen: HashSet::new(),
            queued: 0,
            remaining: lim.filter(|l| *l >= 0).map(|l| l as u64),
            skip: off.unwrap_or(0).max(0) as u64,
        };
        if it.remaining == Some(0) {
            return Ok(it);
        }
        let init = collect(&plan.init, cx)?;
        for row in init {
            it.push(row, cx)?;
        }
        Ok(it)
    }

    fn push<S: PageStore>(&mut self, row: Row, cx: &mut Ctx<'_, S>) -> Result<()> {
        if self.plan.distinct && !self.seen.insert(row_key(&row)) {
            return Ok(());
        }
        self.queued += 1;
        if self.queued > MAX_RECURSIVE_ROWS {
            return Err(Error::Sql(format!(
                "recursive common table expression {} queued more than {MAX_RECURSIVE_ROWS} rows \
                 (waldb's recursion limit; does the recursion end?)",
                self.plan.name
            )));
        }
        if self.plan.order.is_empty() {
            self.fifo.push_back(row);
        } else {
            let keys = self.plan.order.iter().map(|k| eval(&k.expr, &row, cx)).collect::<Result<Vec<_>>>()?;
            self.ordered.push((keys, self.queued, row));
        }
        Ok(())
    }

    fn pop(&mut self) -> Option<Row> {
        if self.plan.order.is_empty() {
            return self.fifo.pop_front();
        }
        let order = &self.plan.order;
        let (at, _) = self
            .ordered
            .iter()
            .enumerate()
            .min_by(|(_, a), (_, b)| cmp_keys(&a.0, &b.0, order).then(a.1.cmp(&b.1)))?;
        Some(self.ordered.swap_remove(at).2)
    }
}

impl<S: PageStore> RowIter<S> for RecursiveIter<'_> {
    fn next(&mut self, cx: &mut Ctx<'_, S>) -> Result<Option<Row>> {
        loop {
            if self.remaining == Some(0) {
                return Ok(None);
            }
            let Some(row) = self.pop() else {
                return Ok(None);
            };
            cx.working.insert(self.plan.id, row.clone());
            let mut step = open(&self.plan.step, cx, &[])?;
            while let Some(r) = step.next(cx)? {
                self.push(r, cx)?;
            }
            if self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            if let Some(n) = &mut self.remaining {
                *n -= 1;
            }
            return Ok(Some(row));
        }
    }
}

