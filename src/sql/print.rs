//! SQL text from the syntax tree: the catalog stores each table's and
//! index's `CREATE` statement in this form (so it reparses to the same
//! definition), and `EXPLAIN` and the shell's `.schema` print it.

use std::fmt::{self, Display, Formatter, Write};

use crate::value::Value;

use super::ast::*;
use super::printf::quote_real;

/// Quote an identifier when it is not a plain word.
pub fn ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if plain { name.to_string() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

/// A literal value as SQL.
pub fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => quote_real(*r),
        Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Blob(b) => {
            let mut s = String::from("X'");
            for byte in b {
                let _ = write!(s, "{byte:02X}");
            }
            s.push('\'');
            s
        }
    }
}

fn list<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{x}")?;
    }
    Ok(())
}

impl Display for UnaryOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnaryOp::Neg => "-",
            UnaryOp::Plus => "+",
            UnaryOp::Not => "NOT ",
            UnaryOp::BitNot => "~",
        })
    }
}

impl Display for BinaryOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Concat => "||",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
            BinaryOp::BitAnd => "&",
            BinaryOp::BitOr => "|",
            BinaryOp::ShiftLeft => "<<",
            BinaryOp::ShiftRight => ">>",
            BinaryOp::Is => "IS",
            BinaryOp::IsNot => "IS NOT",
        })
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let not = |n: bool| if n { "NOT " } else { "" };
        match self {
            Expr::Literal(v) => f.write_str(&literal(v)),
            Expr::Param(None) => f.write_str("?"),
            Expr::Param(Some(n)) => write!(f, "?{n}"),
            Expr::Column { table: Some(t), name } => write!(f, "{}.{}", ident(t), ident(name)),
            Expr::Column { table: None, name } => f.write_str(&ident(name)),
            Expr::Unary { op, expr } => write!(f, "{op}({expr})"),
            Expr::Binary { op, left, right } => write!(f, "({left} {op} {right})"),
            Expr::IsNull { expr, negated } => write!(f, "({expr} IS {}NULL)", not(*negated)),
            Expr::Between { expr, low, high, negated } => {
                write!(f, "({expr} {}BETWEEN {low} AND {high})", not(*negated))
            }
            Expr::InList { expr, list: items, negated } => {
                write!(f, "({expr} {}IN (", not(*negated))?;
                list(f, items)?;
                f.write_str("))")
            }
            Expr::InSubquery { expr, query, negated } => write!(f, "({expr} {}IN ({query}))", not(*negated)),
            Expr::Exists { query, negated } => write!(f, "({}EXISTS ({query}))", not(*negated)),
            Expr::Subquery(q) => write!(f, "({q})"),
            Expr::Like { expr, pattern, escape, negated, glob } => {
                write!(f, "({expr} {}{} {pattern}", not(*negated), if *glob { "GLOB" } else { "LIKE" })?;
                if let Some(e) = escape {
                    write!(f, " ESCAPE {e}")?;
                }
                f.write_str(")")
            }
            Expr::Case { operand, whens, else_result } => {
                f.write_str("CASE")?;
                if let Some(o) = operand {
                    write!(f, " {o}")?;
                }
                for (w, t) in whens {
                    write!(f, " WHEN {w} THEN {t}")?;
                }
                if let Some(e) = else_result {
                    write!(f, " ELSE {e}")?;
                }
                f.write_str(" END")
            }
            Expr::Cast { expr, type_name } => write!(f, "CAST({expr} AS {type_name})"),
            Expr::Function { name, args, distinct, star } => {
                write!(f, "{name}(")?;
                if *star {
                    f.write_str("*")?;
                } else {
                    if *distinct {
                        f.write_str("DISTINCT ")?;
                    }
                    list(f, args)?;
                }
                f.write_str(")")
            }
        }
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(with) = &self.with {
            f.write_str(if with.recursive { "WITH RECURSIVE " } else { "WITH " })?;
            for (i, cte) in with.ctes.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                f.write_str(&ident(&cte.name))?;
                if !cte.columns.is_empty() {
                    let names: Vec<String> = cte.columns.iter().map(|c| ident(c)).collect();
                    write!(f, "({})", names.join(", "))?;
                }
                f.write_str(match cte.materialized {
                    None => " AS (",
                    Some(true) => " AS MATERIALIZED (",
                    Some(false) => " AS NOT MATERIALIZED (",
                })?;
                write!(f, "{})", cte.query)?;
            }
            f.write_str(" ")?;
        }
        write!(f, "{}", self.body)?;
        if !self.order_by.is_empty() {
            f.write_str(" ORDER BY ")?;
            for (i, o) in self.order_by.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}{}", o.expr, if o.desc { " DESC" } else { "" })?;
                if let Some(nf) = o.nulls_first {
                    f.write_str(if nf { " NULLS FIRST" } else { " NULLS LAST" })?;
                }
            }
        }
        if let Some(l) = &self.limit {
            write!(f, " LIMIT {l}")?;
        }
        if let Some(o) = &self.offset {
            write!(f, " OFFSET {o}")?;
        }
        Ok(())
    }
}

