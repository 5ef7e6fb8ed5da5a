//! Access paths and plan clean-up: splitting conditions into terms, the
//! rowid or index access a table's conditions allow, pruning the columns
//! a scan need not decode, and the ORDER BY an index already gives.

use super::*;

pub(super) fn split_c(e: &CExpr, out: &mut Vec<CExpr>) {
    if let CExpr::Binary(BinaryOp::And, a, b) = e {
        split_c(a, out);
        split_c(b, out);
    } else {
        out.push(e.clone());
    }
}

/// The hash keys for joining `right`, whose columns start at `offset` of
/// the joined row and number `width`, on `terms` (the join's conjuncts):
/// every `left column = right column` among them. Only a right side that
/// does not depend on the left row qualifies — a full table scan or a
/// materialized subquery; one that an index or rowid serves per left row
/// stays a nested loop, and so does a join without such a term. Columns
/// compare with the BINARY collation, the only one waldb has, so equal
/// keys are exactly what `=` calls equal after comparison affinity.
pub(super) fn hash_keys(right: &Node, terms: &[CExpr], offset: usize, width: usize) -> Option<HashKeys> {
    if !matches!(right, Node::Scan { access: Access::Full, .. } | Node::Derived { .. }) {
        return None;
    }
    let is_right = |idx: usize| (offset..offset + width).contains(&idx);
    let mut keys = HashKeys { left: Vec::new(), right: Vec::new() };
    for t in terms {
        let CExpr::Binary(BinaryOp::Eq, a, b) = t else { continue };
        let (CExpr::Col { idx: x, aff: xa }, CExpr::Col { idx: y, aff: ya }) = (a.as_ref(), b.as_ref()) else {
            continue;
        };
        let ((l, la), (r, ra)) = match (is_right(*x), is_right(*y)) {
            (false, true) if *x < offset => ((*x, *xa), (*y, *ya)),
            (true, false) if *y < offset => ((*y, *ya), (*x, *xa)),
            _ => continue,
        };
        keys.left.push((l, la));
        keys.right.push((r - offset, ra));
    }
    (!keys.left.is_empty()).then_some(keys)
}

/// The column number an ORDER BY or GROUP BY term names: an integer
/// literal, under any unary `+` and `-` (SQLite's `sqlite3ExprIsInteger`,
/// so `ORDER BY -(-2)` is the second column and `ORDER BY -1` an error).
/// Only literals that fit in 32 bits count: `ORDER BY 2147483648` orders
/// by a constant.
pub(super) fn integer_term(e: &ast::Expr) -> Option<i64> {
    match e {
        // A folded `-k` counts when `k` does.
        ast::Expr::Literal(Value::Integer(k)) => Some(*k).filter(|k| k.unsigned_abs() <= i32::MAX as u64),
        ast::Expr::Unary { op: ast::UnaryOp::Plus, expr } => integer_term(expr),
        ast::Expr::Unary { op: ast::UnaryOp::Neg, expr } => integer_term(expr)?.checked_neg(),
        _ => None,
    }
}

pub(super) fn contains_agg(e: &ast::Expr) -> bool {
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
pub(super) fn source_column(e: &CExpr, offset: usize, width: usize) -> Option<usize> {
    match e {
        CExpr::Col { idx, .. } if *idx >= offset && *idx < offset + width => Some(idx - offset),
        _ => None,
    }
}

/// Whether `e` can be evaluated before the source at `offset` is read:
/// constants, parameters, outer rows and earlier sources only.
pub(super) fn independent(e: &CExpr, offset: usize) -> bool {
    let mut ok = true;
    e.walk(&mut |x| match x {
        CExpr::Col { idx, .. } if *idx >= offset => ok = false,
        CExpr::ScalarSub(..) | CExpr::InSub(..) | CExpr::Exists(..) => ok = false,
        _ => {}
    });
    ok
}

/// A condition `column op value` on the source at `offset`.
pub(super) struct Term {
    col: usize,
    op: BinaryOp,
    value: CExpr,
}

pub(super) fn terms(conds: &[CExpr], offset: usize, width: usize) -> (Vec<Term>, Vec<(usize, Vec<CExpr>)>) {
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

pub(super) fn range_of(terms: &[&Term]) -> (Option<RangeBound>, Option<RangeBound>) {
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
pub(super) fn choose_access(t: &Table, catalog: &Catalog, conds: &[CExpr], offset: usize) -> Access {
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
pub(super) fn try_ordered_scan(
    root: &mut Node,
    exprs: &[CExpr],
    hidden: &[CExpr],
    keys: &[SortKey],
    catalog: &Catalog,
) -> bool {
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
