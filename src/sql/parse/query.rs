//! The mapping of queries: compound selects, `SELECT` and its clauses,
//! `VALUES`, FROM items and joins.

use super::*;

impl Converter {
    // --- queries -----------------------------------------------------------

    /// A query. Queries do not count towards [`MAX_EXPR_DEPTH`] themselves
    /// (a subquery inside an expression counts as one level, as in SQLite);
    /// their nesting is bounded by sqlparser's recursion limit.
    #[recursive::recursive]
    pub(super) fn query(&mut self, mut query: Box<sp::Query>) -> Result<Query> {
        // Fields are checked through the box and moved out one by one: the
        // query is large and this frame is on the stack of every subquery.
        let sp::Query {
            with: _,
            body: _,
            order_by: _,
            limit_clause: _,
            fetch,
            locks,
            for_clause,
            settings,
            format_clause,
            pipe_operators,
        } = &*query;
        if fetch.is_some() {
            return Err(not_supported("FETCH"));
        }
        if !locks.is_empty() || for_clause.is_some() || settings.is_some() || format_clause.is_some() {
            return Err(not_supported("query options (FOR UPDATE, SETTINGS, FORMAT, …)"));
        }
        if !pipe_operators.is_empty() {
            return Err(not_supported("pipe operators"));
        }
        let with = query.with.take().map(|w| self.with(w)).transpose()?;
        let (limit, offset) = self.limit_offset(&mut query.limit_clause)?;
        let order_by = self.order_by(query.order_by.take())?;
        let body = self.set_expr(query.body)?;
        Ok(Query { with, body, order_by, limit, offset })
    }

    /// `WITH [RECURSIVE] name [(columns)] AS [[NOT] MATERIALIZED] (query), …`.
    pub(super) fn with(&mut self, with: sp::With) -> Result<With> {
        let sp::With { with_token: _, recursive, cte_tables } = with;
        let mut ctes = Vec::with_capacity(cte_tables.len());
        for cte in cte_tables {
            let sp::Cte { alias, query, from, materialized, closing_paren_token: _ } = cte;
            if from.is_some() {
                return Err(not_supported("WITH … FROM"));
            }
            let sp::TableAlias { explicit: _, name, columns, at } = alias;
            if at.is_some() {
                return Err(not_supported("AT in a common table expression's name"));
            }
            let mut names = Vec::with_capacity(columns.len());
            for c in columns {
                if c.data_type.is_some() {
                    return Err(not_supported("typed columns in a common table expression"));
                }
                names.push(c.name.value);
            }
            let materialized = materialized.map(|m| matches!(m, sp::CteAsMaterialized::Materialized));
            ctes.push(Cte { name: name.value, columns: names, query: Box::new(self.query(query)?), materialized });
        }
        Ok(With { recursive, ctes })
    }

    #[inline(never)]
    pub(super) fn order_by(&mut self, order_by: Option<sp::OrderBy>) -> Result<Vec<OrderItem>> {
        let Some(sp::OrderBy { kind, interpolate }) = order_by else {
            return Ok(Vec::new());
        };
        if interpolate.is_some() {
            return Err(not_supported("ORDER BY … INTERPOLATE"));
        }
        match kind {
            sp::OrderByKind::Expressions(items) => items.into_iter().map(|item| self.order_item(item)).collect(),
            sp::OrderByKind::All(_) => Err(not_supported("ORDER BY ALL")),
        }
    }

