//! Common table expressions: the `WITH` names in scope while a query is
//! planned, and the plans of their references.
//!
//! A `WITH` clause's names are pushed when its query is planned and popped
//! after; a name in FROM is looked up among them (innermost first) before
//! the catalog, so a CTE hides a table or view of its name. As in SQLite,
//! each CTE sees the other CTEs of its `WITH` clause, before or after it
//! (not itself, unless recursive: a cycle is an error, "circular reference"),
//! and those of enclosing queries; a view's query sees none of the
//! statement's CTEs.
//!
//! An ordinary CTE is planned like a view at every reference (`AS [NOT]
//! MATERIALIZED` is a hint and changes nothing): a [`Node::Derived`],
//! computed once per statement.
//!
//! A CTE whose query is `initial UNION [ALL] recursive` and whose last
//! SELECT reads its own name is recursive ([`RecursivePlan`]), with SQLite's
//! rules: the name is read exactly once, in that SELECT's FROM, not in a
//! subquery, and not in the initial SELECT. It is streamed, so an outer
//! `LIMIT` stops it (`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT
//! x + 1 FROM c) SELECT x FROM c LIMIT 10` ends). SQLite lets a recursion
//! that never ends run forever; waldb stops it with an error once the CTE
//! has queued [`MAX_RECURSIVE_ROWS`] rows, so a runaway query neither hangs
//! nor exhausts memory.

use super::*;

/// The most rows a recursive common table expression may queue (its
/// initial rows and every row its recursive SELECT produces) before the
/// statement fails: large enough for real hierarchies and series, small
/// enough that the queue stays within memory.
pub const MAX_RECURSIVE_ROWS: u64 = 1_000_000;

/// A name a `WITH` clause put in scope.
#[derive(Clone, Debug)]
pub(super) struct CteEntry {
    /// Lower-cased.
    name: String,
    /// The `WITH` clause it belongs to (its CTEs see one another).
    group: usize,
    def: CteDef,
}

#[derive(Clone, Debug)]
enum CteDef {
    /// A CTE as written.
    Query(Box<ast::Cte>),
    /// A CTE whose own reference is being planned: reading it again is a
    /// circular reference (a recursive CTE's own name is the
    /// [`CteDef::Working`] entry pushed after it).
    Busy,
    /// A recursive CTE's own name inside its recursive SELECT.
    Working {
        /// The working table's slot.
        id: usize,
        /// Its columns: names and affinities.
        cols: Vec<(String, Option<Affinity>)>,
        /// The query depth of the recursive SELECT.
        depth: usize,
        /// References so far.
        refs: usize,
    },
}

