//! The mapping of statements (DDL, DML, PRAGMA) from sqlparser's tree
//! to waldb's, the [`Converter`] that carries the expression depth, and
//! the small helpers every part of the mapping shares.

use super::*;

// ---------------------------------------------------------------------------
// The mapping
// ---------------------------------------------------------------------------

/// Maps sqlparser's tree into waldb's, tracking expression depth.
pub(super) struct Converter {
    /// Current depth of nested expressions (a subquery inside an expression
    /// counts as one level).
    pub(super) depth: usize,
}

/// `expr IS [NOT] NULL`, folded as SQLite's parser folds it
/// (`sqlite3PExprIsNull`): when `expr`, under any signs, is a literal other
/// than NULL, the result is the integer literal 0 or 1 — which matters
/// where an integer literal means a column number (`ORDER BY 1 IS NULL`).
pub(super) fn is_null(expr: Box<Expr>, negated: bool) -> Expr {
    let mut inner = &*expr;
    while let Expr::Unary { op: UnaryOp::Neg | UnaryOp::Plus, expr } = inner {
        inner = expr;
    }
    match inner {
        Expr::Literal(v) if *v != Value::Null => Expr::Literal(Value::Integer(i64::from(negated))),
        _ => Expr::IsNull { expr, negated },
    }
}

