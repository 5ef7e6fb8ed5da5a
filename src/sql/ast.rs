//! waldb's own small SQL syntax tree: the whitelist of what the SQL layer
//! supports. `parse.rs` maps `sqlparser`'s tree into it (and rejects
//! everything else with a precise "not supported" error); the planner sees
//! only these types.
//!
//! Names are kept as written; the planner compares them case-insensitively
//! (SQL identifiers are case-insensitive in SQLite).

use crate::value::Value;

/// One statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    /// `CREATE TABLE [IF NOT EXISTS] name (columns, constraints)`.
    CreateTable {
        /// Table name.
        name: String,
        /// `IF NOT EXISTS` was given.
        if_not_exists: bool,
        /// Column definitions, in order.
        columns: Vec<ColumnDef>,
        /// Table-level `PRIMARY KEY (…)` / `UNIQUE (…)` constraints.
        constraints: Vec<TableConstraint>,
    },
    /// `DROP TABLE [IF EXISTS] name`.
    DropTable {
        /// Table name.
        name: String,
        /// `IF EXISTS` was given.
        if_exists: bool,
    },
    /// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (columns)`.
    CreateIndex {
        /// Index name.
        name: String,
        /// Indexed table.
        table: String,
        /// Indexed columns, in order.
        columns: Vec<IndexColumn>,
        /// `UNIQUE` was given.
        unique: bool,
        /// `IF NOT EXISTS` was given.
        if_not_exists: bool,
    },
    /// `DROP INDEX [IF EXISTS] name`.
    DropIndex {
        /// Index name.
        name: String,
        /// `IF EXISTS` was given.
        if_exists: bool,
    },
    /// `CREATE [TEMP] VIEW [IF NOT EXISTS] name [(columns)] AS query`.
    CreateView {
        /// View name.
        name: String,
        /// `IF NOT EXISTS` was given.
        if_not_exists: bool,
        /// Explicit column names, if given.
        columns: Vec<String>,
        /// The view's query.
        query: Box<Query>,
        /// The query's SQL text, as stored in the catalog.
        query_sql: String,
    },
    /// `DROP VIEW [IF EXISTS] name`.
    DropView {
        /// View name.
        name: String,
        /// `IF EXISTS` was given.
        if_exists: bool,
    },
    /// `INSERT [OR …] INTO table [(columns)] VALUES … | SELECT … | DEFAULT VALUES
    /// [ON CONFLICT …]…`, and `REPLACE INTO …`.
    Insert {
        /// Target table.
        table: String,
        /// Explicit column list, if given.
        columns: Option<Vec<String>>,
        /// The rows.
        source: InsertSource,
        /// What to do on a constraint conflict no upsert clause handles.
        on_conflict: OnConflict,
        /// The upsert clauses (`ON CONFLICT … DO …`), in order (empty: none).
        upsert: Vec<Upsert>,
        /// `RETURNING …` (empty: none).
        returning: Vec<SelectItem>,
    },
    /// `[WITH …] UPDATE table SET col = expr, … [WHERE expr]`.
    Update {
        /// Common table expressions its expressions may read.
        with: Option<With>,
        /// Target table.
        table: String,
        /// `(column, new value)` pairs.
        assignments: Vec<(String, Expr)>,
        /// `WHERE` condition.
        filter: Option<Expr>,
        /// `RETURNING …` (empty: none).
        returning: Vec<SelectItem>,
    },
    /// `[WITH …] DELETE FROM table [WHERE expr]`.
    Delete {
        /// Common table expressions its expressions may read.
        with: Option<With>,
        /// Target table.
        table: String,
        /// `WHERE` condition.
        filter: Option<Expr>,
        /// `RETURNING …` (empty: none).
        returning: Vec<SelectItem>,
    },
    /// A query (`SELECT`, `VALUES`, compound).
    Query(Box<Query>),
    /// `BEGIN [TRANSACTION]`.
    Begin,
    /// `COMMIT` / `END`.
    Commit,
    /// `ROLLBACK`.
    Rollback,
    /// `EXPLAIN statement` (the plan, not the result).
    Explain(Box<Statement>),
    /// `ALTER TABLE table …`.
    AlterTable {
        /// The table.
        table: String,
        /// What changes.
        op: AlterOp,
    },
    /// `PRAGMA name`, `PRAGMA name = value`, `PRAGMA name(value)`.
    Pragma {
        /// The pragma's name, lower-cased (a `main.` schema dropped).
        name: String,
        /// Its argument: a number, a string, or a bare word as text.
        value: Option<Value>,
        /// The argument was given with `=` (a setting), not in parentheses.
        assign: bool,
    },
}