    /// `(LIMIT, OFFSET)`; `LIMIT a, b` is offset `a`, limit `b`.
    #[inline(never)]
    pub(super) fn limit_offset(
        &mut self,
        clause: &mut Option<sp::LimitClause>,
    ) -> Result<(Option<Expr>, Option<Expr>)> {
        let (limit, offset) = match clause.take() {
            None => (None, None),
            Some(sp::LimitClause::LimitOffset { limit, offset, limit_by }) => {
                if !limit_by.is_empty() {
                    return Err(not_supported("LIMIT … BY"));
                }
                let offset = match offset {
                    None => None,
                    Some(sp::Offset { value, rows: sp::OffsetRows::None }) => Some(value),
                    Some(_) => return Err(not_supported("OFFSET … ROWS")),
                };
                (limit, offset)
            }
            Some(sp::LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
        };
        let limit = limit.map(|e| self.expr(e)).transpose()?;
        let offset = offset.map(|e| self.expr(e)).transpose()?;
        Ok((limit, offset))
    }

    pub(super) fn order_item(&mut self, item: sp::OrderByExpr) -> Result<OrderItem> {
        let sp::OrderByExpr { expr, options, with_fill } = item;
        if with_fill.is_some() {
            return Err(not_supported("ORDER BY … WITH FILL"));
        }
        let sp::OrderByOptions { sort, nulls_first } = options;
        let desc = match sort {
            None | Some(sp::OrderBySort::Asc) => false,
            Some(sp::OrderBySort::Desc) => true,
            Some(sp::OrderBySort::Using(_)) => return Err(not_supported("ORDER BY … USING")),
        };
        Ok(OrderItem { expr: self.expr(expr)?, desc, nulls_first })
    }

    /// A query body. Compound operators are re-associated left to right with
    /// equal precedence, as SQLite does (sqlparser binds INTERSECT tighter).
    pub(super) fn set_expr(&mut self, body: Box<sp::SetExpr>) -> Result<SetExpr> {
        if !matches!(*body, sp::SetExpr::SetOperation { .. }) {
            return self.set_operand(body);
        }
        enum Item {
            Operand(Box<sp::SetExpr>),
            Op(SetOp),
        }
        // In-order walk without recursion: sqlparser builds long UNION chains
        // as deep left-nested trees.
        let mut operands = Vec::new();
        let mut ops = Vec::new();
        let mut stack = vec![Item::Operand(body)];
        while let Some(item) = stack.pop() {
            match item {
                Item::Op(op) => ops.push(op),
                Item::Operand(operand) => match *operand {
                    sp::SetExpr::SetOperation { left, op, set_quantifier, right } => {
                        let op = set_op(op, set_quantifier)?;
                        stack.push(Item::Operand(right));
                        stack.push(Item::Op(op));
                        stack.push(Item::Operand(left));
                    }
                    _ => {
                        operands.push(operand);
                        if operands.len() > MAX_COMPOUND_TERMS {
                            return Err(not_supported(format!(
                                "too many terms in a compound SELECT (limit {MAX_COMPOUND_TERMS})"
                            )));
                        }
                    }
                },
            }
        }
        let mut operands = operands.into_iter();
        let Some(first) = operands.next() else {
            return Err(Error::Sql("empty compound SELECT".into()));
        };
        let mut result = self.set_operand(first)?;
        for (op, operand) in ops.into_iter().zip(operands) {
            let right = self.set_operand(operand)?;
            result = SetExpr::Compound { op, left: Box::new(result), right: Box::new(right) };
        }
        Ok(result)
    }

    #[recursive::recursive]
    pub(super) fn set_operand(&mut self, body: Box<sp::SetExpr>) -> Result<SetExpr> {
        match *body {
            sp::SetExpr::Select(select) => Ok(SetExpr::Select(Box::new(self.select(select)?))),
            sp::SetExpr::Query(query) => match self.query(query)? {
                // Parentheses without their own ORDER BY/LIMIT change nothing.
                Query { with: None, body, order_by, limit: None, offset: None } if order_by.is_empty() => Ok(body),
                query => Ok(SetExpr::Query(Box::new(query))),
            },
            sp::SetExpr::Values(values) => Ok(SetExpr::Values(self.values(values)?)),
            sp::SetExpr::SetOperation { left, op, set_quantifier, right } => {
                self.set_expr(Box::new(sp::SetExpr::SetOperation { left, op, set_quantifier, right }))
            }
            sp::SetExpr::Insert(_) | sp::SetExpr::Update(_) | sp::SetExpr::Delete(_) | sp::SetExpr::Merge(_) => {
                Err(not_supported("data-modifying statements inside a query"))
            }
            sp::SetExpr::Table(_) => Err(not_supported("TABLE t as a query")),
        }
    }

    pub(super) fn values(&mut self, values: sp::Values) -> Result<Vec<Vec<Expr>>> {
        let sp::Values { explicit_row, value_keyword, rows } = values;
        if explicit_row || value_keyword {
            return Err(not_supported("VALUE / VALUES ROW(…)"));
        }
        let mut width = None;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let row = row.content;
            if *width.get_or_insert(row.len()) != row.len() {
                return Err(Error::Sql("all VALUES must have the same number of terms".into()));
            }
            out.push(row.into_iter().map(|e| self.expr(e)).collect::<Result<Vec<_>>>()?);
        }
        Ok(out)
    }