impl Display for SetExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SetExpr::Select(s) => write!(f, "{s}"),
            SetExpr::Values(rows) => {
                f.write_str("VALUES ")?;
                for (i, r) in rows.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str("(")?;
                    list(f, r)?;
                    f.write_str(")")?;
                }
                Ok(())
            }
            SetExpr::Compound { op, left, right } => {
                let op = match op {
                    SetOp::Union => "UNION",
                    SetOp::UnionAll => "UNION ALL",
                    SetOp::Except => "EXCEPT",
                    SetOp::Intersect => "INTERSECT",
                };
                write!(f, "{left} {op} {right}")
            }
            SetExpr::Query(q) => write!(f, "({q})"),
        }
    }
}

impl Display for SelectItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SelectItem::Wildcard => f.write_str("*"),
            SelectItem::QualifiedWildcard(t) => write!(f, "{}.*", ident(t)),
            SelectItem::Expr { expr, alias: Some(a) } => write!(f, "{expr} AS {}", ident(a)),
            SelectItem::Expr { expr, alias: None } => write!(f, "{expr}"),
        }
    }
}

impl Display for FromItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            FromItem::Table { name, alias } => {
                f.write_str(&ident(name))?;
                if let Some(a) = alias {
                    write!(f, " AS {}", ident(a))?;
                }
                Ok(())
            }
            FromItem::Subquery { query, alias } => {
                write!(f, "({query})")?;
                if let Some(a) = alias {
                    write!(f, " AS {}", ident(a))?;
                }
                Ok(())
            }
            FromItem::Join { left, right, kind, on, using, natural } => {
                let k = match kind {
                    JoinKind::Inner => "JOIN",
                    JoinKind::Left => "LEFT JOIN",
                    JoinKind::Cross => "CROSS JOIN",
                };
                let natural = if *natural { "NATURAL " } else { "" };
                write!(f, "({left} {natural}{k} {right}")?;
                if let Some(on) = on {
                    write!(f, " ON {on}")?;
                }
                if !using.is_empty() {
                    f.write_str(" USING (")?;
                    list(f, &using.iter().map(|u| ident(u)).collect::<Vec<_>>())?;
                    f.write_str(")")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl Display for Select {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(if self.distinct { "SELECT DISTINCT " } else { "SELECT " })?;
        list(f, &self.items)?;
        if !self.from.is_empty() {
            f.write_str(" FROM ")?;
            list(f, &self.from)?;
        }
        if let Some(w) = &self.filter {
            write!(f, " WHERE {w}")?;
        }
        if !self.group_by.is_empty() {
            f.write_str(" GROUP BY ")?;
            list(f, &self.group_by)?;
        }
        if let Some(h) = &self.having {
            write!(f, " HAVING {h}")?;
        }
        Ok(())
    }
}

/// The `CREATE TABLE` statement for a table definition.
pub fn create_table(name: &str, columns: &[ColumnDef], constraints: &[TableConstraint]) -> String {
    let mut s = format!("CREATE TABLE {} (", ident(name));
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&ident(&c.name));
        if let Some(t) = &c.type_name {
            let _ = write!(s, " {t}");
        }
        if c.primary_key {
            s.push_str(if c.primary_key_desc { " PRIMARY KEY DESC" } else { " PRIMARY KEY" });
            if c.autoincrement {
                s.push_str(" AUTOINCREMENT");
            }
        }
        if c.not_null {
            s.push_str(" NOT NULL");
        }
        if c.unique {
            s.push_str(" UNIQUE");
        }
        if let Some(d) = &c.default {
            let _ = write!(s, " DEFAULT ({d})");
        }
        for ch in &c.checks {
            s.push_str(&check(ch));
        }
    }
    for c in constraints {
        let (kw, cols) = match c {
            TableConstraint::PrimaryKey(cols) => ("PRIMARY KEY", cols),
            TableConstraint::Unique(cols) => ("UNIQUE", cols),
            TableConstraint::Check(ch) => {
                let _ = write!(s, ",{}", check(ch));
                continue;
            }
        };
        let _ = write!(s, ", {kw} ({})", cols.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", "));
    }
    s.push(')');
    s
}

/// ` [CONSTRAINT name] CHECK (expr)`.
fn check(c: &Check) -> String {
    match &c.name {
        Some(n) => format!(" CONSTRAINT {} CHECK ({})", ident(n), c.expr),
        None => format!(" CHECK ({})", c.expr),
    }
}

/// The `CREATE INDEX` statement for an index definition.
pub fn create_index(name: &str, table: &str, columns: &[IndexColumn], unique: bool) -> String {
    let cols: Vec<String> =
        columns.iter().map(|c| format!("{}{}", ident(&c.name), if c.desc { " DESC" } else { "" })).collect();
    format!(
        "CREATE {}INDEX {} ON {} ({})",
        if unique { "UNIQUE " } else { "" },
        ident(name),
        ident(table),
        cols.join(", ")
    )
}

/// The `CREATE VIEW` statement for a view definition.
pub fn create_view(name: &str, columns: &[String], query_sql: &str) -> String {
    if columns.is_empty() {
        format!("CREATE VIEW {} AS {query_sql}", ident(name))
    } else {
        let cols: Vec<String> = columns.iter().map(|c| ident(c)).collect();
        format!("CREATE VIEW {} ({}) AS {query_sql}", ident(name), cols.join(", "))
    }
}
