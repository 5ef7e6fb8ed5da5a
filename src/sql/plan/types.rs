//! The plan: compiled expressions, operators, access paths, and the
//! plans of queries and subqueries.

use super::*;

/// A compiled expression.
#[derive(Clone, Debug, PartialEq)]
pub enum CExpr {
    /// A constant.
    Const(Value),
    /// Parameter `i` (0-based).
    Param(usize),
    /// Column `idx` of the current row; `aff` its affinity, if it is a
    /// column of a table.
    Col {
        /// Position in the row.
        idx: usize,
        /// Affinity, for comparisons.
        aff: Option<Affinity>,
    },
    /// Column `idx` of an enclosing query's row, `depth` levels up.
    Outer {
        /// 1: the immediately enclosing query.
        depth: usize,
        /// Position in that row.
        idx: usize,
        /// Affinity.
        aff: Option<Affinity>,
    },
    /// A unary operation.
    Unary(UnaryOp, Box<CExpr>),
    /// A binary operation.
    Binary(BinaryOp, Box<CExpr>, Box<CExpr>),
    /// `IS [NOT] NULL`.
    IsNull(Box<CExpr>, bool),
    /// `[NOT] BETWEEN`.
    Between(Box<CExpr>, Box<CExpr>, Box<CExpr>, bool),
    /// `[NOT] IN (list)`.
    InList(Box<CExpr>, Vec<CExpr>, bool),
    /// `[NOT] IN (subquery)`.
    InSub(Box<CExpr>, usize, bool),
    /// `[NOT] EXISTS (subquery)`.
    Exists(usize, bool),
    /// A scalar subquery.
    ScalarSub(usize, Option<Affinity>),
    /// `[NOT] LIKE` / `GLOB`: operand, pattern, escape, negated, glob.
    Like(Box<CExpr>, Box<CExpr>, Option<Box<CExpr>>, bool, bool),
    /// `CASE`.
    Case(Option<Box<CExpr>>, Vec<(CExpr, CExpr)>, Option<Box<CExpr>>),
    /// `CAST(x AS type)`.
    Cast(Box<CExpr>, String),
    /// A scalar function call.
    Func(Scalar, Vec<CExpr>),
}

impl CExpr {
    /// The affinity SQLite gives the expression in a comparison: a column's,
    /// or a CAST's type; none otherwise.
    pub fn affinity(&self) -> Option<Affinity> {
        match self {
            CExpr::Col { aff, .. } | CExpr::Outer { aff, .. } | CExpr::ScalarSub(_, aff) => *aff,
            CExpr::Cast(_, t) => Some(affinity(Some(t))),
            _ => None,
        }
    }

    /// Whether the expression reads the current row at position `>= from`
    /// (a table joined at or after that point).
    pub(super) fn reads_from(&self, from: usize) -> bool {
        let mut hit = false;
        self.walk(&mut |e| {
            if let CExpr::Col { idx, .. } = e
                && *idx >= from
            {
                hit = true;
            }
        });
        hit
    }

