//! Planning: the syntax tree, resolved against the catalog, into a tree of
//! operators with compiled expressions.
//!
//! # Rows and layouts
//!
//! Every operator produces rows (`Vec<Value>`). A base table scan produces
//! the table's columns followed by its rowid (a hidden column). A join
//! produces its left row followed by its right row, so a left-deep join of
//! sources `s0, s1, …` lays their columns side by side and an expression over
//! the first `k` sources reads the same positions at every level. An
//! aggregate produces the last input row of each group, then the group-by
//! values, then the aggregate results — so plain column references (SQLite's
//! "bare columns") keep their positions.
//!
//! # Choices the planner makes
//!
//! - WHERE and inner-join ON conditions are split into conjuncts; each is
//!   applied at the lowest join level where every table it reads is present.
//! - A base table is read through the rowid (`rowid = e`, `IN`, ranges) or an
//!   index (equality on a prefix of its columns, then a range or `IN` on the
//!   next) when a conjunct allows it, the other side's value coming from a
//!   constant, a parameter or an earlier table of the join (an index lookup
//!   per outer row). Conjuncts used this way are still checked on each row.
//! - An ORDER BY that the rowid or an index already gives, on a single-table
//!   query without aggregates, skips the sort.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::value::Value;

use super::ast::{self, BinaryOp, JoinKind, SetOp, UnaryOp};
use super::catalog::{Catalog, Index, Table};
use super::func::{self, AggState, Aggregate, Scalar};
use super::types::{Affinity, affinity};

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
    fn reads_from(&self, from: usize) -> bool {
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
    fn substitute(self, with: &[(CExpr, usize)]) -> CExpr {
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
    /// The first `width` columns.
    Trim {
        /// Input.
        input: Box<Node>,
        /// Columns kept.
        width: usize,
    },
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

/// A column in a name scope.
#[derive(Clone, Debug)]
struct ScopeCol {
    /// The table's alias or name (lower-case).
    table: Option<String>,
    /// The column's name (lower-case).
    name: String,
    /// Affinity.
    aff: Option<Affinity>,
    /// Not part of `*` (the rowid).
    hidden: bool,
    /// Not found by an unqualified name (the right column of `USING`).
    qualified_only: bool,
    /// Display name as declared.
    display: String,
}

impl ScopeCol {
    /// An output column of a query read as a source (a subquery, a view,
    /// the result a compound's ORDER BY sees).
    fn output(table: Option<String>, name: &str, aff: Option<Affinity>) -> ScopeCol {
        ScopeCol { table, name: lower(name), aff, hidden: false, qualified_only: false, display: name.to_string() }
    }
}

/// The names visible to an expression: the current row's columns, and the
/// enclosing queries'.
pub struct Scope<'p> {
    cols: Vec<ScopeCol>,
    parent: Option<&'p Scope<'p>>,
    correlated: Cell<bool>,
    /// The highest of this scope's columns that a subquery compiled in it
    /// has read (so a WHERE conjunct whose subquery reads a later join
    /// source is not evaluated before that source's row exists).
    read_by_subquery: Cell<Option<usize>>,
    /// SELECT aliases (SQLite lets WHERE, GROUP BY and HAVING use them).
    aliases: Vec<(String, ast::Expr)>,
    /// The aliases whose expressions are being compiled now.
    expanding: RefCell<Vec<String>>,
}

impl std::fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scope({} columns)", self.cols.len())
    }
}

impl<'p> Scope<'p> {
    fn new(cols: Vec<ScopeCol>, parent: Option<&'p Scope<'p>>) -> Scope<'p> {
        Scope {
            cols,
            parent,
            correlated: Cell::new(false),
            read_by_subquery: Cell::new(None),
            aliases: Vec::new(),
            expanding: RefCell::new(Vec::new()),
        }
    }

    /// The column a name refers to: `(depth, position, affinity)`.
    fn resolve(&self, table: Option<&str>, name: &str) -> Result<Option<(usize, usize, Option<Affinity>)>> {
        let t = table.map(str::to_ascii_lowercase);
        let n = name.to_ascii_lowercase();
        let rowid_name = matches!(n.as_str(), "rowid" | "oid" | "_rowid_");
        let mut scope = Some(self);
        let mut depth = 0;
        while let Some(s) = scope {
            let mut found: Vec<usize> = s
                .cols
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    c.name == n
                        && (rowid_name || !c.hidden)
                        && match &t {
                            Some(t) => c.table.as_deref() == Some(t.as_str()),
                            None => !c.qualified_only,
                        }
                })
                .map(|(i, _)| i)
                .collect();
            if found.is_empty() && rowid_name {
                found = s
                    .cols
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.hidden && t.as_ref().is_none_or(|t| c.table.as_deref() == Some(t.as_str())))
                    .map(|(i, _)| i)
                    .collect();
            }
            match found.as_slice() {
                [] => {}
                [i] => {
                    if depth > 0 {
                        // Every scope from here up to the owner reads an
                        // enclosing row.
                        let mut x = Some(self);
                        for _ in 0..depth {
                            if let Some(sc) = x {
                                sc.correlated.set(true);
                                x = sc.parent;
                            }
                        }
                        s.read_by_subquery.set(s.read_by_subquery.get().max(Some(*i)));
                    }
                    return Ok(Some((depth, *i, s.cols[*i].aff)));
                }
                _ => return Err(Error::Sql(format!("ambiguous column name: {name}"))),
            }
            scope = s.parent;
            depth += 1;
        }
        Ok(None)
    }
}

/// How aggregates are handled while compiling an expression.
struct AggMode<'a> {
    aggs: &'a mut Vec<AggSpec>,
    /// Position of the first aggregate result in the aggregate's output.
    base: usize,
}

/// Turns statements into plans; collects the statement's subqueries and
/// counts its parameters.
pub struct Planner<'c> {
    catalog: &'c Catalog,
    /// Subqueries, referred to by index from expressions.
    pub subs: Vec<SubPlan>,
    next_param: usize,
    /// Highest parameter number seen.
    pub params: usize,
    derived: usize,
}

impl std::fmt::Debug for Planner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Planner({} subqueries)", self.subs.len())
    }
}