impl Converter {
    pub(super) fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_EXPR_DEPTH { Err(too_deep(MAX_EXPR_DEPTH)) } else { Ok(()) }
    }

    pub(super) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // --- statements --------------------------------------------------------

    pub(super) fn statement(&mut self, statement: sp::Statement) -> Result<Statement> {
        match statement {
            sp::Statement::Query(query)
                if matches!(
                    *query.body,
                    sp::SetExpr::Insert(_) | sp::SetExpr::Update(_) | sp::SetExpr::Delete(_)
                ) =>
            {
                self.with_dml(query)
            }
            sp::Statement::Query(query) => Ok(Statement::Query(Box::new(self.query(query)?))),
            sp::Statement::Insert(insert) => self.insert(insert),
            sp::Statement::Update(update) => self.update(update),
            sp::Statement::Delete(delete) => self.delete(delete),
            sp::Statement::CreateTable(create) => self.create_table(create),
            sp::Statement::CreateIndex(create) => self.create_index(create),
            sp::Statement::CreateView(create) => self.create_view(create),
            sp::Statement::AlterTable(alter) => self.alter_table(alter),
            sp::Statement::Pragma { name, value, is_eq } => self.pragma(name, value, is_eq),
            sp::Statement::Drop { object_type, if_exists, names, cascade, restrict, purge, temporary, table } => {
                if cascade || restrict || purge || temporary || table.is_some() {
                    return Err(not_supported(format!("options of DROP {object_type}")));
                }
                let mut names = names.into_iter();
                let (Some(name), None) = (names.next(), names.next()) else {
                    return Err(not_supported(format!("DROP {object_type} of several objects in one statement")));
                };
                let name = object_name(name)?;
                match object_type {
                    sp::ObjectType::Table => Ok(Statement::DropTable { name, if_exists }),
                    sp::ObjectType::Index => Ok(Statement::DropIndex { name, if_exists }),
                    sp::ObjectType::View => Ok(Statement::DropView { name, if_exists }),
                    other => Err(not_supported(format!("DROP {other} statements"))),
                }
            }
            sp::Statement::StartTransaction {
                modes,
                begin: _,
                transaction,
                modifier,
                statements,
                exception,
                has_end_keyword,
            } => {
                if !modes.is_empty() || !statements.is_empty() || exception.is_some() || has_end_keyword {
                    return Err(not_supported("transaction modes and BEGIN … END blocks"));
                }
                if !matches!(transaction, None | Some(sp::BeginTransactionKind::Transaction)) {
                    return Err(not_supported("BEGIN WORK/TRAN (use BEGIN [TRANSACTION])"));
                }
                match modifier {
                    None | Some(sp::TransactionModifier::Deferred) => Ok(Statement::Begin),
                    Some(other) => Err(not_supported(format!("BEGIN {other}"))),
                }
            }
            sp::Statement::Commit { chain, end: _, modifier } => {
                if chain || modifier.is_some() {
                    return Err(not_supported("COMMIT AND CHAIN / END TRY|CATCH"));
                }
                Ok(Statement::Commit)
            }
            sp::Statement::Rollback { chain, savepoint } => {
                if chain {
                    return Err(not_supported("ROLLBACK AND CHAIN"));
                }
                if savepoint.is_some() {
                    return Err(not_supported("savepoints (ROLLBACK TO)"));
                }
                Ok(Statement::Rollback)
            }
            sp::Statement::Explain {
                describe_alias,
                analyze,
                verbose,
                query_plan: _,
                estimate,
                statement,
                format,
                options,
            } => {
                if describe_alias != sp::DescribeAlias::Explain {
                    return Err(not_supported(format!("{describe_alias} statements")));
                }
                if analyze || verbose || estimate || format.is_some() || options.is_some() {
                    return Err(not_supported("EXPLAIN options (ANALYZE, VERBOSE, FORMAT, …)"));
                }
                Ok(Statement::Explain(Box::new(self.statement(*statement)?)))
            }
            other => Err(not_supported(format!("{} statements", statement_kind(&other)))),
        }
    }

    pub(super) fn create_table(&mut self, create: sp::CreateTable) -> Result<Statement> {
        let mut create = create;
        if create.temporary {
            return Err(not_supported("TEMP tables"));
        }
        if create.query.is_some() {
            return Err(not_supported("CREATE TABLE … AS SELECT"));
        }
        if !create.sqlite_table_options.options.is_empty() {
            return Err(not_supported("table options (WITHOUT ROWID, STRICT)"));
        }
        if create.or_replace {
            return Err(not_supported("CREATE OR REPLACE TABLE"));
        }
        // Take out what waldb supports; everything left must be at its default.
        let empty = || sp::ObjectName(Vec::new());
        let name = std::mem::replace(&mut create.name, empty());
        let if_not_exists = std::mem::take(&mut create.if_not_exists);
        let columns = std::mem::take(&mut create.columns);
        let constraints = std::mem::take(&mut create.constraints);
        if create != CreateTableBuilder::new(empty()).build() {
            return Err(not_supported(
                "CREATE TABLE clauses other than column definitions, PRIMARY KEY and UNIQUE (COMMENT, PARTITION BY, …)",
            ));
        }
        let (schema, name) = qualified_name(name)?;
        if schema.is_some_and(|s| s.eq_ignore_ascii_case("temp")) {
            return Err(not_supported("TEMP tables"));
        }
        if columns.is_empty() {
            return Err(Error::Sql(format!("table {name} must have at least one column")));
        }
        let columns = columns.into_iter().map(|c| self.column_def(c)).collect::<Result<Vec<_>>>()?;
        let constraints = constraints
            .into_iter()
            .map(|c| match c {
                sp::TableConstraint::Check(check) => {
                    let name = check.name.map(|n| n.value);
                    Ok(TableConstraint::Check(self.check(name, *check.expr, check.no_inherit, check.enforced)?))
                }
                other => table_constraint(other),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Statement::CreateTable { name, if_not_exists, columns, constraints })
    }

    pub(super) fn column_def(&mut self, column: sp::ColumnDef) -> Result<ColumnDef> {
        let sp::ColumnDef { name, data_type, options } = column;
        let mut def = ColumnDef::new(name.value, type_name(&data_type));
        // sqlparser keeps `ASC`/`DESC` after `PRIMARY KEY` as a separate option.
        let mut after_primary_key = false;
        for option in options {
            let sp::ColumnOptionDef { name: constraint_name, option } = option;
            let follows_primary_key = std::mem::take(&mut after_primary_key);
            match option {
                sp::ColumnOption::Null => {}
                sp::ColumnOption::NotNull => def.not_null = true,
                sp::ColumnOption::Default(e) => def.default = Some(self.expr(e)?),
                sp::ColumnOption::PrimaryKey(pk) => {
                    check_primary_key(&pk, true)?;
                    def.primary_key = true;
                    after_primary_key = true;
                }
                sp::ColumnOption::Unique(unique) => {
                    check_unique(&unique, true)?;
                    def.unique = true;
                }
                sp::ColumnOption::DialectSpecific(tokens) => match tokens.as_slice() {
                    [Token::Word(w)] if follows_primary_key && w.keyword == Keyword::ASC => {}
                    [Token::Word(w)] if follows_primary_key && w.keyword == Keyword::DESC => {
                        def.primary_key_desc = true;
                    }
                    [Token::Word(w)] if w.keyword == Keyword::AUTOINCREMENT && def.primary_key => {
                        def.autoincrement = true;
                        // `PRIMARY KEY ASC AUTOINCREMENT`: the order came first.
                        after_primary_key = follows_primary_key;
                    }
                    _ => {
                        let shown: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
                        return Err(not_supported(format!("the column option `{}`", shown.join(" "))));
                    }
                },
                sp::ColumnOption::Check(check) => {
                    let name = check.name.map(|n| n.value).or(constraint_name.map(|n| n.value));
                    def.checks.push(self.check(name, *check.expr, check.no_inherit, check.enforced)?);
                }
                sp::ColumnOption::ForeignKey(_) => return Err(not_supported("foreign keys (REFERENCES)")),
                sp::ColumnOption::Collation(_) => return Err(not_supported("COLLATE")),
                sp::ColumnOption::Generated { .. } => return Err(not_supported("generated columns")),
                sp::ColumnOption::OnConflict(_) => return Err(not_supported("ON CONFLICT clauses")),
                other => return Err(not_supported(format!("the column option `{other}`"))),
            }
        }
        Ok(def)
    }

    /// A `CHECK` constraint's condition.
    pub(super) fn check(
        &mut self,
        name: Option<String>,
        expr: sp::Expr,
        no_inherit: bool,
        enforced: Option<bool>,
    ) -> Result<Check> {
        if no_inherit || enforced.is_some() {
            return Err(not_supported("CHECK options (NO INHERIT, ENFORCED)"));
        }
        Ok(Check { name, expr: self.expr(expr)? })
    }

    /// `ALTER TABLE`: one operation, as SQLite allows.
    pub(super) fn alter_table(&mut self, alter: sp::AlterTable) -> Result<Statement> {
        let sp::AlterTable { name, if_exists, only, operations, location, on_cluster, table_type, end_token: _ } =
            alter;
        if if_exists || only || location.is_some() || on_cluster.is_some() || table_type.is_some() {
            return Err(not_supported("ALTER TABLE options"));
        }
        let table = object_name(name)?;
        let mut operations = operations.into_iter();
        let (Some(op), None) = (operations.next(), operations.next()) else {
            return Err(not_supported("ALTER TABLE with several operations"));
        };
        let op = match op {
            sp::AlterTableOperation::RenameTable { table_name } => {
                let (sp::RenameTableNameKind::To(n) | sp::RenameTableNameKind::As(n)) = table_name;
                AlterOp::RenameTable(object_name(n)?)
            }
            sp::AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                AlterOp::RenameColumn { old: old_column_name.value, new: new_column_name.value }
            }
            sp::AlterTableOperation::AddColumn { column_keyword: _, if_not_exists, column_def, column_position } => {
                if if_not_exists || column_position.is_some() {
                    return Err(not_supported("ADD COLUMN options (IF NOT EXISTS, FIRST, AFTER)"));
                }
                AlterOp::AddColumn(self.column_def(column_def)?)
            }
            sp::AlterTableOperation::DropColumn { has_column_keyword: _, column_names, if_exists, drop_behavior } => {
                if if_exists || drop_behavior.is_some() {
                    return Err(not_supported("DROP COLUMN options (IF EXISTS, CASCADE, RESTRICT)"));
                }
                let mut names = column_names.into_iter();
                let (Some(c), None) = (names.next(), names.next()) else {
                    return Err(not_supported("DROP COLUMN of several columns"));
                };
                AlterOp::DropColumn(c.value)
            }
            other => return Err(not_supported(format!("ALTER TABLE … {}", variant_kind(&other)))),
        };
        Ok(Statement::AlterTable { table, op })
    }

    /// `PRAGMA [schema.]name [= value | (value)]`.
    pub(super) fn pragma(
        &mut self,
        name: sp::ObjectName,
        value: Option<sp::ValueWithSpan>,
        assign: bool,
    ) -> Result<Statement> {
        let (schema, name) = qualified_name(name)?;
        if schema.is_some_and(|s| !s.eq_ignore_ascii_case("main")) {
            return Err(not_supported("PRAGMA on the temp schema"));
        }
        let value = match value.map(|v| v.value) {
            None => None,
            Some(sp::Value::SingleQuotedString(t) | sp::Value::DoubleQuotedString(t)) => Some(Value::Text(t)),
            Some(sp::Value::Number(n, long)) => Some(number(&n, long)?),
            Some(other) => return Err(not_supported(format!("the PRAGMA value {other}"))),
        };
        Ok(Statement::Pragma { name: name.to_ascii_lowercase(), value, assign })
    }

    pub(super) fn create_index(&mut self, create: sp::CreateIndex) -> Result<Statement> {
        let sp::CreateIndex {
            name,
            table_name,
            using,
            columns,
            unique,
            concurrently,
            r#async,
            if_not_exists,
            include,
            nulls_distinct,
            with,
            predicate,
            index_options,
            alter_options,
        } = create;
        if predicate.is_some() {
            return Err(not_supported("partial indexes (CREATE INDEX … WHERE)"));
        }
        if using.is_some()
            || concurrently
            || r#async
            || !include.is_empty()
            || nulls_distinct.is_some()
            || !with.is_empty()
            || !index_options.is_empty()
            || !alter_options.is_empty()
        {
            return Err(not_supported("CREATE INDEX options"));
        }
        let Some(name) = name else {
            return Err(Error::Sql("CREATE INDEX needs an index name".into()));
        };
        let columns = columns
            .into_iter()
            .map(|c| {
                let (name, desc) = index_column(c)?;
                Ok(IndexColumn { name, desc })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Statement::CreateIndex {
            name: object_name(name)?,
            table: object_name(table_name)?,
            columns,
            unique,
            if_not_exists,
        })
    }

    pub(super) fn create_view(&mut self, create: sp::CreateView) -> Result<Statement> {
        let sp::CreateView {
            or_alter,
            or_replace,
            materialized,
            secure,
            name,
            name_before_not_exists: _,
            columns,
            query,
            options,
            cluster_by,
            comment,
            with_no_schema_binding,
            if_not_exists,
            temporary: _,
            copy_grants,
            to,
            params,
        } = create;
        if or_alter || or_replace {
            return Err(not_supported("CREATE OR REPLACE VIEW"));
        }
        if materialized {
            return Err(not_supported("materialized views"));
        }
        if secure
            || options != sp::CreateTableOptions::None
            || !cluster_by.is_empty()
            || comment.is_some()
            || with_no_schema_binding
            || copy_grants
            || to.is_some()
            || params.is_some()
        {
            return Err(not_supported("CREATE VIEW options"));
        }
        let columns = columns
            .into_iter()
            .map(|c| {
                let sp::ViewColumnDef { name, data_type, options } = c;
                if data_type.is_some() || options.is_some() {
                    return Err(not_supported("types or options in a view's column list"));
                }
                Ok(name.value)
            })
            .collect::<Result<Vec<_>>>()?;
        // sqlparser's Display of deep trees is protected by its
        // recursive-protection feature.
        let query_sql = query.to_string();
        let query = self.query(query)?;
        Ok(Statement::CreateView {
            name: object_name(name)?,
            if_not_exists,
            columns,
            query: Box::new(query),
            query_sql,
        })
    }

    /// `WITH … INSERT | UPDATE | DELETE …`: for an INSERT the common table
    /// expressions become the `WITH` of its source query (the only part of
    /// an INSERT they can be read from); an UPDATE or DELETE keeps them, for
    /// its SET, WHERE and RETURNING expressions.
    pub(super) fn with_dml(&mut self, mut query: Box<sp::Query>) -> Result<Statement> {
        let with = query.with.take().map(|w| self.with(w)).transpose()?;
        let placeholder = Box::new(sp::SetExpr::Values(sp::Values {
            explicit_row: false,
            value_keyword: false,
            rows: Vec::new(),
        }));
        let (sp::SetExpr::Insert(inner) | sp::SetExpr::Update(inner) | sp::SetExpr::Delete(inner)) =
            *std::mem::replace(&mut query.body, placeholder)
        else {
            return Err(Error::Sql("expected INSERT, UPDATE or DELETE after WITH".into()));
        };
        let statement = self.statement(inner)?;
        let Some(with) = with else {
            return Ok(statement);
        };
        match statement {
            Statement::Insert { table, columns, source, on_conflict, upsert, returning } => {
                let wrap = |body: SetExpr| {
                    Box::new(Query { with: Some(with), body, order_by: Vec::new(), limit: None, offset: None })
                };
                let source = match source {
                    InsertSource::Query(q) => InsertSource::Query(wrap(SetExpr::Query(q))),
                    InsertSource::Values(rows) => InsertSource::Query(wrap(SetExpr::Values(rows))),
                    InsertSource::DefaultValues => InsertSource::DefaultValues,
                };
                Ok(Statement::Insert { table, columns, source, on_conflict, upsert, returning })
            }
            Statement::Update { with: None, table, assignments, filter, returning } => {
                Ok(Statement::Update { with: Some(with), table, assignments, filter, returning })
            }
            Statement::Delete { with: None, table, filter, returning } => {
                Ok(Statement::Delete { with: Some(with), table, filter, returning })
            }
            _ => Err(Error::Sql("expected INSERT, UPDATE or DELETE after WITH".into())),
        }
    }

    pub(super) fn insert(&mut self, insert: sp::Insert) -> Result<Statement> {
        let sp::Insert {
            insert_token: _,
            optimizer_hints,
            or,
            ignore,
            into,
            table,
            table_alias,
            columns,
            by_name,
            overwrite,
            source,
            assignments,
            partitioned,
            after_columns,
            overriding,
            has_table_keyword,
            on,
            returning,
            output,
            replace_into,
            priority,
            insert_alias,
            settings,
            format_clause,
            multi_table_insert_type,
            multi_table_into_clauses,
            multi_table_when_clauses,
            multi_table_else_clause,
        } = insert;
        if output.is_some() {
            return Err(not_supported("OUTPUT"));
        }
        if !assignments.is_empty() {
            return Err(not_supported("INSERT … SET"));
        }
        if !optimizer_hints.is_empty()
            || ignore
            || table_alias.is_some()
            || by_name
            || overwrite
            || partitioned.is_some()
            || !after_columns.is_empty()
            || overriding.is_some()
            || has_table_keyword
            || priority.is_some()
            || insert_alias.is_some()
            || settings.is_some()
            || format_clause.is_some()
            || multi_table_insert_type.is_some()
            || !multi_table_into_clauses.is_empty()
            || !multi_table_when_clauses.is_empty()
            || multi_table_else_clause.is_some()
        {
            return Err(not_supported("INSERT options other than OR … and ON CONFLICT"));
        }
        if !into {
            return Err(not_supported("INSERT without INTO"));
        }
        let on_conflict = match or {
            _ if replace_into => OnConflict::Replace,
            None | Some(sp::SqliteOnConflict::Abort) => OnConflict::Abort,
            Some(sp::SqliteOnConflict::Replace) => OnConflict::Replace,
            Some(sp::SqliteOnConflict::Ignore) => OnConflict::Ignore,
            Some(sp::SqliteOnConflict::Fail) => OnConflict::Fail,
            Some(sp::SqliteOnConflict::Rollback) => OnConflict::Rollback,
        };
        let table = match table {
            sp::TableObject::TableName(name) => object_name(name)?,
            other => return Err(not_supported(format!("INSERT INTO {other}"))),
        };
        let columns = if columns.is_empty() {
            None
        } else {
            Some(columns.into_iter().map(simple_name).collect::<Result<Vec<_>>>()?)
        };
        let source = match source {
            None => {
                if columns.is_some() {
                    return Err(Error::Sql("DEFAULT VALUES takes no column list".into()));
                }
                InsertSource::DefaultValues
            }
            Some(query) => match self.query(query)? {
                Query { with: None, body: SetExpr::Values(rows), order_by, limit: None, offset: None }
                    if order_by.is_empty() =>
                {
                    InsertSource::Values(rows)
                }
                query => InsertSource::Query(Box::new(query)),
            },
        };
        let upsert = on.map(|on| self.upsert(on)).transpose()?.into_iter().collect();
        let returning = self.returning(returning)?;
        Ok(Statement::Insert { table, columns, source, on_conflict, upsert, returning })
    }

    /// `RETURNING items`.
    pub(super) fn returning(&mut self, returning: Option<Vec<sp::SelectItem>>) -> Result<Vec<SelectItem>> {
        let mut out = Vec::new();
        for mut item in returning.unwrap_or_default() {
            match self.select_item(&mut item)? {
                SelectItem::QualifiedWildcard(_) => {
                    return Err(Error::Sql("RETURNING may not use \"TABLE.*\" wildcards".into()));
                }
                item => out.push(item),
            }
        }
        Ok(out)
    }

    pub(super) fn update(&mut self, update: sp::Update) -> Result<Statement> {
        let sp::Update {
            update_token: _,
            optimizer_hints,
            table,
            on_cluster,
            assignments,
            from,
            selection,
            returning,
            output,
            or,
            order_by,
            limit,
            settings,
        } = update;
        if from.is_some() {
            return Err(not_supported("UPDATE … FROM"));
        }
        if output.is_some() {
            return Err(not_supported("OUTPUT"));
        }
        if let Some(or) = or {
            return Err(not_supported(format!("UPDATE {or}")));
        }
        if !order_by.is_empty() || limit.is_some() {
            return Err(not_supported("UPDATE … ORDER BY/LIMIT"));
        }
        if !optimizer_hints.is_empty() || on_cluster.is_some() || settings.is_some() {
            return Err(not_supported("UPDATE options"));
        }
        let table = dml_table(table, "UPDATE")?;
        let assignments = self.assignments(assignments)?;
        let filter = selection.map(|e| self.expr(e)).transpose()?;
        let returning = self.returning(returning)?;
        Ok(Statement::Update { with: None, table, assignments, filter, returning })
    }

    pub(super) fn delete(&mut self, delete: sp::Delete) -> Result<Statement> {
        let sp::Delete {
            delete_token: _,
            optimizer_hints,
            tables,
            from,
            on_cluster,
            using,
            selection,
            returning,
            output,
            order_by,
            limit,
            settings,
        } = delete;
        if output.is_some() {
            return Err(not_supported("OUTPUT"));
        }
        if !order_by.is_empty() || limit.is_some() {
            return Err(not_supported("DELETE … ORDER BY/LIMIT"));
        }
        if !tables.is_empty() || using.is_some() {
            return Err(not_supported("multi-table DELETE"));
        }
        if !optimizer_hints.is_empty() || on_cluster.is_some() || settings.is_some() {
            return Err(not_supported("DELETE options"));
        }
        let sp::FromTable::WithFromKeyword(tables) = from else {
            return Err(not_supported("DELETE without FROM"));
        };
        let mut tables = tables.into_iter();
        let (Some(table), None) = (tables.next(), tables.next()) else {
            return Err(not_supported("multi-table DELETE"));
        };
        let table = dml_table(table, "DELETE")?;
        let filter = selection.map(|e| self.expr(e)).transpose()?;
        let returning = self.returning(returning)?;
        Ok(Statement::Delete { with: None, table, filter, returning })
    }
}

