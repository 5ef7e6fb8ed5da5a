//! The planner proper: statements and queries, resolved against the
//! catalog and the scope, into operator trees with compiled expressions.

use super::*;

impl<'c> Planner<'c> {
    /// A planner over `catalog`.
    pub fn new(catalog: &'c Catalog) -> Planner<'c> {
        Planner {
            catalog,
            subs: Vec::new(),
            next_param: 0,
            params: 0,
            derived: 0,
            ctes: Vec::new(),
            query_depth: 0,
            expansions: 0,
        }
    }

    /// Plan a query; `parent` is the enclosing query's scope (subqueries).
    #[recursive::recursive]
    pub fn plan_query(&mut self, q: &ast::Query, parent: Option<&Scope<'_>>) -> Result<QueryPlan> {
        self.query_depth += 1;
        let saved = self.ctes.len();
        let plan = match &q.with {
            Some(with) => self.push_with(with).and_then(|()| self.plan_query_body(q, parent)),
            None => self.plan_query_body(q, parent),
        };
        self.ctes.truncate(saved);
        self.query_depth -= 1;
        plan
    }

    /// A query once its `WITH` names are in scope.
    fn plan_query_body(&mut self, q: &ast::Query, parent: Option<&Scope<'_>>) -> Result<QueryPlan> {
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

    pub(super) fn ordinal(&self, k: i64, n: usize) -> Result<usize> {
        if k < 1 || k as usize > n {
            return Err(Error::Sql(format!("ORDER BY term out of range - should be between 1 and {n}")));
        }
        Ok(k as usize - 1)
    }

    pub(super) fn limit(&mut self, root: Node, q: &ast::Query, scope: &Scope<'_>) -> Result<Node> {
        if q.limit.is_none() && q.offset.is_none() {
            return Ok(root);
        }
        let empty = Scope::new(Vec::new(), scope.parent);
        let limit = q.limit.as_ref().map(|e| self.compile(e, &empty, None)).transpose()?;
        let offset = q.offset.as_ref().map(|e| self.compile(e, &empty, None)).transpose()?;
        Ok(Node::Limit { input: Box::new(root), limit, offset })
    }

    pub(super) fn plan_set(&mut self, body: &ast::SetExpr, parent: Option<&Scope<'_>>) -> Result<QueryPlan> {
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
    pub(super) fn source(&mut self, item: &ast::FromItem) -> Result<Vec<Source>> {
        match item {
            ast::FromItem::Table { name, alias } => {
                let qual = lower(alias.as_deref().unwrap_or(name));
                // A common table expression hides a table or view of its name.
                if let Some(source) = self.cte_source(name, &qual)? {
                    return Ok(vec![source]);
                }
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
                    self.expand()?;
                    let v = v.clone();
                    // A view's query sees no enclosing query and no common
                    // table expression of the statement.
                    let ctes = std::mem::take(&mut self.ctes);
                    let plan = self.plan_query(&v.query, None);
                    self.ctes = ctes;
                    let plan = plan?;
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
                if name.eq_ignore_ascii_case(crate::sql::catalog::SCHEMA_TABLE) {
                    return Err(Error::NotSupported(format!("reading {} directly", crate::sql::catalog::SCHEMA_TABLE)));
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
            ast::FromItem::Join { left, right, kind, on, using, natural } => {
                let mut l = self.source(left)?;
                let mut r = self.source(right)?;
                let mut conds: Vec<ast::Expr> = Vec::new();
                if let Some(on) = on {
                    conds.push(on.clone());
                }
                let shared = if *natural { shared_columns(&l, &r) } else { Vec::new() };
                let using = if *natural { &shared } else { using };
                if !using.is_empty() {
                    // USING names each side's column by its table: a
                    // subquery without an alias gets an internal one.
                    for s in l.iter_mut().chain(r.iter_mut()) {
                        if let Node::Derived { id, .. } = &s.node
                            && s.cols.iter().all(|c| c.table.is_none())
                        {
                            let qual = format!("(subquery {id})");
                            s.cols.iter_mut().for_each(|c| c.table = Some(qual.clone()));
                        }
                    }
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

    /// Count one reference to a view or a common table expression. Each is
    /// planned anew, so references that double at every level would make
    /// the plan exponential in the statement's size: past
    /// [`MAX_EXPANSIONS`] a statement is refused.
    pub(super) fn expand(&mut self) -> Result<()> {
        self.expansions += 1;
        if self.expansions > MAX_EXPANSIONS {
            return Err(Error::Sql(format!(
                "too many references to views and common table expressions in one statement \
                 (more than {MAX_EXPANSIONS} after expansion)"
            )));
        }
        Ok(())
    }

    pub(super) fn derived(&mut self, plan: QueryPlan, names: Vec<String>, qual: String) -> Source {
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
    pub(super) fn plan_select(
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
            let mut join_terms = Vec::new();
            let on = if s.left_outer {
                let on = s.on.as_ref().map(|e| self.compile(e, &scope, None)).transpose()?;
                if let (Some(t), Some(on)) = (&s.table, &on) {
                    split_c(on, &mut join_terms);
                    node = Node::Scan {
                        table: t.clone(),
                        access: choose_access(t, self.catalog, &join_terms, offsets[i]),
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
                join_terms.clone_from(&here);
                here.into_iter().reduce(|a, b| CExpr::Binary(BinaryOp::And, Box::new(a), Box::new(b)))
            };
            let w = s.cols.len();
            let hash = if root.is_some() { hash_keys(&node, &join_terms, offsets[i], w) } else { None };
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
                        hash,
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
            with: None,
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
    pub(super) fn expand_items(
        &self,
        items: &[ast::SelectItem],
        scope: &Scope<'_>,
    ) -> Result<Vec<(ast::Expr, Option<String>)>> {
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
    pub(super) fn compile(
        &mut self,
        e: &ast::Expr,
        scope: &Scope<'_>,
        mut agg: Option<&mut AggMode<'_>>,
    ) -> Result<CExpr> {
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

    pub(super) fn subquery(&mut self, q: &ast::Query, scope: &Scope<'_>) -> Result<usize> {
        let plan = self.plan_query(q, Some(scope))?;
        let correlated = plan.correlated;
        self.subs.push(SubPlan { plan, correlated });
        Ok(self.subs.len() - 1)
    }
}

/// The column names a NATURAL join matches on: those of the left side
/// (in its order, once each) that the right side has too.
fn shared_columns(left: &[Source], right: &[Source]) -> Vec<String> {
    let visible = |s: &Source| s.cols.iter().filter(|c| !c.hidden && !c.qualified_only).map(|c| c.name.clone()).collect::<Vec<_>>();
    let right: Vec<String> = right.first().map(visible).unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for name in left.iter().flat_map(visible) {
        if right.contains(&name) && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}