    /// Visit this expression and its sub-expressions (not into subqueries).
    pub fn walk(&self, f: &mut dyn FnMut(&CExpr)) {
        f(self);
        match self {
            CExpr::Unary(_, a) | CExpr::IsNull(a, _) | CExpr::Cast(a, _) | CExpr::InSub(a, _, _) => a.walk(f),
            CExpr::Binary(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            CExpr::Between(a, b, c, _) => {
                a.walk(f);
                b.walk(f);
                c.walk(f);
            }
            CExpr::InList(a, l, _) => {
                a.walk(f);
                l.iter().for_each(|x| x.walk(f));
            }
            CExpr::Like(a, b, c, _, _) => {
                a.walk(f);
                b.walk(f);
                if let Some(c) = c {
                    c.walk(f);
                }
            }
            CExpr::Case(o, w, e) => {
                if let Some(o) = o {
                    o.walk(f);
                }
                for (a, b) in w {
                    a.walk(f);
                    b.walk(f);
                }
                if let Some(e) = e {
                    e.walk(f);
                }
            }
            CExpr::Func(_, args) => args.iter().for_each(|x| x.walk(f)),
            _ => {}
        }
    }

    /// Replace every sub-expression equal to one in `with` by a column.
    pub(super) fn substitute(self, with: &[(CExpr, usize)]) -> CExpr {
        if let Some((_, idx)) = with.iter().find(|(e, _)| *e == self) {
            return CExpr::Col { idx: *idx, aff: self.affinity() };
        }
        let sub = |b: Box<CExpr>| Box::new(b.substitute(with));
        match self {
            CExpr::Unary(op, a) => CExpr::Unary(op, sub(a)),
            CExpr::Binary(op, a, b) => CExpr::Binary(op, sub(a), sub(b)),
            CExpr::IsNull(a, n) => CExpr::IsNull(sub(a), n),
            CExpr::Between(a, b, c, n) => CExpr::Between(sub(a), sub(b), sub(c), n),
            CExpr::InList(a, l, n) => CExpr::InList(sub(a), l.into_iter().map(|x| x.substitute(with)).collect(), n),
            CExpr::InSub(a, s, n) => CExpr::InSub(sub(a), s, n),
            CExpr::Like(a, b, c, n, g) => CExpr::Like(sub(a), sub(b), c.map(sub), n, g),
            CExpr::Case(o, w, e) => CExpr::Case(
                o.map(sub),
                w.into_iter().map(|(a, b)| (a.substitute(with), b.substitute(with))).collect(),
                e.map(sub),
            ),
            CExpr::Cast(a, t) => CExpr::Cast(sub(a), t),
            CExpr::Func(f, args) => CExpr::Func(f, args.into_iter().map(|x| x.substitute(with)).collect()),
            other => other,
        }
    }
}

/// One aggregate of an aggregate operator.
#[derive(Clone, Debug, PartialEq)]
pub struct AggSpec {
    /// The function.
    pub func: Aggregate,
    /// Its arguments, over the input row.
    pub args: Vec<CExpr>,
    /// `DISTINCT` arguments.
    pub distinct: bool,
}

impl AggSpec {
    /// A fresh running state.
    pub fn state(&self) -> AggState {
        AggState::new(self.func)
    }
}

/// A bound of a range access: the value and whether it is included.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeBound {
    /// The bound's value.
    pub expr: CExpr,
    /// Inclusive.
    pub inclusive: bool,
}

/// How a base table is read.
#[derive(Clone, Debug, PartialEq)]
pub enum Access {
    /// Every row, in rowid order.
    Full,
    /// The row with this rowid.
    RowidEq(CExpr),
    /// The rows with these rowids.
    RowidIn(Vec<CExpr>),
    /// Rows in a rowid range.
    RowidRange(Option<RangeBound>, Option<RangeBound>),
    /// Rows through an index: equality on its first columns, then an
    /// optional range on the next.
    Index {
        /// The index.
        index: Arc<Index>,
        /// Values of the leading columns.
        eq: Vec<CExpr>,
        /// Lower bound on the next column.
        lo: Option<RangeBound>,
        /// Upper bound on the next column.
        hi: Option<RangeBound>,
    },
    /// Rows whose first index column is in a list.
    IndexIn {
        /// The index.
        index: Arc<Index>,
        /// The values.
        values: Vec<CExpr>,
    },
}

/// A sort key.
#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    /// The value sorted on.
    pub expr: CExpr,
    /// Descending.
    pub desc: bool,
    /// NULLs first (SQLite's default for ascending).
    pub nulls_first: bool,
}