/// Move an expression out of sqlparser's tree onto the heap, leaving a
/// placeholder (the frame holding `expr` stays small).
#[inline(never)]
pub(super) fn take_expr(expr: &mut sp::Expr) -> Box<sp::Expr> {
    Box::new(std::mem::replace(expr, sp::Expr::Identifier(sp::Ident::new(""))))
}

/// Move a query out of sqlparser's tree, leaving an empty placeholder.
#[inline(never)]
pub(super) fn take_query(query: &mut Box<sp::Query>) -> Box<sp::Query> {
    let placeholder = sp::Query {
        with: None,
        body: Box::new(sp::SetExpr::Values(sp::Values { explicit_row: false, value_keyword: false, rows: Vec::new() })),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: Vec::new(),
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: Vec::new(),
    };
    std::mem::replace(query, Box::new(placeholder))
}

pub(super) fn plain_function(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function { name: name.to_lowercase(), args, distinct: false, star: false }
}

pub(super) fn set_op(op: sp::SetOperator, quantifier: sp::SetQuantifier) -> Result<SetOp> {
    use sp::SetQuantifier as Q;
    match (op, quantifier) {
        (sp::SetOperator::Union, Q::None | Q::Distinct) => Ok(SetOp::Union),
        (sp::SetOperator::Union, Q::All) => Ok(SetOp::UnionAll),
        (sp::SetOperator::Except, Q::None | Q::Distinct) => Ok(SetOp::Except),
        (sp::SetOperator::Intersect, Q::None | Q::Distinct) => Ok(SetOp::Intersect),
        (op, quantifier) => Err(not_supported(format!("{op} {quantifier}").trim().to_string())),
    }
}