/// An `ALTER TABLE` operation.
#[derive(Clone, Debug, PartialEq)]
pub enum AlterOp {
    /// `RENAME TO new`.
    RenameTable(String),
    /// `RENAME [COLUMN] old TO new`.
    RenameColumn {
        /// The column's name.
        old: String,
        /// Its new name.
        new: String,
    },
    /// `ADD [COLUMN] def`.
    AddColumn(ColumnDef),
    /// `DROP [COLUMN] name`.
    DropColumn(String),
}

/// A `CHECK (expr)` constraint, of a column or of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// `CONSTRAINT name`, if given.
    pub name: Option<String>,
    /// The condition.
    pub expr: Expr,
}

/// A column in `CREATE TABLE`.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDef {
    /// Column name.
    pub name: String,
    /// The declared type as written (`INTEGER`, `VARCHAR(10)`, …), upper-cased;
    /// `None` when no type was given.
    pub type_name: Option<String>,
    /// `PRIMARY KEY` on the column.
    pub primary_key: bool,
    /// `PRIMARY KEY … DESC` on the column.
    pub primary_key_desc: bool,
    /// `NOT NULL`.
    pub not_null: bool,
    /// `UNIQUE`.
    pub unique: bool,
    /// `DEFAULT expr`.
    pub default: Option<Expr>,
    /// `AUTOINCREMENT` (after `PRIMARY KEY`).
    pub autoincrement: bool,
    /// `CHECK (expr)` constraints written on the column.
    pub checks: Vec<Check>,
}

impl ColumnDef {
    /// A column with a name and a declared type and no constraint.
    pub fn new(name: String, type_name: Option<String>) -> ColumnDef {
        ColumnDef {
            name,
            type_name,
            primary_key: false,
            primary_key_desc: false,
            not_null: false,
            unique: false,
            default: None,
            autoincrement: false,
            checks: Vec::new(),
        }
    }
}

/// A table-level constraint.
#[derive(Clone, Debug, PartialEq)]
pub enum TableConstraint {
    /// `PRIMARY KEY (columns)`.
    PrimaryKey(Vec<String>),
    /// `UNIQUE (columns)`.
    Unique(Vec<String>),
    /// `CHECK (expr)`.
    Check(Check),
}

/// A column of an index.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexColumn {
    /// Column name.
    pub name: String,
    /// `DESC` was given.
    pub desc: bool,
}

/// Rows of an `INSERT`.
#[derive(Clone, Debug, PartialEq)]
pub enum InsertSource {
    /// `VALUES (…), (…)`.
    Values(Vec<Vec<Expr>>),
    /// `SELECT …` (any query).
    Query(Box<Query>),
    /// `DEFAULT VALUES`.
    DefaultValues,
}

/// `INSERT OR …` conflict handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnConflict {
    /// Fail the statement (the default, `ABORT`).
    Abort,
    /// `OR REPLACE` / `REPLACE INTO`: delete the conflicting rows first.
    Replace,
    /// `OR IGNORE`: skip the conflicting row.
    Ignore,
    /// `OR FAIL`: fail the statement, keeping the changes of its earlier
    /// rows.
    Fail,
    /// `OR ROLLBACK`: fail the statement and roll back the enclosing
    /// transaction.
    Rollback,
}

/// One upsert clause: `ON CONFLICT [(columns) [WHERE …]] DO NOTHING | DO
/// UPDATE SET … [WHERE …]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Upsert {
    /// The conflict target's columns (`None`: any uniqueness conflict).
    pub target: Option<Vec<String>>,
    /// The target's `WHERE` (it selects a partial index in SQLite; waldb
    /// has none, so it is resolved against the table and otherwise unused,
    /// as SQLite ignores it for a full index).
    pub target_filter: Option<Expr>,
    /// `DO UPDATE SET col = expr, …` (empty: `DO NOTHING`).
    pub assignments: Vec<(String, Expr)>,
    /// `DO UPDATE … WHERE cond`.
    pub filter: Option<Expr>,
}

