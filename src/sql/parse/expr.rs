//! The mapping of expressions: operators, `IS`, `CASE`, casts,
//! subqueries and function calls, with the depth limit.

use super::*;

impl Converter {
    // --- expressions -------------------------------------------------------

    // The mapping of expressions recurses once per tree level, up to
    // MAX_EXPR_DEPTH levels, so the hot path (`expr_box` → `expr_node` →
    // `binary`/`unary` → `expr_box`) passes boxes, never sqlparser's 328-byte
    // `Expr` by value, and keeps the rarer cases in `expr_other`'s frame.

    pub(super) fn expr(&mut self, expr: sp::Expr) -> Result<Expr> {
        self.expr_box(Box::new(expr))
    }

    pub(super) fn expr_box(&mut self, expr: Box<sp::Expr>) -> Result<Expr> {
        // Parentheses are not nodes (SQLite does not count them either).
        let mut expr = expr;
        while let sp::Expr::Nested(inner) = *expr {
            expr = inner;
        }
        self.enter()?;
        let result = self.expr_node(expr);
        self.leave();
        result
    }

    pub(super) fn boxed(&mut self, expr: Box<sp::Expr>) -> Result<Box<Expr>> {
        Ok(Box::new(self.expr_box(expr)?))
    }

    #[recursive::recursive]
    pub(super) fn expr_node(&mut self, expr: Box<sp::Expr>) -> Result<Expr> {
        use sp::Expr as E;
        match *expr {
            E::Identifier(ident) => Ok(Expr::Column { table: None, name: ident.value }),
            E::Value(value) => literal(value.value),
            E::BinaryOp { left, op, right } => self.binary(left, op, right),
            E::UnaryOp { op, expr } => self.unary(op, expr),
            E::IsNull(e) => Ok(is_null(self.boxed(e)?, false)),
            E::IsNotNull(e) => Ok(is_null(self.boxed(e)?, true)),
            _ => self.expr_other(expr),
        }
    }

    pub(super) fn unary(&mut self, op: sp::UnaryOperator, operand: Box<sp::Expr>) -> Result<Expr> {
        if op == sp::UnaryOperator::Minus
            && let sp::Expr::Value(sp::ValueWithSpan { value: sp::Value::Number(text, long), .. }) = &*operand
        {
            return Ok(Expr::Literal(negative_number(text, *long)?));
        }
        let op = match op {
            sp::UnaryOperator::Minus => UnaryOp::Neg,
            sp::UnaryOperator::Plus => UnaryOp::Plus,
            sp::UnaryOperator::Not => UnaryOp::Not,
            sp::UnaryOperator::BitwiseNot => UnaryOp::BitNot,
            other => return Err(not_supported(format!("the unary operator {other}"))),
        };
        Ok(Expr::Unary { op, expr: self.boxed(operand)? })
    }