    pub(super) fn select(&mut self, mut select: Box<sp::Select>) -> Result<Select> {
        // As in `query`: check through the box, move out only what is used.
        let sp::Select {
            select_token: _,
            optimizer_hints,
            distinct: _,
            select_modifiers,
            top,
            top_before_distinct: _,
            projection: _,
            exclude,
            into,
            from: _,
            lateral_views,
            prewhere,
            selection: _,
            connect_by,
            group_by: _,
            cluster_by,
            distribute_by,
            sort_by,
            having: _,
            named_window,
            qualify,
            window_before_qualify: _,
            value_table_mode,
            flavor,
        } = &*select;
        if into.is_some() {
            return Err(not_supported("SELECT … INTO"));
        }
        if !named_window.is_empty() {
            return Err(not_supported("window functions (WINDOW clause)"));
        }
        if !optimizer_hints.is_empty()
            || select_modifiers.is_some()
            || top.is_some()
            || exclude.is_some()
            || !lateral_views.is_empty()
            || prewhere.is_some()
            || !connect_by.is_empty()
            || !cluster_by.is_empty()
            || !distribute_by.is_empty()
            || !sort_by.is_empty()
            || qualify.is_some()
            || value_table_mode.is_some()
            || *flavor != sp::SelectFlavor::Standard
        {
            return Err(not_supported("SELECT clauses outside SQLite's (TOP, QUALIFY, CONNECT BY, …)"));
        }
        let distinct = match select.distinct.take() {
            None | Some(sp::Distinct::All) => false,
            Some(sp::Distinct::Distinct) => true,
            Some(sp::Distinct::On(_)) => return Err(not_supported("DISTINCT ON")),
        };
        let group_by =
            match std::mem::replace(&mut select.group_by, sp::GroupByExpr::Expressions(Vec::new(), Vec::new())) {
                sp::GroupByExpr::Expressions(exprs, modifiers) => {
                    if !modifiers.is_empty() {
                        return Err(not_supported("GROUP BY modifiers (WITH ROLLUP, …)"));
                    }
                    exprs.into_iter().map(|e| self.expr(e)).collect::<Result<Vec<_>>>()?
                }
                sp::GroupByExpr::All(_) => return Err(not_supported("GROUP BY ALL")),
            };
        let mut items = Vec::with_capacity(select.projection.len());
        for item in &mut select.projection {
            items.push(self.select_item(item)?);
        }
        let mut from = Vec::with_capacity(select.from.len());
        for table in &mut select.from {
            from.push(self.table_with_joins(table)?);
        }
        let filter = select.selection.take().map(|e| self.expr_box(Box::new(e))).transpose()?;
        let having = select.having.take().map(|e| self.expr_box(Box::new(e))).transpose()?;
        Ok(Select { distinct, items, from, filter, group_by, having })
    }