pub(super) fn table_alias(alias: Option<sp::TableAlias>) -> Result<Option<String>> {
    match alias {
        None => Ok(None),
        Some(sp::TableAlias { explicit: _, name, columns, at }) => {
            if !columns.is_empty() {
                return Err(not_supported(format!("column lists in table aliases ({name}(…))")));
            }
            if at.is_some() {
                return Err(not_supported("AT in table aliases"));
            }
            Ok(Some(name.value))
        }
    }
}

/// The target of UPDATE/DELETE: one plain table, no alias, no joins.
pub(super) fn dml_table(table: sp::TableWithJoins, statement: &str) -> Result<String> {
    let sp::TableWithJoins { relation, joins } = table;
    if !joins.is_empty() {
        return Err(not_supported(format!("joins in {statement}")));
    }
    let (name, alias) = plain_table(&relation, statement)?;
    if alias.is_some() {
        return Err(not_supported(format!("an alias on the table of {statement}")));
    }
    object_name(name.clone())
}

/// The name and alias of a table reference to a plain table, refusing the
/// options other dialects allow on one (arguments, hints, versions,
/// samples, …); `where_` names the clause for the error. `NOT INDEXED`
/// passes: it only forbids indexes, so the results are the same.
pub(super) fn plain_table<'f>(
    factor: &'f sp::TableFactor,
    where_: &str,
) -> Result<(&'f sp::ObjectName, &'f Option<sp::TableAlias>)> {
    let sp::TableFactor::Table {
        name,
        alias,
        args,
        with_hints,
        version,
        with_ordinality,
        partitions,
        json_path,
        sample,
        index_directives,
        inheritance,
    } = factor
    else {
        return Err(not_supported(format!("{where_} of something other than a table")));
    };
    if args.is_some() {
        return Err(not_supported(format!("table-valued functions ({name}(…))")));
    }
    if !with_hints.is_empty()
        || version.is_some()
        || *with_ordinality
        || !partitions.is_empty()
        || json_path.is_some()
        || sample.is_some()
        || inheritance.is_some()
    {
        return Err(not_supported(format!("table options on {name}")));
    }
    if let Some(hint) = index_directives.iter().find(|d| **d != sp::TableIndexDirective::NotIndexed) {
        return Err(not_supported(format!("index hints ({hint})")));
    }
    Ok((name, alias))
}