    #[inline(never)]
    pub(super) fn expr_other(&mut self, expr: Box<sp::Expr>) -> Result<Expr> {
        use sp::Expr as E;
        Ok(match *expr {
            E::CompoundIdentifier(idents) => {
                let shown = sp::ObjectName::from(idents.clone()).to_string();
                let mut idents = idents.into_iter();
                match (idents.next(), idents.next(), idents.next()) {
                    (Some(table), Some(name), None) => Expr::Column { table: Some(table.value), name: name.value },
                    _ => return Err(not_supported(format!("the column reference `{shown}` (use table.column)"))),
                }
            }
            E::IsDistinctFrom(a, b) => self.is(a, b, true)?,
            E::IsNotDistinctFrom(a, b) => self.is(a, b, false)?,
            // `x IS TRUE` is true exactly when `x` is a true condition; the
            // CASE has the same value and needs no new node.
            E::IsTrue(e) => self.truth_test(e, false, 1)?,
            E::IsNotTrue(e) => self.truth_test(e, false, 0)?,
            E::IsFalse(e) => self.truth_test(e, true, 1)?,
            E::IsNotFalse(e) => self.truth_test(e, true, 0)?,
            E::IsUnknown(_) | E::IsNotUnknown(_) => return Err(not_supported("IS [NOT] UNKNOWN")),
            E::Between { expr, negated, low, high } => {
                Expr::Between { expr: self.boxed(expr)?, low: self.boxed(low)?, high: self.boxed(high)?, negated }
            }
            E::In { expr, target, negated, global } => {
                if global {
                    return Err(not_supported("GLOBAL IN"));
                }
                let expr = self.boxed(expr)?;
                match target {
                    sp::InTarget::List(list) => {
                        let list = list.into_iter().map(|e| self.expr(e)).collect::<Result<Vec<_>>>()?;
                        Expr::InList { expr, list, negated }
                    }
                    sp::InTarget::Subquery(query) => {
                        Expr::InSubquery { expr, query: Box::new(self.query(query)?), negated }
                    }
                    sp::InTarget::Table { name, args: None } => {
                        // SQLite: `x IN t` means `x IN (SELECT * FROM t)`.
                        let select = Select {
                            distinct: false,
                            items: vec![SelectItem::Wildcard],
                            from: vec![FromItem::Table { name: object_name(name)?, alias: None }],
                            filter: None,
                            group_by: Vec::new(),
                            having: None,
                        };
                        let query = Query {
                            with: None,
                            body: SetExpr::Select(Box::new(select)),
                            order_by: Vec::new(),
                            limit: None,
                            offset: None,
                        };
                        Expr::InSubquery { expr, query: Box::new(query), negated }
                    }
                    sp::InTarget::Table { name, args: Some(_) } => {
                        return Err(not_supported(format!("IN a table-valued function ({name}(…))")));
                    }
                    sp::InTarget::Unnest(_) => return Err(not_supported("IN UNNEST(…)")),
                }
            }
            E::Like { negated, any, expr, pattern, escape_char } => {
                if any {
                    return Err(not_supported("LIKE ANY"));
                }
                Expr::Like {
                    expr: self.boxed(expr)?,
                    pattern: self.boxed(pattern)?,
                    escape: escape_char.map(|e| self.boxed(e)).transpose()?,
                    negated,
                    glob: false,
                }
            }
            E::ILike { .. } => return Err(not_supported("ILIKE (LIKE is already case-insensitive for ASCII)")),
            E::SimilarTo { .. } => return Err(not_supported("SIMILAR TO")),
            E::RLike { .. } => return Err(not_supported("REGEXP / RLIKE")),
            E::AnyOp { .. } | E::AllOp { .. } => return Err(not_supported("ANY/ALL/SOME comparisons")),
            E::Cast { kind, expr, data_type, format } => {
                let other_cast = match kind {
                    sp::CastKind::Cast => None,
                    sp::CastKind::TryCast => Some("TRY_CAST"),
                    sp::CastKind::SafeCast => Some("SAFE_CAST"),
                    sp::CastKind::DoubleColon => Some("`::` casts"),
                };
                if let Some(other) = other_cast {
                    return Err(not_supported(format!("{other} (use CAST(x AS type))")));
                }
                if format.is_some() {
                    return Err(not_supported("CAST … FORMAT"));
                }
                Expr::Cast { expr: self.boxed(expr)?, type_name: type_name(&data_type).unwrap_or_default() }
            }
            E::Function(function) => self.function(function)?,
            E::Trim { trim_where, trim_what, expr, trim_characters } => {
                if trim_where.is_some() || trim_what.is_some() {
                    return Err(not_supported("TRIM(BOTH|LEADING|TRAILING … FROM …); use trim/ltrim/rtrim(x, y)"));
                }
                let mut args = vec![self.expr_box(expr)?];
                for e in trim_characters.unwrap_or_default() {
                    args.push(self.expr(e)?);
                }
                plain_function("trim", args)
            }
            E::Substring { expr, substring_from, substring_for, special, shorthand } => {
                if !special {
                    return Err(not_supported("SUBSTRING(x FROM … FOR …); use substr(x, start, length)"));
                }
                let mut args = vec![self.expr_box(expr)?];
                for e in [substring_from, substring_for].into_iter().flatten() {
                    args.push(self.expr_box(e)?);
                }
                plain_function(if shorthand { "substr" } else { "substring" }, args)
            }
            E::Ceil { expr, field: sp::CeilFloorKind::DateTimeField(sp::DateTimeField::NoDateTime) } => {
                plain_function("ceil", vec![self.expr_box(expr)?])
            }
            E::Floor { expr, field: sp::CeilFloorKind::DateTimeField(sp::DateTimeField::NoDateTime) } => {
                plain_function("floor", vec![self.expr_box(expr)?])
            }
            E::Ceil { .. } | E::Floor { .. } => return Err(not_supported("CEIL/FLOOR with a scale or field")),
            E::Case { case_token: _, end_token: _, operand, conditions, else_result } => {
                let operand = operand.map(|e| self.boxed(e)).transpose()?;
                let whens = conditions
                    .into_iter()
                    .map(|w| {
                        let sp::CaseWhen { condition, result } = w;
                        Ok((self.expr(condition)?, self.expr(result)?))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let else_result = else_result.map(|e| self.boxed(e)).transpose()?;
                Expr::Case { operand, whens, else_result }
            }
            E::Exists { subquery, negated } => Expr::Exists { query: Box::new(self.query(subquery)?), negated },
            E::Subquery(query) => Expr::Subquery(Box::new(self.query(query)?)),
            E::Collate { .. } => return Err(not_supported("COLLATE")),
            E::JsonAccess { .. } => return Err(not_supported("JSON operators")),
            E::CompoundFieldAccess { .. } => return Err(not_supported("field and array access (a.b[1])")),
            E::Tuple(_) => return Err(not_supported("row values ((a, b))")),
            E::Array(_) => return Err(not_supported("arrays")),
            E::Interval(_) => return Err(not_supported("intervals")),
            E::TypedString(_) => return Err(not_supported("typed literals (DATE '…')")),
            E::Position { .. } => return Err(not_supported("POSITION(… IN …); use instr()")),
            E::Extract { .. } => return Err(not_supported("EXTRACT; use strftime()")),
            E::Convert { .. } => return Err(not_supported("CONVERT; use CAST")),
            E::Overlay { .. } => return Err(not_supported("OVERLAY")),
            E::AtTimeZone { .. } => return Err(not_supported("AT TIME ZONE")),
            E::Wildcard(_) | E::QualifiedWildcard(..) => return Err(not_supported("`*` inside an expression")),
            other => return Err(not_supported(format!("the expression `{other}`"))),
        })
    }

    pub(super) fn binary(&mut self, left: Box<sp::Expr>, op: sp::BinaryOperator, right: Box<sp::Expr>) -> Result<Expr> {
        use sp::BinaryOperator as B;
        let op = match op {
            B::Plus => BinaryOp::Add,
            B::Minus => BinaryOp::Sub,
            B::Multiply => BinaryOp::Mul,
            B::Divide => BinaryOp::Div,
            B::Modulo => BinaryOp::Mod,
            B::StringConcat => BinaryOp::Concat,
            B::Eq => BinaryOp::Eq,
            B::NotEq => BinaryOp::NotEq,
            B::Lt => BinaryOp::Lt,
            B::LtEq => BinaryOp::LtEq,
            B::Gt => BinaryOp::Gt,
            B::GtEq => BinaryOp::GtEq,
            B::And => BinaryOp::And,
            B::Or => BinaryOp::Or,
            B::BitwiseAnd => BinaryOp::BitAnd,
            B::BitwiseOr => BinaryOp::BitOr,
            B::PGBitwiseShiftLeft => BinaryOp::ShiftLeft,
            B::PGBitwiseShiftRight => BinaryOp::ShiftRight,
            B::Is => return self.is(left, right, false),
            B::IsNot => return self.is(left, right, true),
            B::Glob => {
                return Ok(Expr::Like {
                    expr: self.boxed(left)?,
                    pattern: self.boxed(right)?,
                    escape: None,
                    negated: false,
                    glob: true,
                });
            }
            B::Match | B::Regexp => return Err(not_supported(format!("the {op} operator"))),
            other => return Err(not_supported(format!("the {other} operator"))),
        };
        Ok(Expr::Binary { op, left: self.boxed(left)?, right: self.boxed(right)? })
    }

    /// `a IS [NOT] b`; with a NULL right side it is `a IS [NOT] NULL`.
    pub(super) fn is(&mut self, left: Box<sp::Expr>, right: Box<sp::Expr>, negated: bool) -> Result<Expr> {
        let left = self.boxed(left)?;
        let right = self.boxed(right)?;
        if *right == Expr::Literal(Value::Null) {
            return Ok(is_null(left, negated));
        }
        Ok(Expr::Binary { op: if negated { BinaryOp::IsNot } else { BinaryOp::Is }, left, right })
    }

    /// `x IS [NOT] TRUE|FALSE` as `CASE WHEN [NOT] x THEN hit ELSE 1 - hit END`.
    pub(super) fn truth_test(&mut self, e: Box<sp::Expr>, test_false: bool, hit: i64) -> Result<Expr> {
        let mut condition = self.expr_box(e)?;
        if test_false {
            condition = Expr::Unary { op: UnaryOp::Not, expr: Box::new(condition) };
        }
        Ok(Expr::Case {
            operand: None,
            whens: vec![(condition, Expr::Literal(Value::Integer(hit)))],
            else_result: Some(Box::new(Expr::Literal(Value::Integer(1 - hit)))),
        })
    }

    pub(super) fn function(&mut self, function: sp::Function) -> Result<Expr> {
        let sp::Function { name, uses_odbc_syntax, parameters, args, within_group, filter, null_treatment, over } =
            function;
        let shown = name.to_string();
        if over.is_some() {
            return Err(not_supported(format!("window functions ({shown}(…) OVER)")));
        }
        if filter.is_some() {
            return Err(not_supported(format!("FILTER clauses ({shown}(…) FILTER)")));
        }
        if !within_group.is_empty() {
            return Err(not_supported("WITHIN GROUP"));
        }
        if uses_odbc_syntax || null_treatment.is_some() || parameters != sp::FunctionArguments::None {
            return Err(not_supported(format!("the call syntax of {shown}")));
        }
        let name = match simple_name(name) {
            Ok(name) => name.to_lowercase(),
            Err(_) => return Err(not_supported(format!("the qualified function name {shown}"))),
        };
        let list = match args {
            // CURRENT_TIMESTAMP and friends are written without parentheses.
            sp::FunctionArguments::None => return Ok(plain_function(&name, Vec::new())),
            sp::FunctionArguments::Subquery(_) => {
                return Err(not_supported(format!("a subquery as the argument list of {name}")));
            }
            sp::FunctionArguments::List(list) => list,
        };
        let sp::FunctionArgumentList { duplicate_treatment, args, clauses } = list;
        if !clauses.is_empty() {
            return Err(not_supported(format!("ORDER BY/LIMIT/… inside the call of {name}")));
        }
        let distinct = matches!(duplicate_treatment, Some(sp::DuplicateTreatment::Distinct));
        let mut star = false;
        let mut exprs = Vec::with_capacity(args.len());
        let arg_count = args.len();
        for arg in args {
            match arg {
                sp::FunctionArg::Unnamed(sp::FunctionArgExpr::Expr(e)) => exprs.push(self.expr(e)?),
                sp::FunctionArg::Unnamed(sp::FunctionArgExpr::Wildcard) if arg_count == 1 && !distinct => star = true,
                sp::FunctionArg::Unnamed(sp::FunctionArgExpr::Wildcard) => {
                    return Err(Error::Sql(format!("`*` must be the only argument of {name}(*)")));
                }
                sp::FunctionArg::Unnamed(_) => {
                    return Err(not_supported(format!("qualified wildcards as arguments of {name}")));
                }
                sp::FunctionArg::Named { .. } | sp::FunctionArg::ExprNamed { .. } => {
                    return Err(not_supported(format!("named arguments in the call of {name}")));
                }
            }
        }
        Ok(Expr::Function { name, args: exprs, distinct, star })
    }
}
