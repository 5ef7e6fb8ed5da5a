//! `EXPLAIN`: a plan as indented text, one operator per line, naming the
//! index or rowid lookup each table is read through.

use super::catalog::Table;
use super::plan::{Access, Node, QueryPlan, SubPlan};
use super::prepare::{Action, InsertRows};

/// The lines describing `action` and its subqueries.
pub fn explain(action: &Action, subs: &[SubPlan]) -> Vec<String> {
    let mut out = Vec::new();
    match action {
        Action::Query(q) => node(&q.root, 0, &mut out),
        Action::Insert(p) => {
            out.push(format!("INSERT INTO {}", p.table.name));
            if let InsertRows::Query(q) = &p.rows {
                node(&q.root, 1, &mut out);
            } else if let InsertRows::Values(rows) = &p.rows {
                out.push(format!("  VALUES ({} rows)", rows.len()));
            }
        }
        Action::Update(p) => {
            out.push(format!("UPDATE {}", p.table.name));
            node(&p.rows, 1, &mut out);
        }
        Action::Delete(p) => {
            out.push(format!("DELETE FROM {}", p.table.name));
            node(&p.rows, 1, &mut out);
        }
        Action::Schema(s) => out.push(format!("SCHEMA {}", super::prepare::kind(s))),
        Action::Begin => out.push("BEGIN".into()),
        Action::Commit => out.push("COMMIT".into()),
        Action::Rollback => out.push("ROLLBACK".into()),
        Action::Pragma(p) => out.push(format!("PRAGMA {}", p.name)),
        Action::Explain(inner) => return explain(inner, subs),
    }
    for (i, s) in subs.iter().enumerate() {
        out.push(format!("SUBQUERY {i}{}", if s.correlated { " (correlated)" } else { "" }));
        node(&s.plan.root, 1, &mut out);
    }
    out
}

fn access(t: &Table, a: &Access, desc: bool) -> String {
    let table = &t.name;
    let order = if desc { " (descending)" } else { "" };
    match a {
        Access::Full => format!("SCAN {table}{order}"),
        Access::RowidEq(_) => format!("SEARCH {table} USING ROWID (rowid=?)"),
        Access::RowidIn(v) => format!("SEARCH {table} USING ROWID (rowid IN {} values)", v.len()),
        Access::RowidRange(lo, hi) => {
            format!("SEARCH {table} USING ROWID ({}){order}", range("rowid", lo.is_some(), hi.is_some()))
        }
        Access::Index { index, eq, lo, hi } => {
            let mut terms: Vec<String> = Vec::new();
            let col = |i: usize| {
                index.columns.get(i).and_then(|&c| t.columns.get(c)).map_or_else(|| "?".to_string(), |c| c.name.clone())
            };
            for i in 0..eq.len() {
                terms.push(format!("{}=?", col(i)));
            }
            if lo.is_some() || hi.is_some() {
                terms.push(range(&col(eq.len()), lo.is_some(), hi.is_some()));
            }
            let kind = if index.auto { "PRIMARY KEY/UNIQUE INDEX" } else { "INDEX" };
            format!("SEARCH {table} USING {kind} {} ({}){order}", index.name, terms.join(" AND "))
        }
        Access::IndexIn { index, values } => {
            format!("SEARCH {table} USING INDEX {} (first column IN {} values){order}", index.name, values.len())
        }
    }
}

fn range(col: &str, lo: bool, hi: bool) -> String {
    match (lo, hi) {
        (true, true) => format!("{col}>? AND {col}<?"),
        (true, false) => format!("{col}>?"),
        _ => format!("{col}<?"),
    }
}

fn node(n: &Node, depth: usize, out: &mut Vec<String>) {
    let pad = "  ".repeat(depth);
    let mut line = |s: String| out.push(format!("{pad}{s}"));
    match n {
        Node::One => line("ONE ROW".into()),
        Node::Values(rows) => line(format!("VALUES ({} rows)", rows.len())),
        Node::Scan { table, access: a, desc, .. } => line(access(table, a, *desc)),
        Node::Derived { plan, .. } => {
            line("MATERIALIZE SUBQUERY".into());
            query(plan, depth + 1, out);
        }
        Node::Join { left, right, left_outer, hash, .. } => {
            let kind = if *left_outer { "LEFT JOIN" } else { "JOIN" };
            line(match hash {
                Some(keys) => format!("{kind} (hash on {} columns)", keys.left.len()),
                None => format!("{kind} (nested loop)"),
            });
            node(left, depth + 1, out);
            node(right, depth + 1, out);
        }
        Node::Filter { input, .. } => {
            line("FILTER".into());
            node(input, depth + 1, out);
        }
        Node::Project { input, exprs } => {
            line(format!("PROJECT {} columns", exprs.len()));
            node(input, depth + 1, out);
        }
        Node::Aggregate { input, group, aggs, .. } => {
            line(if group.is_empty() {
                format!("AGGREGATE {} functions", aggs.len())
            } else {
                format!("GROUP BY {} keys, {} functions", group.len(), aggs.len())
            });
            node(input, depth + 1, out);
        }
        Node::Sort { input, keys } => {
            line(format!("SORT BY {} keys", keys.len()));
            node(input, depth + 1, out);
        }
        Node::Distinct { input, .. } => {
            line("DISTINCT".into());
            node(input, depth + 1, out);
        }
        Node::Limit { input, .. } => {
            line("LIMIT".into());
            node(input, depth + 1, out);
        }
        Node::Compound { op, left, right } => {
            line(format!("COMPOUND {op:?}"));
            node(left, depth + 1, out);
            node(right, depth + 1, out);
        }
        Node::Trim { input, .. } => node(input, depth, out),
        Node::Working { .. } => line("RECURSIVE TABLE ROW".into()),
        Node::Recursive(r) => {
            line(format!("RECURSIVE CTE {}{}", r.name, if r.distinct { " (UNION)" } else { " (UNION ALL)" }));
            node(&r.init, depth + 1, out);
            node(&r.step, depth + 1, out);
        }
    }
}

fn query(q: &QueryPlan, depth: usize, out: &mut Vec<String>) {
    node(&q.root, depth, out);
}