/// An operator.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// One empty row (a SELECT without FROM).
    One,
    /// Literal rows.
    Values(Vec<Vec<CExpr>>),
    /// A base table: its columns, then its rowid.
    Scan {
        /// The table.
        table: Arc<Table>,
        /// How it is read.
        access: Access,
        /// Walk the rowid or index order backwards.
        desc: bool,
        /// The table columns the statement reads (`None`: all); the others
        /// are not decoded and read as NULL. Set by [`prune_scan_columns`].
        needed: Option<Vec<bool>>,
    },
    /// A subquery or view in FROM, computed once per statement.
    Derived {
        /// Cache slot.
        id: usize,
        /// The query.
        plan: Box<QueryPlan>,
    },
    /// A nested-loop join; the right side is reopened per left row.
    Join {
        /// Left input.
        left: Box<Node>,
        /// Right input.
        right: Box<Node>,
        /// Inner (or cross) or left outer.
        left_outer: bool,
        /// Condition on the joined row.
        on: Option<CExpr>,
        /// Columns of the right side (NULLs for an unmatched left row).
        right_width: usize,
        /// Equality columns that let the right side be read once into a
        /// hash table instead of once per left row; `None`: nested loop.
        hash: Option<HashKeys>,
    },
    /// Rows for which the predicate is true.
    Filter {
        /// Input.
        input: Box<Node>,
        /// Predicate.
        pred: CExpr,
    },
    /// Computed columns.
    Project {
        /// Input.
        input: Box<Node>,
        /// One expression per output column.
        exprs: Vec<CExpr>,
    },
    /// Grouping and aggregates: last input row, group values, aggregates.
    Aggregate {
        /// Input.
        input: Box<Node>,
        /// Group-by expressions.
        group: Vec<CExpr>,
        /// Aggregates.
        aggs: Vec<AggSpec>,
        /// Width of an input row.
        input_width: usize,
    },
    /// Sorted rows.
    Sort {
        /// Input.
        input: Box<Node>,
        /// Keys, most significant first.
        keys: Vec<SortKey>,
    },
    /// Rows unique on their first `width` columns.
    Distinct {
        /// Input.
        input: Box<Node>,
        /// Columns compared.
        width: usize,
    },
    /// `LIMIT` / `OFFSET`.
    Limit {
        /// Input.
        input: Box<Node>,
        /// Rows to return at most.
        limit: Option<CExpr>,
        /// Rows to skip first.
        offset: Option<CExpr>,
    },
    /// `UNION [ALL]`, `EXCEPT`, `INTERSECT`.
    Compound {
        /// The operator.
        op: SetOp,
        /// Left input.
        left: Box<Node>,
        /// Right input.
        right: Box<Node>,
    },
    /// The one row a recursive common table expression's recursive SELECT
    /// reads as the CTE itself (the row just taken from the queue).
    Working {
        /// The slot the executing [`Node::Recursive`] fills.
        id: usize,
    },
    /// A recursive common table expression, streamed (see `plan/cte.rs`).
    Recursive(Box<RecursivePlan>),
    /// The first `width` columns.
    Trim {
        /// Input.
        input: Box<Node>,
        /// Columns kept.
        width: usize,
    },
}

/// The equality columns of a hash join (`left.x = right.y AND …`): a
/// position in the left row and one in the right side's own row, each with
/// its column's affinity, which decides how the pair is compared.
#[derive(Clone, Debug, PartialEq)]
pub struct HashKeys {
    /// Left-row positions and affinities.
    pub left: Vec<(usize, Option<Affinity>)>,
    /// Right-row positions (counted from the right side's first column)
    /// and affinities.
    pub right: Vec<(usize, Option<Affinity>)>,
}

/// A recursive common table expression: the initial rows are queued; each
/// row taken from the queue is output and then, as the only row of the
/// working table, fed to the recursive SELECT, whose rows join the queue.
#[derive(Clone, Debug, PartialEq)]
pub struct RecursivePlan {
    /// The working table's slot ([`Node::Working`]).
    pub id: usize,
    /// The CTE's name (for the recursion limit's error).
    pub name: String,
    /// The initial SELECT (everything left of the last UNION [ALL]).
    pub init: Node,
    /// The recursive SELECT.
    pub step: Node,
    /// `UNION`: a row already queued once is not queued again.
    pub distinct: bool,
    /// The CTE query's own `ORDER BY`: the queue is taken smallest first
    /// (first in, first out among equals); empty: first in, first out.
    pub order: Vec<SortKey>,
    /// The CTE query's own `LIMIT`: rows output at most.
    pub limit: Option<CExpr>,
    /// The CTE query's own `OFFSET`: rows taken (and recursed on) but not
    /// output.
    pub offset: Option<CExpr>,
}

/// A planned query.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryPlan {
    /// The operators.
    pub root: Node,
    /// Output column names.
    pub columns: Vec<String>,
    /// Output column affinities (a column of a table keeps its own).
    pub affinities: Vec<Option<Affinity>>,
    /// Whether it reads an enclosing query's row.
    pub correlated: bool,
}

/// A subquery of a statement.
#[derive(Clone, Debug, PartialEq)]
pub struct SubPlan {
    /// Its plan.
    pub plan: QueryPlan,
    /// Whether it reads an enclosing query's row (so it cannot be cached).
    pub correlated: bool,
}