    /// A result column, moved out of `item` (which is left a placeholder).
    pub(super) fn select_item(&mut self, item: &mut sp::SelectItem) -> Result<SelectItem> {
        match item {
            sp::SelectItem::UnnamedExpr(expr) => {
                Ok(SelectItem::Expr { expr: self.expr_box(take_expr(expr))?, alias: None })
            }
            sp::SelectItem::ExprWithAlias { expr, alias } => {
                let alias = std::mem::take(&mut alias.value);
                Ok(SelectItem::Expr { expr: self.expr_box(take_expr(expr))?, alias: Some(alias) })
            }
            sp::SelectItem::Wildcard(options) => {
                check_wildcard_options(options)?;
                Ok(SelectItem::Wildcard)
            }
            sp::SelectItem::QualifiedWildcard(kind, options) => {
                check_wildcard_options(options)?;
                match kind {
                    sp::SelectItemQualifiedWildcardKind::ObjectName(name) => {
                        Ok(SelectItem::QualifiedWildcard(object_name(name.clone())?))
                    }
                    sp::SelectItemQualifiedWildcardKind::Expr(_) => {
                        Err(not_supported("a wildcard on an expression (expr.*)"))
                    }
                }
            }
            sp::SelectItem::ExprWithAliases { .. } => Err(not_supported("several aliases for one result column")),
        }
    }

    /// `a JOIN b ON … JOIN c …` as a left-deep [`FromItem::Join`] tree. The
    /// parts are moved out of `table` (as in `select_item`).
    pub(super) fn table_with_joins(&mut self, table: &mut sp::TableWithJoins) -> Result<FromItem> {
        let sp::TableWithJoins { relation, joins } = table;
        let mut left = self.table_factor(relation)?;
        for join in joins {
            let sp::Join { relation, global, join_operator } = join;
            if *global {
                return Err(not_supported("GLOBAL joins"));
            }
            let (kind, constraint) = match join_operator {
                sp::JoinOperator::Join(c) | sp::JoinOperator::Inner(c) => (JoinKind::Inner, c),
                sp::JoinOperator::Left(c) | sp::JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
                sp::JoinOperator::CrossJoin(c) => (JoinKind::Cross, c),
                sp::JoinOperator::Right(_) | sp::JoinOperator::RightOuter(_) => {
                    return Err(not_supported("RIGHT JOIN"));
                }
                sp::JoinOperator::FullOuter(_) => return Err(not_supported("FULL JOIN")),
                other => return Err(not_supported(format!("{} joins", variant_kind(other)))),
            };
            let (on, using, natural) = match constraint {
                sp::JoinConstraint::None => (None, Vec::new(), false),
                sp::JoinConstraint::On(e) => (Some(self.expr_box(take_expr(e))?), Vec::new(), false),
                sp::JoinConstraint::Using(names) => {
                    (None, names.iter().cloned().map(simple_name).collect::<Result<Vec<_>>>()?, false)
                }
                sp::JoinConstraint::Natural => (None, Vec::new(), true),
                sp::JoinConstraint::UsingAlias(..) => return Err(not_supported("USING (…) AS alias")),
            };
            let right = self.table_factor(relation)?;
            left = FromItem::Join { left: Box::new(left), right: Box::new(right), kind, on, using, natural };
        }
        Ok(left)
    }

    #[recursive::recursive]
    pub(super) fn table_factor(&mut self, factor: &mut sp::TableFactor) -> Result<FromItem> {
        match factor {
            sp::TableFactor::Table { .. } => {
                let (name, alias) = plain_table(factor, "FROM")?;
                Ok(FromItem::Table { name: object_name(name.clone())?, alias: table_alias(alias.clone())? })
            }
            sp::TableFactor::Derived { lateral, subquery, alias, sample } => {
                if *lateral {
                    return Err(not_supported("LATERAL subqueries"));
                }
                if sample.is_some() {
                    return Err(not_supported("TABLESAMPLE"));
                }
                let alias = table_alias(alias.take())?;
                Ok(FromItem::Subquery { query: Box::new(self.query(take_query(subquery))?), alias })
            }
            sp::TableFactor::NestedJoin { table_with_joins, alias } => {
                if alias.is_some() {
                    return Err(not_supported("an alias on a parenthesised join"));
                }
                self.table_with_joins(table_with_joins)
            }
            other => Err(not_supported(format!("the FROM item `{other}`"))),
        }
    }
}