pub(super) fn check_wildcard_options(options: &sp::WildcardAdditionalOptions) -> Result<()> {
    let sp::WildcardAdditionalOptions {
        wildcard_token: _,
        opt_ilike,
        opt_exclude,
        opt_except,
        opt_replace,
        opt_rename,
        opt_alias,
    } = options;
    if opt_ilike.is_some()
        || opt_exclude.is_some()
        || opt_except.is_some()
        || opt_replace.is_some()
        || opt_rename.is_some()
        || opt_alias.is_some()
    {
        return Err(not_supported("wildcard options (* EXCEPT, * REPLACE, …)"));
    }
    Ok(())
}

pub(super) fn check_primary_key(pk: &sp::PrimaryKeyConstraint, column_level: bool) -> Result<()> {
    let sp::PrimaryKeyConstraint { name: _, index_name, index_type, columns, include, index_options, characteristics } =
        pk;
    if index_name.is_some()
        || index_type.is_some()
        || !include.is_empty()
        || !index_options.is_empty()
        || characteristics.is_some()
        || (column_level && !columns.is_empty())
    {
        return Err(not_supported("PRIMARY KEY options"));
    }
    Ok(())
}

pub(super) fn check_unique(unique: &sp::UniqueConstraint, column_level: bool) -> Result<()> {
    let sp::UniqueConstraint {
        name: _,
        index_name,
        index_type_display,
        index_type,
        columns,
        include,
        index_options,
        characteristics,
        nulls_distinct,
    } = unique;
    if index_name.is_some()
        || *index_type_display != sp::KeyOrIndexDisplay::None
        || index_type.is_some()
        || !include.is_empty()
        || !index_options.is_empty()
        || characteristics.is_some()
        || *nulls_distinct != sp::NullsDistinctOption::None
        || (column_level && !columns.is_empty())
    {
        return Err(not_supported("UNIQUE options"));
    }
    Ok(())
}