/// A source of FROM, before joining.
struct Source {
    node: Node,
    cols: Vec<ScopeCol>,
    /// Base table (for access-path choice).
    table: Option<Arc<Table>>,
    /// How it joins the sources before it.
    left_outer: bool,
    /// Its LEFT JOIN condition.
    on: Option<ast::Expr>,
    /// Inner join conditions attached to it (pooled with WHERE).
    inner_on: Vec<ast::Expr>,
}

/// The scope columns of a base table: its columns, then the hidden rowid.
fn table_cols(t: &Table, qual: String) -> Vec<ScopeCol> {
    let mut cols: Vec<ScopeCol> = t
        .columns
        .iter()
        .map(|c| ScopeCol {
            table: Some(qual.clone()),
            name: lower(&c.name),
            aff: Some(c.affinity),
            hidden: false,
            qualified_only: false,
            display: c.name.clone(),
        })
        .collect();
    cols.push(ScopeCol {
        table: Some(qual),
        name: "rowid".into(),
        aff: Some(Affinity::Integer),
        hidden: true,
        qualified_only: false,
        display: "rowid".into(),
    });
    cols
}

impl Scope<'static> {
    /// A scope with no columns (VALUES rows, defaults).
    pub fn empty() -> Scope<'static> {
        Scope::new(Vec::new(), None)
    }

    /// The scope of one table's rows (UPDATE and DELETE): its columns, then
    /// its rowid.
    pub fn of_table(t: &Table) -> Scope<'static> {
        Scope::new(table_cols(t, lower(&t.name)), None)
    }
}