impl Planner<'_> {
    /// Put the CTEs of `with` in scope (the caller truncates them away).
    pub(super) fn push_with(&mut self, with: &ast::With) -> Result<()> {
        let start = self.ctes.len();
        self.derived += 1;
        let group = self.derived;
        for cte in &with.ctes {
            let name = lower(&cte.name);
            if self.ctes.get(start..).unwrap_or_default().iter().any(|e| e.name == name) {
                return Err(Error::Sql(format!("duplicate WITH table name: {}", cte.name)));
            }
            self.ctes.push(CteEntry { name, group, def: CteDef::Query(Box::new(cte.clone())) });
        }
        Ok(())
    }

    /// Run `f` with the CTEs of `with` (if any) in scope: an UPDATE's or
    /// DELETE's `WITH`, read by its expressions' subqueries.
    pub fn with_ctes<T>(&mut self, with: Option<&ast::With>, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let saved = self.ctes.len();
        let out = match with {
            Some(with) => self.push_with(with).and_then(|()| f(self)),
            None => f(self),
        };
        self.ctes.truncate(saved);
        out
    }

    /// The source a FROM name refers to, if it names a CTE in scope.
    pub(super) fn cte_source(&mut self, name: &str, qual: &str) -> Result<Option<Source>> {
        let key = lower(name);
        let Some(i) = self.ctes.iter().rposition(|e| e.name == key) else {
            return Ok(None);
        };
        let depth = self.query_depth;
        let def = match self.ctes.get_mut(i) {
            Some(CteEntry { def: CteDef::Working { id, cols, depth: d, refs }, .. }) => {
                if *d != depth {
                    return Err(Error::Sql(format!("recursive reference in a subquery: {name}")));
                }
                *refs += 1;
                if *refs > 1 {
                    return Err(Error::Sql(format!("multiple references to recursive table: {name}")));
                }
                let cols = cols.iter().map(|(c, a)| ScopeCol::output(Some(qual.to_string()), c, *a)).collect();
                return Ok(Some(plain_source(Node::Working { id: *id }, cols)));
            }
            Some(e @ CteEntry { def: CteDef::Query(_), .. }) => {
                let group = e.group;
                match std::mem::replace(&mut e.def, CteDef::Busy) {
                    CteDef::Query(cte) => (group, cte),
                    other => {
                        e.def = other;
                        return Ok(None);
                    }
                }
            }
            Some(CteEntry { def: CteDef::Busy, .. }) => {
                return Err(Error::Sql(format!("circular reference: {name}")));
            }
            None => return Ok(None),
        };
        let (group, cte) = def;
        // The CTE sees its own WITH clause (but not itself) and the
        // enclosing ones, not the WITH clauses of queries inside.
        let end = self.ctes.iter().rposition(|e| e.group == group).map_or(self.ctes.len(), |j| j + 1);
        let inner = self.ctes.split_off(end);
        let source = self.plan_cte(&cte, qual);
        self.ctes.extend(inner);
        if let Some(e) = self.ctes.get_mut(i) {
            e.def = CteDef::Query(cte);
        }
        source.map(Some)
    }

    /// A reference to `cte`, with the CTEs before it in scope.
    fn plan_cte(&mut self, cte: &ast::Cte, qual: &str) -> Result<Source> {
        self.expand()?;
        if let ast::SetExpr::Compound { op: op @ (SetOp::Union | SetOp::UnionAll), left, right } = &cte.query.body
            && step_reads(right, &cte.name)
        {
            let saved = self.ctes.len();
            self.query_depth += 1;
            let recursive = match &cte.query.with {
                Some(with) => {
                    self.push_with(with).and_then(|()| self.plan_recursive(cte, *op == SetOp::Union, left, right))
                }
                None => self.plan_recursive(cte, *op == SetOp::Union, left, right),
            };
            self.query_depth -= 1;
            self.ctes.truncate(saved);
            if let Some(plan) = recursive? {
                let cols = plan
                    .columns
                    .iter()
                    .zip(&plan.affinities)
                    .map(|(n, a)| ScopeCol::output(Some(qual.to_string()), n, *a))
                    .collect();
                return Ok(plain_source(plan.root, cols));
            }
        }
        let plan = self.plan_query(&cte.query, None)?;
        let names = cte_names(cte, &plan.columns)?;
        Ok(self.derived(plan, names, qual.to_string()))
    }

    /// `init UNION [ALL] step` as a recursive CTE, or `None` when `step`
    /// does not read the CTE (an ordinary compound).
    fn plan_recursive(
        &mut self,
        cte: &ast::Cte,
        distinct: bool,
        init: &ast::SetExpr,
        step: &ast::SetExpr,
    ) -> Result<Option<QueryPlan>> {
        let init = self.plan_set(init, None)?;
        let names = cte_names(cte, &init.columns)?;
        self.derived += 1;
        let id = self.derived;
        let cols = names.iter().cloned().zip(init.affinities.iter().copied()).collect();
        let at = self.ctes.len();
        let depth = self.query_depth;
        self.ctes.push(CteEntry {
            name: lower(&cte.name),
            group: id,
            def: CteDef::Working { id, cols, depth, refs: 0 },
        });
        let step = self.plan_set(step, None);
        let refs = match self.ctes.get(at) {
            Some(CteEntry { def: CteDef::Working { refs, .. }, .. }) => *refs,
            _ => 0,
        };
        self.ctes.truncate(at);
        let step = step?;
        if refs == 0 {
            return Ok(None);
        }
        if step.columns.len() != init.columns.len() {
            return Err(Error::Sql(format!(
                "SELECTs to the left and right of {} do not have the same number of result columns",
                if distinct { "UNION" } else { "UNION ALL" }
            )));
        }
        // The CTE query's own ORDER BY and LIMIT order and bound the queue.
        let q = &cte.query;
        let out: Vec<ScopeCol> =
            init.columns.iter().zip(&init.affinities).map(|(n, a)| ScopeCol::output(None, n, *a)).collect();
        let scope = Scope::new(out, None);
        let mut order = Vec::with_capacity(q.order_by.len());
        for o in &q.order_by {
            let expr = match integer_term(&o.expr) {
                Some(k) => CExpr::Col { idx: self.ordinal(k, init.columns.len())?, aff: None },
                None => self.compile_expr(&o.expr, &scope)?,
            };
            order.push(SortKey { expr, desc: o.desc, nulls_first: o.nulls_first.unwrap_or(!o.desc) });
        }
        let empty = Scope::empty();
        let limit = q.limit.as_ref().map(|e| self.compile_expr(e, &empty)).transpose()?;
        let offset = q.offset.as_ref().map(|e| self.compile_expr(e, &empty)).transpose()?;
        let root = Node::Recursive(Box::new(RecursivePlan {
            id,
            name: cte.name.clone(),
            init: init.root,
            step: step.root,
            distinct,
            order,
            limit,
            offset,
        }));
        Ok(Some(QueryPlan { root, columns: names, affinities: init.affinities, correlated: false }))
    }
}

/// Whether `step` is a SELECT whose FROM names `name` (so the CTE is
/// recursive; a reference anywhere else is planned as an ordinary name and
/// fails, as SQLite's rules require).
fn step_reads(step: &ast::SetExpr, name: &str) -> bool {
    match step {
        ast::SetExpr::Select(sel) => sel.from.iter().any(|f| names(f, name)),
        _ => false,
    }
}

/// Whether a FROM item (not looking into subqueries) names `name`.
#[recursive::recursive]
fn names(item: &ast::FromItem, name: &str) -> bool {
    match item {
        ast::FromItem::Table { name: n, .. } => n.eq_ignore_ascii_case(name),
        ast::FromItem::Subquery { .. } => false,
        ast::FromItem::Join { left, right, .. } => names(left, name) || names(right, name),
    }
}

/// A source that is not a base table.
fn plain_source(node: Node, cols: Vec<ScopeCol>) -> Source {
    Source { node, cols, table: None, left_outer: false, on: None, inner_on: Vec::new() }
}

/// The column names of a CTE: its column list, or its query's.
fn cte_names(cte: &ast::Cte, query_columns: &[String]) -> Result<Vec<String>> {
    if cte.columns.is_empty() {
        return Ok(query_columns.to_vec());
    }
    if cte.columns.len() != query_columns.len() {
        return Err(Error::Sql(format!(
            "table {} has {} values for {} columns",
            cte.name,
            query_columns.len(),
            cte.columns.len()
        )));
    }
    Ok(cte.columns.clone())
}