/// A query: a set expression with ordering and limits.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// `WITH [RECURSIVE] …`: common table expressions visible to the query.
    pub with: Option<With>,
    /// The rows.
    pub body: SetExpr,
    /// `ORDER BY`.
    pub order_by: Vec<OrderItem>,
    /// `LIMIT`.
    pub limit: Option<Expr>,
    /// `OFFSET` (or the first number of `LIMIT a, b`, which is the offset).
    pub offset: Option<Expr>,
}

/// A `WITH` clause.
#[derive(Clone, Debug, PartialEq)]
pub struct With {
    /// `RECURSIVE` was written (informational: as in SQLite, a CTE is
    /// recursive when it refers to itself, with or without the keyword).
    pub recursive: bool,
    /// The common table expressions, in order; each sees those before it.
    pub ctes: Vec<Cte>,
}

/// One common table expression: `name [(columns)] AS [[NOT] MATERIALIZED] (query)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cte {
    /// Its name.
    pub name: String,
    /// Explicit column names, if given.
    pub columns: Vec<String>,
    /// Its query.
    pub query: Box<Query>,
    /// `AS MATERIALIZED` (`Some(true)`) / `AS NOT MATERIALIZED`
    /// (`Some(false)`), as sqlparser reports it: a hint that changes no
    /// result. With the SQLite dialect it is `None`: `parse/tokens.rs`
    /// drops the hint before sqlparser (which rejects it there) runs.
    pub materialized: Option<bool>,
}

/// The body of a query.
#[derive(Clone, Debug, PartialEq)]
pub enum SetExpr {
    /// A `SELECT`.
    Select(Box<Select>),
    /// `VALUES (…), (…)`.
    Values(Vec<Vec<Expr>>),
    /// `left UNION [ALL] | EXCEPT | INTERSECT right`.
    Compound {
        /// The operator.
        op: SetOp,
        /// Left side.
        left: Box<SetExpr>,
        /// Right side.
        right: Box<SetExpr>,
    },
    /// A parenthesised query with its own ORDER BY/LIMIT.
    Query(Box<Query>),
}

/// A compound operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    /// `UNION` (distinct).
    Union,
    /// `UNION ALL`.
    UnionAll,
    /// `EXCEPT`.
    Except,
    /// `INTERSECT`.
    Intersect,
}

/// A `SELECT`.
#[derive(Clone, Debug, PartialEq)]
pub struct Select {
    /// `DISTINCT`.
    pub distinct: bool,
    /// The result columns.
    pub items: Vec<SelectItem>,
    /// `FROM` items; several are a cross join (comma).
    pub from: Vec<FromItem>,
    /// `WHERE`.
    pub filter: Option<Expr>,
    /// `GROUP BY`.
    pub group_by: Vec<Expr>,
    /// `HAVING`.
    pub having: Option<Expr>,
}

/// A result column.
#[derive(Clone, Debug, PartialEq)]
pub enum SelectItem {
    /// `*`.
    Wildcard,
    /// `table.*`.
    QualifiedWildcard(String),
    /// `expr [AS alias]`.
    Expr {
        /// The expression.
        expr: Expr,
        /// Its alias.
        alias: Option<String>,
    },
}

/// A `FROM` item.
#[derive(Clone, Debug, PartialEq)]
pub enum FromItem {
    /// A table or view, with an optional alias.
    Table {
        /// Table name.
        name: String,
        /// `AS alias`.
        alias: Option<String>,
    },
    /// `(query) [AS alias]`.
    Subquery {
        /// The query.
        query: Box<Query>,
        /// Its alias.
        alias: Option<String>,
    },
    /// `left [NATURAL] [INNER | LEFT | CROSS] JOIN right [ON expr | USING (cols)]`.
    Join {
        /// Left side.
        left: Box<FromItem>,
        /// Right side.
        right: Box<FromItem>,
        /// Join kind.
        kind: JoinKind,
        /// `ON` condition.
        on: Option<Expr>,
        /// `USING` columns.
        using: Vec<String>,
        /// `NATURAL`: `USING` every column name the two sides share.
        natural: bool,
    },
}