fn conjuncts(e: &ast::Expr, out: &mut Vec<ast::Expr>) {
    if let ast::Expr::Binary { op: BinaryOp::And, left, right } = e {
        conjuncts(left, out);
        conjuncts(right, out);
    } else {
        out.push(e.clone());
    }
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// The output name of a result column.
fn column_name(e: &ast::Expr, alias: &Option<String>) -> String {
    if let Some(a) = alias {
        return a.clone();
    }
    match e {
        ast::Expr::Column { name, .. } => name.clone(),
        other => {
            let s = other.to_string();
            // Top-level parentheses added by the printer.
            if s.starts_with('(') && s.ends_with(')') && !matches!(other, ast::Expr::Subquery(_)) {
                s[1..s.len() - 1].to_string()
            } else {
                s
            }
        }
    }
}

impl<'c> Planner<'c> {
    /// A planner over `catalog`.
    pub fn new(catalog: &'c Catalog) -> Planner<'c> {
        Planner { catalog, subs: Vec::new(), next_param: 0, params: 0, derived: 0 }
    }

    /// Plan a query; `parent` is the enclosing query's scope (subqueries).
    #[recursive::recursive]
    pub fn plan_query(&mut self, q: &ast::Query, parent: Option<&Scope<'_>>) -> Result<QueryPlan> {
        if let ast::SetExpr::Select(sel) = &q.body {
            return self.plan_select(sel, &q.order_by, q.limit.as_ref(), q.offset.as_ref(), parent);
        }
        let body = self.plan_set(&q.body, parent)?;
        if q.order_by.is_empty() && q.limit.is_none() && q.offset.is_none() {
            return Ok(body);
        }
        // ORDER BY of a compound or VALUES: over its output columns.
        let cols: Vec<ScopeCol> =
            body.columns.iter().zip(&body.affinities).map(|(n, a)| ScopeCol::output(None, n, *a)).collect();
        let scope = Scope::new(cols, parent);
        let mut keys = Vec::new();
        for o in &q.order_by {
            let expr = match integer_term(&o.expr) {
                Some(k) => CExpr::Col { idx: self.ordinal(k, body.columns.len())?, aff: None },
                None => self.compile(&o.expr, &scope, None)?,
            };
            keys.push(SortKey { expr, desc: o.desc, nulls_first: o.nulls_first.unwrap_or(!o.desc) });
        }
        let mut root = body.root;
        if !keys.is_empty() {
            root = Node::Sort { input: Box::new(root), keys };
        }
        root = self.limit(root, q, &scope)?;
        let correlated = body.correlated || scope.correlated.get();
        Ok(QueryPlan { root, correlated, ..body })
    }

    fn ordinal(&self, k: i64, n: usize) -> Result<usize> {
        if k < 1 || k as usize > n {
            return Err(Error::Sql(format!("ORDER BY term out of range - should be between 1 and {n}")));
        }
        Ok(k as usize - 1)
    }

    fn limit(&mut self, root: Node, q: &ast::Query, scope: &Scope<'_>) -> Result<Node> {
        if q.limit.is_none() && q.offset.is_none() {
            return Ok(root);
        }
        let empty = Scope::new(Vec::new(), scope.parent);
        let limit = q.limit.as_ref().map(|e| self.compile(e, &empty, None)).transpose()?;
        let offset = q.offset.as_ref().map(|e| self.compile(e, &empty, None)).transpose()?;
        Ok(Node::Limit { input: Box::new(root), limit, offset })
    }

    fn plan_set(&mut self, body: &ast::SetExpr, parent: Option<&Scope<'_>>) -> Result<QueryPlan> {
        match body {
            ast::SetExpr::Select(sel) => self.plan_select(sel, &[], None, None, parent),
            ast::SetExpr::Query(q) => self.plan_query(q, parent),
            ast::SetExpr::Values(rows) => {
                let width = rows.first().map_or(0, Vec::len);
                let empty = Scope::new(Vec::new(), parent);
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    if r.len() != width {
                        return Err(Error::Sql("all VALUES must have the same number of terms".into()));
                    }
                    out.push(r.iter().map(|e| self.compile(e, &empty, None)).collect::<Result<Vec<_>>>()?);
                }
                Ok(QueryPlan {
                    root: Node::Values(out),
                    columns: (1..=width).map(|i| format!("column{i}")).collect(),
                    affinities: vec![None; width],
                    correlated: empty.correlated.get(),
                })
            }
            ast::SetExpr::Compound { op, left, right } => {
                let l = self.plan_set(left, parent)?;
                let r = self.plan_set(right, parent)?;
                if l.columns.len() != r.columns.len() {
                    return Err(Error::Sql(format!(
                        "SELECTs to the left and right of {} do not have the same number of result columns",
                        match op {
                            SetOp::Union => "UNION",
                            SetOp::UnionAll => "UNION ALL",
                            SetOp::Except => "EXCEPT",
                            SetOp::Intersect => "INTERSECT",
                        }
                    )));
                }
                Ok(QueryPlan {
                    root: Node::Compound { op: *op, left: Box::new(l.root), right: Box::new(r.root) },
                    columns: l.columns,
                    affinities: l.affinities,
                    correlated: l.correlated || r.correlated,
                })
            }
        }
    }

    /// A table, view or subquery of FROM as a source.
    #[recursive::recursive]
    fn source(&mut self, item: &ast::FromItem) -> Result<Vec<Source>> {
        match item {
            ast::FromItem::Table { name, alias } => {
                let qual = lower(alias.as_deref().unwrap_or(name));
                if let Some(t) = self.catalog.table(name) {
                    let cols = table_cols(t, qual);
                    let node = Node::Scan { table: t.clone(), access: Access::Full, desc: false, needed: None };
                    return Ok(vec![Source {
                        node,
                        cols,
                        table: Some(t.clone()),
                        left_outer: false,
                        on: None,
                        inner_on: Vec::new(),
                    }]);
                }
                if let Some(v) = self.catalog.view(name) {
                    let v = v.clone();
                    // A view's query sees no enclosing query.
                    let plan = self.plan_query(&v.query, None)?;
                    let names = if v.columns.is_empty() { plan.columns.clone() } else { v.columns.clone() };
                    if names.len() != plan.columns.len() {
                        return Err(Error::Sql(format!(
                            "view {} has {} columns but names {}",
                            v.name,
                            plan.columns.len(),
                            names.len()
                        )));
                    }
                    return Ok(vec![self.derived(plan, names, qual)]);
                }
                if name.eq_ignore_ascii_case(super::catalog::SCHEMA_TABLE) {
                    return Err(Error::NotSupported(format!("reading {} directly", super::catalog::SCHEMA_TABLE)));
                }
                Err(Error::Sql(format!("no such table: {name}")))
            }
            ast::FromItem::Subquery { query, alias } => {
                // Not LATERAL: a subquery in FROM sees no enclosing query.
                let plan = self.plan_query(query, None)?;
                let names = plan.columns.clone();
                let qual = alias.as_deref().map(lower).unwrap_or_default();
                Ok(vec![self.derived(plan, names, qual)])
            }
            ast::FromItem::Join { left, right, kind, on, using } => {
                let mut l = self.source(left)?;
                let mut r = self.source(right)?;
                let mut conds: Vec<ast::Expr> = Vec::new();
                if let Some(on) = on {
                    conds.push(on.clone());
                }
                for u in using {
                    let lt = l.iter().rev().find_map(|s| {
                        s.cols.iter().find(|c| c.name == lower(u) && !c.hidden).and_then(|c| c.table.clone())
                    });
                    let rt = r
                        .first()
                        .and_then(|s| s.cols.iter().find(|c| c.name == lower(u)).and_then(|c| c.table.clone()));
                    let (Some(lt), Some(rt)) = (lt, rt) else {
                        return Err(Error::Sql(format!(
                            "cannot join using column {u} - column not present in both tables"
                        )));
                    };
                    conds.push(ast::Expr::Binary {
                        op: BinaryOp::Eq,
                        left: Box::new(ast::Expr::Column { table: Some(lt), name: u.clone() }),
                        right: Box::new(ast::Expr::Column { table: Some(rt), name: u.clone() }),
                    });
                    for s in &mut r {
                        for c in &mut s.cols {
                            if c.name == lower(u) {
                                c.qualified_only = true;
                            }
                        }
                    }
                }
                if r.len() != 1 && *kind == JoinKind::Left {
                    return Err(Error::NotSupported("a LEFT JOIN whose right side is itself a join".into()));
                }
                let first = r.first_mut().ok_or_else(|| Error::Sql("empty join".into()))?;
                match kind {
                    JoinKind::Left => {
                        first.left_outer = true;
                        let mut all = Vec::new();
                        for c in conds {
                            conjuncts(&c, &mut all);
                        }
                        first.on = all.into_iter().reduce(|a, b| ast::Expr::Binary {
                            op: BinaryOp::And,
                            left: Box::new(a),
                            right: Box::new(b),
                        });
                    }
                    JoinKind::Inner | JoinKind::Cross => first.inner_on.extend(conds),
                }
                l.extend(r);
                Ok(l)
            }
        }
    }

    fn derived(&mut self, plan: QueryPlan, names: Vec<String>, qual: String) -> Source {
        let cols = names
            .iter()
            .zip(&plan.affinities)
            .map(|(n, a)| ScopeCol::output((!qual.is_empty()).then(|| qual.clone()), n, *a))
            .collect();
        self.derived += 1;
        Source {
            node: Node::Derived { id: self.derived, plan: Box::new(plan) },
            cols,
            table: None,
            left_outer: false,
            on: None,
            inner_on: Vec::new(),
        }
    }

    /// Plan one SELECT with its ORDER BY and LIMIT.
    fn plan_select(
        &mut self,
        sel: &ast::Select,
        order_by: &[ast::OrderItem],
        limit: Option<&ast::Expr>,
        offset: Option<&ast::Expr>,
        parent: Option<&Scope<'_>>,
    ) -> Result<QueryPlan> {
        // FROM: sources in order, each with its columns.
        let mut sources: Vec<Source> = Vec::new();
        for item in &sel.from {
            sources.extend(self.source(item)?);
        }
        let mut offsets = Vec::with_capacity(sources.len());
        let mut cols = Vec::new();
        for s in &sources {
            offsets.push(cols.len());
            cols.extend(s.cols.iter().cloned());
        }
        let mut scope = Scope::new(cols, parent);
        scope.aliases = sel
            .items
            .iter()
            .filter_map(|i| match i {
                ast::SelectItem::Expr { expr, alias: Some(a) } => Some((lower(a), expr.clone())),
                _ => None,
            })
            .collect();

        // Conditions: WHERE and inner-join ON, as conjuncts.
        let mut pool: Vec<ast::Expr> = Vec::new();
        if let Some(w) = &sel.filter {
            conjuncts(w, &mut pool);
        }
        for s in &sources {
            for c in &s.inner_on {
                conjuncts(c, &mut pool);
            }
        }
        let mut compiled: Vec<(CExpr, usize)> = Vec::new();
        for c in &pool {
            scope.read_by_subquery.set(None);
            let e = self.compile(c, &scope, None)?;
            // The join level that makes every column it reads available,
            // itself or through a correlated subquery.
            let sub_read = scope.read_by_subquery.get();
            let level = (0..sources.len())
                .rev()
                .find(|&i| e.reads_from(offsets[i]) || sub_read.is_some_and(|m| m >= offsets[i]))
                .unwrap_or(0);
            compiled.push((e, level));
        }
        // Conditions that read a LEFT JOIN's right side, or later sources,
        // must wait until after that join.
        let mut root: Option<Node> = None;
        let mut width = 0;
        for (i, s) in sources.into_iter().enumerate() {
            let mut node = s.node;
            let on = if s.left_outer {
                let on = s.on.as_ref().map(|e| self.compile(e, &scope, None)).transpose()?;
                if let (Some(t), Some(on)) = (&s.table, &on) {
                    let mut parts = Vec::new();
                    split_c(on, &mut parts);
                    node = Node::Scan {
                        table: t.clone(),
                        access: choose_access(t, self.catalog, &parts, offsets[i]),
                        desc: false,
                        needed: None,
                    };
                }
                on
            } else {
                let here: Vec<CExpr> = compiled.iter().filter(|(_, l)| *l == i).map(|(e, _)| e.clone()).collect();
                if let Some(t) = &s.table {
                    node = Node::Scan {
                        table: t.clone(),
                        access: choose_access(t, self.catalog, &here, offsets[i]),
                        desc: false,
                        needed: None,
                    };
                }
                here.into_iter().reduce(|a, b| CExpr::Binary(BinaryOp::And, Box::new(a), Box::new(b)))
            };
            let w = s.cols.len();
            root = Some(match root {
                None => match on {
                    Some(pred) if !s.left_outer => Node::Filter { input: Box::new(node), pred },
                    _ => node,
                },
                Some(left) => {
                    let joined = Node::Join {
                        left: Box::new(left),
                        right: Box::new(node),
                        left_outer: s.left_outer,
                        on: if s.left_outer { on.clone() } else { on },
                        right_width: w,
                    };
                    if s.left_outer {
                        // WHERE conditions on this level apply after the join.
                        let after: Vec<CExpr> =
                            compiled.iter().filter(|(_, l)| *l == i).map(|(e, _)| e.clone()).collect();
                        match after.into_iter().reduce(|a, b| CExpr::Binary(BinaryOp::And, Box::new(a), Box::new(b))) {
                            Some(pred) => Node::Filter { input: Box::new(joined), pred },
                            None => joined,
                        }
                    } else {
                        joined
                    }
                }
            });
            width += w;
            // A left-outer first source cannot happen; conditions for level
            // 0 of an inner first source were applied as a filter.
            let _ = i;
        }
        let from = match root {
            Some(r) => r,
            // No FROM: every condition filters the single row.
            None => match compiled
                .into_iter()
                .map(|(e, _)| e)
                .reduce(|a, b| CExpr::Binary(BinaryOp::And, Box::new(a), Box::new(b)))
            {
                Some(pred) => Node::Filter { input: Box::new(Node::One), pred },
                None => Node::One,
            },
        };
        let input_width = width;

        // Aggregation?
        let has_agg = sel.items.iter().any(|i| matches!(i, ast::SelectItem::Expr { expr, .. } if contains_agg(expr)))
            || sel.having.as_ref().is_some_and(contains_agg)
            || order_by.iter().any(|o| contains_agg(&o.expr));
        let aggregating = has_agg || !sel.group_by.is_empty();
        if sel.filter.as_ref().is_some_and(contains_agg) {
            return Err(Error::Sql("misuse of aggregate function in WHERE".into()));
        }

        let mut group: Vec<CExpr> = Vec::new();
        for g in &sel.group_by {
            let e = match integer_term(g) {
                Some(k) => {
                    let items = self.expand_items(&sel.items, &scope)?;
                    let (e, _) = items.get(usize::try_from(k).unwrap_or(0).wrapping_sub(1)).ok_or_else(|| {
                        Error::Sql(format!("GROUP BY term out of range - should be between 1 and {}", items.len()))
                    })?;
                    self.compile(e, &scope, None)?
                }
                None => self.compile(g, &scope, None)?,
            };
            group.push(e);
        }
        let mut aggs: Vec<AggSpec> = Vec::new();
        let base = input_width + group.len();
        let group_subst: Vec<(CExpr, usize)> =
            group.iter().enumerate().map(|(i, g)| (g.clone(), input_width + i)).collect();

        // Result columns.
        let items = self.expand_items(&sel.items, &scope)?;
        let mut exprs = Vec::with_capacity(items.len());
        let mut names = Vec::with_capacity(items.len());
        let mut affs = Vec::with_capacity(items.len());
        for (e, alias) in &items {
            let c = if aggregating {
                let c = self.compile(e, &scope, Some(&mut AggMode { aggs: &mut aggs, base }))?;
                c.substitute(&group_subst)
            } else {
                self.compile(e, &scope, None)?
            };
            names.push(match (e, alias) {
                (ast::Expr::Column { name, table }, None) => {
                    scope.resolve(table.as_deref(), name)?.map_or(name.clone(), |(d, i, _)| {
                        if d == 0 { scope.cols[i].display.clone() } else { name.clone() }
                    })
                }
                _ => column_name(e, alias),
            });
            // sqlite3ExprAffinity: a column's (also an enclosing query's),
            // a CAST's, a scalar subquery's.
            affs.push(c.affinity());
            exprs.push(c);
        }
        let n = exprs.len();
        let having = match &sel.having {
            Some(h) if aggregating => {
                Some(self.compile(h, &scope, Some(&mut AggMode { aggs: &mut aggs, base }))?.substitute(&group_subst))
            }
            Some(_) => return Err(Error::Sql("a GROUP BY clause is required before HAVING".into())),
            None => None,
        };

        // ORDER BY terms: ordinals, result aliases, or expressions.
        let mut keys = Vec::new();
        let mut hidden: Vec<CExpr> = Vec::new();
        for o in order_by {
            let idx = match (integer_term(&o.expr), &o.expr) {
                (Some(k), _) => self.ordinal(k, n)?,
                (None, e) => {
                    let by_alias = match e {
                        ast::Expr::Column { table: None, name } => {
                            items.iter().position(|(_, a)| a.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(name)))
                        }
                        _ => None,
                    };
                    match by_alias {
                        Some(i) => i,
                        None => {
                            let c = if aggregating {
                                self.compile(e, &scope, Some(&mut AggMode { aggs: &mut aggs, base }))?
                                    .substitute(&group_subst)
                            } else {
                                self.compile(e, &scope, None)?
                            };
                            match exprs.iter().position(|x| *x == c) {
                                Some(i) => i,
                                None => {
                                    hidden.push(c);
                                    n + hidden.len() - 1
                                }
                            }
                        }
                    }
                }
            };
            keys.push(SortKey {
                expr: CExpr::Col { idx, aff: None },
                desc: o.desc,
                nulls_first: o.nulls_first.unwrap_or(!o.desc),
            });
        }

        let mut root = from;
        if aggregating {
            root = Node::Aggregate { input: Box::new(root), group, aggs, input_width };
            if let Some(h) = having {
                root = Node::Filter { input: Box::new(root), pred: h };
            }
        }
        // An ORDER BY the scan order already gives needs no sort.
        let ordered = !keys.is_empty()
            && !aggregating
            && !sel.distinct
            && try_ordered_scan(&mut root, &exprs, &hidden, &keys, self.catalog);
        let sort_needed = !keys.is_empty() && !ordered;
        let mut all = exprs;
        all.extend(hidden.iter().cloned());
        root = Node::Project { input: Box::new(root), exprs: all };
        if sel.distinct {
            root = Node::Distinct { input: Box::new(root), width: n };
        }
        if sort_needed {
            root = Node::Sort { input: Box::new(root), keys };
        }
        let q = ast::Query {
            body: ast::SetExpr::Values(Vec::new()),
            order_by: Vec::new(),
            limit: limit.cloned(),
            offset: offset.cloned(),
        };
        root = self.limit(root, &q, &scope)?;
        if !hidden.is_empty() {
            root = Node::Trim { input: Box::new(root), width: n };
        }
        Ok(QueryPlan { root, columns: names, affinities: affs, correlated: scope.correlated.get() })
    }

    /// The result columns with `*` and `t.*` expanded: (expression, alias).
    fn expand_items(&self, items: &[ast::SelectItem], scope: &Scope<'_>) -> Result<Vec<(ast::Expr, Option<String>)>> {
        let mut out = Vec::new();
        for item in items {
            match item {
                ast::SelectItem::Expr { expr, alias } => out.push((expr.clone(), alias.clone())),
                ast::SelectItem::Wildcard => {
                    if scope.cols.is_empty() {
                        return Err(Error::Sql("no tables specified".into()));
                    }
                    for c in scope.cols.iter().filter(|c| !c.hidden && !c.qualified_only) {
                        out.push((ast::Expr::Column { table: c.table.clone(), name: c.display.clone() }, None));
                    }
                }
                ast::SelectItem::QualifiedWildcard(t) => {
                    let t = lower(t);
                    let before = out.len();
                    for c in scope.cols.iter().filter(|c| !c.hidden && c.table.as_deref() == Some(t.as_str())) {
                        out.push((ast::Expr::Column { table: c.table.clone(), name: c.display.clone() }, None));
                    }
                    if out.len() == before {
                        return Err(Error::Sql(format!("no such table: {t}")));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Compile an expression in `scope`. With `agg`, aggregate calls become
    /// references to the aggregate operator's results.
    #[recursive::recursive]
    fn compile(&mut self, e: &ast::Expr, scope: &Scope<'_>, mut agg: Option<&mut AggMode<'_>>) -> Result<CExpr> {
        let rec = |p: &mut Planner<'c>, x: &ast::Expr, agg: &mut Option<&mut AggMode<'_>>| -> Result<Box<CExpr>> {
            Ok(Box::new(p.compile(x, scope, agg.as_deref_mut())?))
        };
        Ok(match e {
            ast::Expr::Literal(v) => CExpr::Const(v.clone()),
            ast::Expr::Param(n) => {
                let i = match n {
                    Some(n) => *n,
                    None => {
                        self.next_param += 1;
                        self.next_param
                    }
                };
                self.next_param = self.next_param.max(i);
                self.params = self.params.max(i);
                CExpr::Param(i - 1)
            }
            ast::Expr::Column { table, name } => match scope.resolve(table.as_deref(), name)? {
                Some((0, idx, aff)) => CExpr::Col { idx, aff },
                Some((depth, idx, aff)) => CExpr::Outer { depth, idx, aff },
                None => {
                    // SQLite lets WHERE, GROUP BY and HAVING use result aliases.
                    // An alias met again while its own expression is being
                    // compiled (`SELECT c + 1 AS c`, `SELECT a AS b, b AS a`)
                    // names no column: expanding it would never end.
                    let key = lower(name);
                    if table.is_none()
                        && !scope.expanding.borrow().contains(&key)
                        && let Some((_, aliased)) = scope.aliases.iter().find(|(a, _)| *a == key)
                        && !matches!(aliased, ast::Expr::Column { name: n, .. } if n.eq_ignore_ascii_case(name))
                    {
                        let aliased = aliased.clone();
                        scope.expanding.borrow_mut().push(key);
                        let compiled = self.compile(&aliased, scope, agg);
                        scope.expanding.borrow_mut().pop();
                        return compiled;
                    }
                    // A double-quoted string that names no column is a
                    // string literal in SQLite; waldb keeps names strict.
                    let full = match table {
                        Some(t) => format!("{t}.{name}"),
                        None => name.clone(),
                    };
                    return Err(Error::Sql(format!("no such column: {full}")));
                }
            },
            ast::Expr::Unary { op, expr } => CExpr::Unary(*op, rec(self, expr, &mut agg)?),
            ast::Expr::Binary { op, left, right } => {
                CExpr::Binary(*op, rec(self, left, &mut agg)?, rec(self, right, &mut agg)?)
            }
            ast::Expr::IsNull { expr, negated } => CExpr::IsNull(rec(self, expr, &mut agg)?, *negated),
            ast::Expr::Between { expr, low, high, negated } => CExpr::Between(
                rec(self, expr, &mut agg)?,
                rec(self, low, &mut agg)?,
                rec(self, high, &mut agg)?,
                *negated,
            ),
            ast::Expr::InList { expr, list, negated } => {
                let e = rec(self, expr, &mut agg)?;
                let l = list.iter().map(|x| self.compile(x, scope, agg.as_deref_mut())).collect::<Result<Vec<_>>>()?;
                CExpr::InList(e, l, *negated)
            }
            ast::Expr::InSubquery { expr, query, negated } => {
                let e = rec(self, expr, &mut agg)?;
                let id = self.subquery(query, scope)?;
                if self.subs[id].plan.columns.len() != 1 {
                    return Err(Error::Sql(format!(
                        "sub-select returns {} columns - expected 1",
                        self.subs[id].plan.columns.len()
                    )));
                }
                CExpr::InSub(e, id, *negated)
            }
            ast::Expr::Exists { query, negated } => CExpr::Exists(self.subquery(query, scope)?, *negated),
            ast::Expr::Subquery(q) => {
                let id = self.subquery(q, scope)?;
                if self.subs[id].plan.columns.len() != 1 {
                    return Err(Error::Sql(format!(
                        "sub-select returns {} columns - expected 1",
                        self.subs[id].plan.columns.len()
                    )));
                }
                // A scalar subquery has its column's affinity (SQLite).
                CExpr::ScalarSub(id, self.subs[id].plan.affinities.first().copied().flatten())
            }
            ast::Expr::Like { expr, pattern, escape, negated, glob } => CExpr::Like(
                rec(self, expr, &mut agg)?,
                rec(self, pattern, &mut agg)?,
                escape.as_ref().map(|x| rec(self, x, &mut agg)).transpose()?,
                *negated,
                *glob,
            ),
            ast::Expr::Case { operand, whens, else_result } => {
                let o = operand.as_ref().map(|x| rec(self, x, &mut agg)).transpose()?;
                let mut w = Vec::with_capacity(whens.len());
                for (a, b) in whens {
                    w.push((self.compile(a, scope, agg.as_deref_mut())?, self.compile(b, scope, agg.as_deref_mut())?));
                }
                let el = else_result.as_ref().map(|x| rec(self, x, &mut agg)).transpose()?;
                CExpr::Case(o, w, el)
            }
            ast::Expr::Cast { expr, type_name } => CExpr::Cast(rec(self, expr, &mut agg)?, type_name.clone()),
            ast::Expr::Function { name, args, distinct, star } => {
                let agg_f = func::aggregate(name, args.len(), *star);
                let is_agg = agg_f.is_some() && !(matches!(name.as_str(), "min" | "max") && args.len() != 1);
                if is_agg {
                    let f = agg_f.ok_or_else(|| Error::Sql(format!("no such function: {name}")))?;
                    let Some(mode) = agg.as_deref_mut() else {
                        return Err(Error::Sql(format!("misuse of aggregate function {name}()")));
                    };
                    if *distinct && args.len() != 1 {
                        return Err(Error::Sql("DISTINCT aggregates must have exactly one argument".into()));
                    }
                    let cargs = args.iter().map(|x| self.compile(x, scope, None)).collect::<Result<Vec<_>>>()?;
                    let spec = AggSpec { func: f, args: cargs, distinct: *distinct };
                    let k = match mode.aggs.iter().position(|a| *a == spec) {
                        Some(k) => k,
                        None => {
                            mode.aggs.push(spec);
                            mode.aggs.len() - 1
                        }
                    };
                    return Ok(CExpr::Col { idx: mode.base + k, aff: None });
                }
                if *star {
                    return Err(Error::Sql(format!("wrong number of arguments to function {name}()")));
                }
                if *distinct {
                    return Err(Error::Sql(format!("DISTINCT in a call of the non-aggregate function {name}()")));
                }
                let f = func::scalar(name, args.len())?;
                let cargs =
                    args.iter().map(|x| self.compile(x, scope, agg.as_deref_mut())).collect::<Result<Vec<_>>>()?;
                CExpr::Func(f, cargs)
            }
        })
    }

    /// Compile an expression (no aggregates) in `scope`.
    pub fn compile_expr(&mut self, e: &ast::Expr, scope: &Scope<'_>) -> Result<CExpr> {
        if contains_agg(e) {
            return Err(Error::Sql("misuse of aggregate function".into()));
        }
        self.compile(e, scope, None)
    }

    /// The rows of `t` for which `filter` holds, each its columns then its
    /// rowid, read through the best access path (UPDATE and DELETE).
    pub fn plan_table_rows(&mut self, t: &Arc<Table>, scope: &Scope<'_>, filter: Option<&ast::Expr>) -> Result<Node> {
        let mut conds = Vec::new();
        if let Some(f) = filter {
            let mut parts = Vec::new();
            conjuncts(f, &mut parts);
            for p in &parts {
                conds.push(self.compile_expr(p, scope)?);
            }
        }
        let scan = Node::Scan {
            table: t.clone(),
            access: choose_access(t, self.catalog, &conds, 0),
            desc: false,
            needed: None,
        };
        Ok(match conds.into_iter().reduce(|a, b| CExpr::Binary(BinaryOp::And, Box::new(a), Box::new(b))) {
            Some(pred) => Node::Filter { input: Box::new(scan), pred },
            None => scan,
        })
    }

    fn subquery(&mut self, q: &ast::Query, scope: &Scope<'_>) -> Result<usize> {
        let plan = self.plan_query(q, Some(scope))?;
        let correlated = plan.correlated;
        self.subs.push(SubPlan { plan, correlated });
        Ok(self.subs.len() - 1)
    }
}

fn split_c(e: &CExpr, out: &mut Vec<CExpr>) {
    if let CExpr::Binary(BinaryOp::And, a, b) = e {
        split_c(a, out);
        split_c(b, out);
    } else {
        out.push(e.clone());
    }
}

/// Whether an expression holds an aggregate call (not inside a subquery).
/// The column number an ORDER BY or GROUP BY term names: an integer
/// literal, under any unary `+` and `-` (SQLite's `sqlite3ExprIsInteger`,
/// so `ORDER BY -(-2)` is the second column and `ORDER BY -1` an error).
/// Only literals that fit in 32 bits count: `ORDER BY 2147483648` orders
/// by a constant.
fn integer_term(e: &ast::Expr) -> Option<i64> {
    match e {
        // A folded `-k` counts when `k` does.
        ast::Expr::Literal(Value::Integer(k)) => Some(*k).filter(|k| k.unsigned_abs() <= i32::MAX as u64),
        ast::Expr::Unary { op: ast::UnaryOp::Plus, expr } => integer_term(expr),
        ast::Expr::Unary { op: ast::UnaryOp::Neg, expr } => integer_term(expr)?.checked_neg(),
        _ => None,
    }
}

fn contains_agg(e: &ast::Expr) -> bool {
    use ast::Expr::*;
    match e {
        Function { name, args, star, .. } => {
            (func::aggregate(name, args.len(), *star).is_some()
                && !(matches!(name.as_str(), "min" | "max") && args.len() != 1))
                || args.iter().any(contains_agg)
        }
        Unary { expr, .. } | IsNull { expr, .. } | Cast { expr, .. } | InSubquery { expr, .. } => contains_agg(expr),
        Binary { left, right, .. } => contains_agg(left) || contains_agg(right),
        Between { expr, low, high, .. } => contains_agg(expr) || contains_agg(low) || contains_agg(high),
        InList { expr, list, .. } => contains_agg(expr) || list.iter().any(contains_agg),
        Like { expr, pattern, escape, .. } => {
            contains_agg(expr) || contains_agg(pattern) || escape.as_deref().is_some_and(contains_agg)
        }
        Case { operand, whens, else_result } => {
            operand.as_deref().is_some_and(contains_agg)
                || whens.iter().any(|(a, b)| contains_agg(a) || contains_agg(b))
                || else_result.as_deref().is_some_and(contains_agg)
        }
        _ => false,
    }
}

/// The column of table source at `offset` that `e` is (or `None`).
fn source_column(e: &CExpr, offset: usize, width: usize) -> Option<usize> {
    match e {
        CExpr::Col { idx, .. } if *idx >= offset && *idx < offset + width => Some(idx - offset),
        _ => None,
    }
}

/// Whether `e` can be evaluated before the source at `offset` is read:
/// constants, parameters, outer rows and earlier sources only.
fn independent(e: &CExpr, offset: usize) -> bool {
    let mut ok = true;
    e.walk(&mut |x| match x {
        CExpr::Col { idx, .. } if *idx >= offset => ok = false,
        CExpr::ScalarSub(..) | CExpr::InSub(..) | CExpr::Exists(..) => ok = false,
        _ => {}
    });
    ok
}

/// A condition `column op value` on the source at `offset`.
struct Term {
    col: usize,
    op: BinaryOp,
    value: CExpr,
}

fn terms(conds: &[CExpr], offset: usize, width: usize) -> (Vec<Term>, Vec<(usize, Vec<CExpr>)>) {
    let mut out = Vec::new();
    let mut ins = Vec::new();
    let flip = |op: BinaryOp| match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::LtEq => BinaryOp::GtEq,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::GtEq => BinaryOp::LtEq,
        other => other,
    };
    for c in conds {
        match c {
            CExpr::Binary(
                op @ (BinaryOp::Eq | BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq),
                a,
                b,
            ) => {
                if let Some(col) = source_column(a, offset, width)
                    && independent(b, offset)
                {
                    out.push(Term { col, op: *op, value: (**b).clone() });
                } else if let Some(col) = source_column(b, offset, width)
                    && independent(a, offset)
                {
                    out.push(Term { col, op: flip(*op), value: (**a).clone() });
                }
            }
            CExpr::Between(e, lo, hi, false) => {
                if let Some(col) = source_column(e, offset, width)
                    && independent(lo, offset)
                    && independent(hi, offset)
                {
                    out.push(Term { col, op: BinaryOp::GtEq, value: (**lo).clone() });
                    out.push(Term { col, op: BinaryOp::LtEq, value: (**hi).clone() });
                }
            }
            CExpr::InList(e, list, false) => {
                if let Some(col) = source_column(e, offset, width)
                    && list.iter().all(|x| independent(x, offset))
                {
                    ins.push((col, list.clone()));
                }
            }
            _ => {}
        }
    }
    (out, ins)
}

fn range_of(terms: &[&Term]) -> (Option<RangeBound>, Option<RangeBound>) {
    let mut lo = None;
    let mut hi = None;
    for t in terms {
        match t.op {
            BinaryOp::Gt | BinaryOp::GtEq if lo.is_none() => {
                lo = Some(RangeBound { expr: t.value.clone(), inclusive: t.op == BinaryOp::GtEq })
            }
            BinaryOp::Lt | BinaryOp::LtEq if hi.is_none() => {
                hi = Some(RangeBound { expr: t.value.clone(), inclusive: t.op == BinaryOp::LtEq })
            }
            _ => {}
        }
    }
    (lo, hi)
}

/// Choose how to read table `t` (at `offset` in the row) given the
/// conditions that apply to it.
fn choose_access(t: &Table, catalog: &Catalog, conds: &[CExpr], offset: usize) -> Access {
    let width = t.columns.len() + 1;
    let (terms, ins) = terms(conds, offset, width);
    let rowid_cols: Vec<usize> = std::iter::once(t.columns.len()).chain(t.rowid_alias).collect();
    // 1. The rowid.
    if let Some(eq) = terms.iter().find(|x| x.op == BinaryOp::Eq && rowid_cols.contains(&x.col)) {
        return Access::RowidEq(eq.value.clone());
    }
    if let Some((_, list)) = ins.iter().find(|(c, _)| rowid_cols.contains(c)) {
        return Access::RowidIn(list.clone());
    }
    // 2. An index: the longest equality prefix, then a range or IN.
    let mut best: Option<(usize, Access)> = None;
    for idx in catalog.indexes_of(t) {
        let mut eq = Vec::new();
        for &c in &idx.columns {
            match terms.iter().find(|x| x.op == BinaryOp::Eq && x.col == c) {
                Some(term) => eq.push(term.value.clone()),
                None => break,
            }
        }
        let next = idx.columns.get(eq.len()).copied();
        let rng: Vec<&Term> = terms.iter().filter(|x| Some(x.col) == next && x.op != BinaryOp::Eq).collect();
        let (lo, hi) = range_of(&rng);
        let score = eq.len() * 4 + usize::from(lo.is_some()) + usize::from(hi.is_some());
        let access = if eq.is_empty() && lo.is_none() && hi.is_none() {
            match ins.iter().find(|(c, _)| Some(*c) == idx.columns.first().copied()) {
                Some((_, list)) => (3, Access::IndexIn { index: idx.clone(), values: list.clone() }),
                None => continue,
            }
        } else {
            (score, Access::Index { index: idx.clone(), eq, lo, hi })
        };
        if best.as_ref().is_none_or(|(s, _)| access.0 > *s) {
            best = Some(access);
        }
    }
    if let Some((_, a)) = best {
        return a;
    }
    // 3. A rowid range.
    let rng: Vec<&Term> = terms.iter().filter(|x| rowid_cols.contains(&x.col) && x.op != BinaryOp::Eq).collect();
    let (lo, hi) = range_of(&rng);
    if lo.is_some() || hi.is_some() {
        return Access::RowidRange(lo, hi);
    }
    Access::Full
}

/// Let the one table scan of a simple query skip decoding the columns the
/// query never reads (a scan's rows are otherwise decoded whole, long text
/// included). Applies only where every use of the scan's row is visible as
/// an expression: a chain of single-input operators over one scan, with a
/// projection above any aggregate and the scan, and no subqueries (whose
/// `Outer` references would read the row from elsewhere). Anything else is
/// left reading every column.
pub fn prune_scan_columns(plan: &mut QueryPlan, has_subqueries: bool) {
    if has_subqueries {
        return;
    }
    let mut used: Vec<usize> = Vec::new();
    let note = |e: &CExpr, used: &mut Vec<usize>| {
        e.walk(&mut |x| {
            if let CExpr::Col { idx, .. } = x {
                used.push(*idx);
            }
        })
    };
    let mut projected = false;
    let mut node = &mut plan.root;
    loop {
        node = match node {
            Node::Filter { input, pred } => {
                note(pred, &mut used);
                input
            }
            Node::Project { input, exprs } => {
                exprs.iter().for_each(|e| note(e, &mut used));
                projected = true;
                input
            }
            Node::Aggregate { input, group, aggs, .. } if projected => {
                group.iter().for_each(|e| note(e, &mut used));
                aggs.iter().flat_map(|a| &a.args).for_each(|e| note(e, &mut used));
                input
            }
            Node::Sort { input, keys } => {
                keys.iter().for_each(|k| note(&k.expr, &mut used));
                input
            }
            Node::Limit { input, limit, offset } => {
                limit.iter().chain(offset.iter()).for_each(|e| note(e, &mut used));
                input
            }
            Node::Distinct { input, width } | Node::Trim { input, width } => {
                used.extend(0..*width);
                input
            }
            Node::Scan { table, needed, .. } if projected => {
                let mut mask = vec![false; table.columns.len()];
                for &i in &used {
                    if let Some(m) = mask.get_mut(i) {
                        *m = true;
                    }
                }
                *needed = Some(mask);
                return;
            }
            _ => return,
        };
    }
}

/// If `root` is a single-table scan (maybe under a filter) whose order
/// already is the ORDER BY's, set its direction and return true.
fn try_ordered_scan(root: &mut Node, exprs: &[CExpr], hidden: &[CExpr], keys: &[SortKey], catalog: &Catalog) -> bool {
    let scan = match root {
        Node::Scan { .. } => root,
        Node::Filter { input, .. } if matches!(**input, Node::Scan { .. }) => input.as_mut(),
        _ => return false,
    };
    let Node::Scan { table, access, desc, .. } = scan else { return false };
    let desc_all = keys.iter().all(|k| k.desc);
    if !(desc_all || keys.iter().all(|k| !k.desc)) || keys.iter().any(|k| k.nulls_first == k.desc) {
        return false;
    }
    // The table columns the keys name.
    let mut cols = Vec::new();
    for k in keys {
        let CExpr::Col { idx, .. } = k.expr else { return false };
        let e = exprs.get(idx).or_else(|| hidden.get(idx - exprs.len()));
        match e {
            Some(CExpr::Col { idx: c, .. }) if *c <= table.columns.len() => cols.push(*c),
            _ => return false,
        }
    }
    let rowid = table.columns.len();
    let is_rowid = |c: &usize| *c == rowid || Some(*c) == table.rowid_alias;
    if cols.len() == 1 && is_rowid(&cols[0]) && matches!(access, Access::Full | Access::RowidRange(..)) {
        *desc = desc_all;
        return true;
    }
    // An index whose leading columns are the keys.
    let matches_index = |idx: &Index| idx.columns.len() >= cols.len() && idx.columns[..cols.len()] == cols[..];
    match access {
        Access::Full => {
            if let Some(idx) = catalog.indexes_of(table).into_iter().find(|i| matches_index(i)) {
                *access = Access::Index { index: idx, eq: Vec::new(), lo: None, hi: None };
                *desc = desc_all;
                return true;
            }
            false
        }
        Access::Index { index, eq, .. } if eq.is_empty() && matches_index(index) => {
            *desc = desc_all;
            true
        }
        _ => false,
    }
}