/// A plain column of an index or key list: `(name, desc)`.
pub(super) fn index_column(column: sp::IndexColumn) -> Result<(String, bool)> {
    let sp::IndexColumn { column, operator_class } = column;
    let sp::OrderByExpr { expr, options, with_fill } = column;
    let sp::OrderByOptions { sort, nulls_first } = options;
    if operator_class.is_some() || with_fill.is_some() || nulls_first.is_some() {
        return Err(not_supported("options on indexed columns (NULLS FIRST, operator classes)"));
    }
    let desc = match sort {
        None | Some(sp::OrderBySort::Asc) => false,
        Some(sp::OrderBySort::Desc) => true,
        Some(sp::OrderBySort::Using(_)) => return Err(not_supported("USING on indexed columns")),
    };
    match expr {
        sp::Expr::Identifier(ident) => Ok((ident.value, desc)),
        sp::Expr::Collate { .. } => Err(not_supported("COLLATE")),
        other => Err(not_supported(format!("indexes on expressions ({other})"))),
    }
}

/// A table-level `PRIMARY KEY (…)` or `UNIQUE (…)`. The ASC/DESC of the
/// columns is dropped: it orders the underlying index only.
pub(super) fn table_constraint(constraint: sp::TableConstraint) -> Result<TableConstraint> {
    let columns = |columns: Vec<sp::IndexColumn>| {
        columns.into_iter().map(|c| index_column(c).map(|(name, _)| name)).collect::<Result<Vec<_>>>()
    };
    match constraint {
        sp::TableConstraint::PrimaryKey(pk) => {
            check_primary_key(&pk, false)?;
            Ok(TableConstraint::PrimaryKey(columns(pk.columns)?))
        }
        sp::TableConstraint::Unique(unique) => {
            check_unique(&unique, false)?;
            Ok(TableConstraint::Unique(columns(unique.columns)?))
        }
        sp::TableConstraint::Check(_) => Err(not_supported("CHECK constraints here")),
        sp::TableConstraint::ForeignKey(_) => Err(not_supported("foreign keys (FOREIGN KEY … REFERENCES)")),
        other => Err(not_supported(format!("the table constraint `{other}`"))),
    }
}
