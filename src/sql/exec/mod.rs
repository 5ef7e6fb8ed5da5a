//! Execution: operators pull rows from their inputs (iterators over a page
//! store), expressions are evaluated against the current row.
//!
//! Blocking operators (sort, aggregate, distinct sets, compound sets) hold
//! their rows in memory, and a hash join its right side's (up to a bound);
//! scans, filters, projections and joins stream their left side.
//! Subqueries that do not read an enclosing row run once per statement and
//! are cached; correlated ones run once per outer row.
//!
//! - this file: the execution context ([`Ctx`]: page store, parameters,
//!   cached subqueries) and the [`RowIter`] every operator implements;
//! - `operators`: the operators of a plan — scans and access paths,
//!   filter, project, nested-loop join, sort, distinct, limit, aggregate,
//!   compound;
//! - `hash_join`: the equi-join that reads its right side once;
//! - `cte_queue`: the queue of a recursive common table expression;
//! - `eval`: expression evaluation, comparison and `LIKE`/`GLOB`.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::io::Vfs;
use crate::storage::PageStore;
use crate::sql::keycode::encode_value;
use crate::btree::{BTree, Cursor, Direction};
use crate::value::{Value, sql_cmp};

use crate::sql::ast::{BinaryOp, SetOp, UnaryOp};
use crate::sql::func::{self, AggState, Scalar};
use crate::sql::plan::{Access, AggSpec, CExpr, Node, RangeBound, RecursivePlan, SortKey, SubPlan};
use crate::sql::table::{RowCursor, RowStore, key_prefix, rowid_of};
use crate::sql::types::{self, Affinity, apply_affinity, compare, truth};
use crate::sql::{builtins, datetime};

mod eval;
mod hash_join;
mod operators;
mod cte_queue;

pub use eval::{binary, eval, like};
pub use operators::open;

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
    /// The current row of each recursive CTE's working table.
    working: HashMap<usize, Row>,
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
            working: HashMap::new(),
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