/// A join kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    /// `[INNER] JOIN`.
    Inner,
    /// `LEFT [OUTER] JOIN`.
    Left,
    /// `CROSS JOIN` or a comma.
    Cross,
}

/// An `ORDER BY` item.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderItem {
    /// The expression (an integer literal is a column ordinal).
    pub expr: Expr,
    /// `DESC`.
    pub desc: bool,
    /// `NULLS FIRST` (`Some(true)`) / `NULLS LAST` (`Some(false)`).
    pub nulls_first: Option<bool>,
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A literal.
    Literal(Value),
    /// A parameter: `?` (`None`, numbered in order of appearance) or `?N`.
    Param(Option<usize>),
    /// A column reference, optionally qualified by a table or alias.
    Column {
        /// Qualifier.
        table: Option<String>,
        /// Column name.
        name: String,
    },
    /// A unary operation.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<Expr>,
    },
    /// A binary operation.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `expr IS [NOT] NULL` (also `ISNULL`, `NOTNULL`).
    IsNull {
        /// The operand.
        expr: Box<Expr>,
        /// `NOT`.
        negated: bool,
    },
    /// `expr [NOT] BETWEEN low AND high`.
    Between {
        /// The operand.
        expr: Box<Expr>,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
        /// `NOT`.
        negated: bool,
    },
    /// `expr [NOT] IN (list)` (an empty list is allowed).
    InList {
        /// The operand.
        expr: Box<Expr>,
        /// The list.
        list: Vec<Expr>,
        /// `NOT`.
        negated: bool,
    },
    /// `expr [NOT] IN (query)`.
    InSubquery {
        /// The operand.
        expr: Box<Expr>,
        /// The subquery.
        query: Box<Query>,
        /// `NOT`.
        negated: bool,
    },
    /// `[NOT] EXISTS (query)`.
    Exists {
        /// The subquery.
        query: Box<Query>,
        /// `NOT`.
        negated: bool,
    },
    /// `(query)` used as a value.
    Subquery(Box<Query>),
    /// `expr [NOT] LIKE pattern [ESCAPE e]`, or `GLOB` (case-sensitive,
    /// `*`/`?` wildcards).
    Like {
        /// The operand.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// `ESCAPE` character.
        escape: Option<Box<Expr>>,
        /// `NOT`.
        negated: bool,
        /// `GLOB` instead of `LIKE`.
        glob: bool,
    },
    /// `CASE [operand] WHEN … THEN … [ELSE …] END`.
    Case {
        /// The operand of the simple form.
        operand: Option<Box<Expr>>,
        /// `(WHEN, THEN)` pairs.
        whens: Vec<(Expr, Expr)>,
        /// `ELSE`.
        else_result: Option<Box<Expr>>,
    },
    /// `CAST(expr AS type)`; the type name upper-cased as written.
    Cast {
        /// The operand.
        expr: Box<Expr>,
        /// Target type name.
        type_name: String,
    },
    /// A function call; `name` is lower-cased.
    Function {
        /// Function name.
        name: String,
        /// Arguments.
        args: Vec<Expr>,
        /// `DISTINCT` inside the call (aggregates).
        distinct: bool,
        /// `f(*)` (only `count(*)`).
        star: bool,
    },
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `+x`.
    Plus,
    /// `NOT x`.
    Not,
    /// `~x`.
    BitNot,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Mod,
    /// `||`.
    Concat,
    /// `=` or `==`.
    Eq,
    /// `<>` or `!=`.
    NotEq,
    /// `<`.
    Lt,
    /// `<=`.
    LtEq,
    /// `>`.
    Gt,
    /// `>=`.
    GtEq,
    /// `AND`.
    And,
    /// `OR`.
    Or,
    /// `&`.
    BitAnd,
    /// `|`.
    BitOr,
    /// `<<`.
    ShiftLeft,
    /// `>>`.
    ShiftRight,
    /// `IS` (null-safe equality).
    Is,
    /// `IS NOT`.
    IsNot,
}
