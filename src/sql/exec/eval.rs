//! Expression evaluation against the current row: operators with SQLite's
//! affinities and NULL rules, comparisons, `IN` membership, `LIKE`/`GLOB`,
//! and subquery results.

use super::*;

/// Rows of subquery `id` evaluated for the current row.
pub(super) fn sub_rows<S: PageStore>(id: usize, row: &[Value], cx: &mut Ctx<'_, S>) -> Result<Rc<Vec<Row>>> {
    let sub = cx.subs.get(id).ok_or_else(|| Error::Sql(format!("no subquery {id}")))?;
    if !sub.correlated
        && let Some(SubValue::Rows(r)) = cx.sub_cache.get(&id)
    {
        return Ok(r.clone());
    }
    let subs = cx.subs;
    let plan = &subs[id].plan;
    cx.outer.push(row.to_vec());
    let rows = collect(&plan.root, cx);
    cx.outer.pop();
    let rows = Rc::new(rows?);
    if !subs[id].correlated {
        cx.sub_cache.insert(id, SubValue::Rows(rows.clone()));
    }
    Ok(rows)
}

pub(super) fn bool_value(b: Option<bool>) -> Value {
    match b {
        None => Value::Null,
        Some(b) => Value::Integer(i64::from(b)),
    }
}

/// SQL `LIKE` (case-insensitive for ASCII; `%`, `_`, an escape) and `GLOB`
/// (case-sensitive; `*`, `?`, `[…]`).
pub fn like(text: &str, pattern: &str, escape: Option<char>, glob: bool) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    pub(super) fn eq(a: char, b: char, glob: bool) -> bool {
        if glob { a == b } else { a.eq_ignore_ascii_case(&b) }
    }
    pub(super) fn go(t: &[char], p: &[char], esc: Option<char>, glob: bool) -> bool {
        let (many, one) = if glob { ('*', '?') } else { ('%', '_') };
        let mut ti = 0;
        let mut pi = 0;
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            if pi < p.len() {
                let c = p[pi];
                if Some(c) == esc && !glob && pi + 1 < p.len() {
                    if eq(t[ti], p[pi + 1], glob) {
                        ti += 1;
                        pi += 2;
                        continue;
                    }
                } else if c == many {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                } else if c == one {
                    ti += 1;
                    pi += 1;
                    continue;
                } else if glob && c == '[' {
                    if let Some(end) = p[pi + 1..].iter().position(|&x| x == ']').map(|e| pi + 1 + e) {
                        let class = &p[pi + 1..end];
                        let (neg, class) = match class.first() {
                            Some('^') => (true, &class[1..]),
                            _ => (false, class),
                        };
                        let mut hit = false;
                        let mut i = 0;
                        while i < class.len() {
                            if i + 2 < class.len() && class[i + 1] == '-' {
                                hit |= class[i] <= t[ti] && t[ti] <= class[i + 2];
                                i += 3;
                            } else {
                                hit |= class[i] == t[ti];
                                i += 1;
                            }
                        }
                        if hit != neg {
                            ti += 1;
                            pi = end + 1;
                            continue;
                        }
                    }
                } else if eq(t[ti], c, glob) {
                    ti += 1;
                    pi += 1;
                    continue;
                }
            }
            match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            }
        }
        p[pi..].iter().all(|&c| c == many)
    }
    go(&t, &p, escape, glob)
}

pub(super) fn cmp_op(op: BinaryOp, o: Ordering) -> bool {
    match op {
        BinaryOp::Eq => o.is_eq(),
        BinaryOp::NotEq => o.is_ne(),
        BinaryOp::Lt => o.is_lt(),
        BinaryOp::LtEq => o.is_le(),
        BinaryOp::Gt => o.is_gt(),
        _ => o.is_ge(),
    }
}

/// The three-valued result of `x [NOT] IN (…)`: true on an equal
/// candidate, NULL if none was equal but some comparison was NULL.
#[derive(Default)]
pub(super) struct Membership {
    found: bool,
    null: bool,
}

impl Membership {
    /// Record one comparison; true once a candidate is equal (stop).
    pub(super) fn test(&mut self, c: Option<Ordering>) -> bool {
        match c {
            Some(Ordering::Equal) => self.found = true,
            None => self.null = true,
            _ => {}
        }
        self.found
    }

    pub(super) fn result(&self, negated: bool) -> Value {
        let r = if self.found {
            Some(true)
        } else if self.null {
            None
        } else {
            Some(false)
        };
        bool_value(if negated { r.map(|b| !b) } else { r })
    }
}

/// Evaluate an expression against `row`.
#[recursive::recursive]
pub fn eval<S: PageStore>(e: &CExpr, row: &[Value], cx: &mut Ctx<'_, S>) -> Result<Value> {
    Ok(match e {
        CExpr::Const(v) => v.clone(),
        CExpr::Param(i) => cx.params.get(*i).cloned().unwrap_or(Value::Null),
        CExpr::Col { idx, .. } => row.get(*idx).cloned().unwrap_or(Value::Null),
        CExpr::Outer { depth, idx, .. } => {
            let n = cx.outer.len();
            n.checked_sub(*depth)
                .and_then(|i| cx.outer.get(i))
                .and_then(|r| r.get(*idx))
                .cloned()
                .unwrap_or(Value::Null)
        }
        CExpr::Unary(op, a) => {
            let v = eval(a, row, cx)?;
            match op {
                UnaryOp::Neg => types::neg(&v),
                UnaryOp::Plus => v,
                UnaryOp::Not => bool_value(truth(&v).map(|b| !b)),
                UnaryOp::BitNot => match v {
                    Value::Null => Value::Null,
                    other => Value::Integer(!types::to_int(&other)),
                },
            }
        }
        CExpr::Binary(op, a, b) => match op {
            BinaryOp::And => {
                let x = truth(&eval(a, row, cx)?);
                if x == Some(false) {
                    return Ok(Value::Integer(0));
                }
                let y = truth(&eval(b, row, cx)?);
                bool_value(match (x, y) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                })
            }
            BinaryOp::Or => {
                let x = truth(&eval(a, row, cx)?);
                if x == Some(true) {
                    return Ok(Value::Integer(1));
                }
                let y = truth(&eval(b, row, cx)?);
                bool_value(match (x, y) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                })
            }
            _ => {
                let x = eval(a, row, cx)?;
                let y = eval(b, row, cx)?;
                binary(*op, &x, a.affinity(), &y, b.affinity())?
            }
        },
        CExpr::IsNull(a, negated) => Value::Integer(i64::from(matches!(eval(a, row, cx)?, Value::Null) != *negated)),
        CExpr::Between(a, lo, hi, negated) => {
            let v = eval(a, row, cx)?;
            let l = eval(lo, row, cx)?;
            let h = eval(hi, row, cx)?;
            let aa = a.affinity();
            let ge = compare(&v, aa, &l, lo.affinity()).map(Ordering::is_ge);
            let le = compare(&v, aa, &h, hi.affinity()).map(Ordering::is_le);
            let r = match (ge, le) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            bool_value(if *negated { r.map(|b| !b) } else { r })
        }
        CExpr::InList(a, list, negated) => {
            let v = eval(a, row, cx)?;
            if matches!(v, Value::Null) {
                return Ok(if list.is_empty() { Value::Integer(i64::from(*negated)) } else { Value::Null });
            }
            // `a IN (x, y)` is `a = +x OR a = +y`: the list's values have
            // no affinity, even columns and CASTs (SQLite's rule).
            let mut m = Membership::default();
            for x in list {
                let w = eval(x, row, cx)?;
                if m.test(compare(&v, a.affinity(), &w, None)) {
                    break;
                }
            }
            m.result(*negated)
        }
        CExpr::InSub(a, id, negated) => {
            let v = eval(a, row, cx)?;
            let rows = sub_rows(*id, row, cx)?;
            if matches!(v, Value::Null) {
                return Ok(if rows.is_empty() { Value::Integer(i64::from(*negated)) } else { Value::Null });
            }
            let aff = cx.subs.get(*id).and_then(|s| s.plan.affinities.first().copied().flatten());
            let mut m = Membership::default();
            for r in rows.iter() {
                if m.test(compare(&v, a.affinity(), r.first().unwrap_or(&Value::Null), aff)) {
                    break;
                }
            }
            m.result(*negated)
        }
        CExpr::Exists(id, negated) => {
            let rows = sub_rows(*id, row, cx)?;
            Value::Integer(i64::from(rows.is_empty() == *negated))
        }
        CExpr::ScalarSub(id, _) => {
            let rows = sub_rows(*id, row, cx)?;
            rows.first().and_then(|r| r.first().cloned()).unwrap_or(Value::Null)
        }
        CExpr::Like(a, p, esc, negated, glob) => {
            let v = eval(a, row, cx)?;
            let pat = eval(p, row, cx)?;
            let esc = match esc {
                Some(e) => match types::to_text(&eval(e, row, cx)?) {
                    Some(s) if s.chars().count() == 1 => s.chars().next(),
                    Some(_) => return Err(Error::Sql("ESCAPE expression must be a single character".into())),
                    None => return Ok(Value::Null),
                },
                None => None,
            };
            match (types::to_text(&v), types::to_text(&pat)) {
                (Some(t), Some(pt)) => Value::Integer(i64::from(like(&t, &pt, esc, *glob) != *negated)),
                _ => Value::Null,
            }
        }
        CExpr::Case(operand, whens, else_) => {
            match operand {
                Some(o) => {
                    let v = eval(o, row, cx)?;
                    for (w, t) in whens {
                        let wv = eval(w, row, cx)?;
                        if compare(&v, o.affinity(), &wv, w.affinity()) == Some(Ordering::Equal) {
                            return eval(t, row, cx);
                        }
                    }
                }
                None => {
                    for (w, t) in whens {
                        if truth(&eval(w, row, cx)?) == Some(true) {
                            return eval(t, row, cx);
                        }
                    }
                }
            }
            match else_ {
                Some(e) => eval(e, row, cx)?,
                None => Value::Null,
            }
        }
        CExpr::Cast(a, t) => types::cast(&eval(a, row, cx)?, t)?,
        CExpr::Func(Scalar::Ext(g), args) => {
            let vals = args.iter().map(|x| eval(x, row, cx)).collect::<Result<Vec<_>>>()?;
            builtins::call(*g, &vals, cx)?
        }
        CExpr::Func(f, args) => {
            // f(column) reads the row's value in place: no copy of a long
            // text or blob just to measure or convert it.
            if let [CExpr::Col { idx, .. }] = args.as_slice()
                && let Some(v) = row.get(*idx)
            {
                return func::call(*f, std::slice::from_ref(v));
            }
            let vals = args.iter().map(|x| eval(x, row, cx)).collect::<Result<Vec<_>>>()?;
            func::call(*f, &vals)?
        }
    })
}

/// A binary operator other than AND/OR on evaluated operands.
pub fn binary(op: BinaryOp, x: &Value, xa: Option<Affinity>, y: &Value, ya: Option<Affinity>) -> Result<Value> {
    Ok(match op {
        BinaryOp::Add => types::add(x, y),
        BinaryOp::Sub => types::sub(x, y),
        BinaryOp::Mul => types::mul(x, y),
        BinaryOp::Div => types::div(x, y),
        BinaryOp::Mod => types::rem(x, y),
        BinaryOp::Concat => crate::sql::build::concat(x, y)?,
        BinaryOp::Eq | BinaryOp::NotEq | BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq => {
            bool_value(compare(x, xa, y, ya).map(|o| cmp_op(op, o)))
        }
        BinaryOp::Is | BinaryOp::IsNot => {
            let same = match (x, y) {
                (Value::Null, Value::Null) => true,
                (Value::Null, _) | (_, Value::Null) => false,
                _ => compare(x, xa, y, ya) == Some(Ordering::Equal),
            };
            Value::Integer(i64::from(same == (op == BinaryOp::Is)))
        }
        BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::ShiftLeft | BinaryOp::ShiftRight => {
            if matches!(x, Value::Null) || matches!(y, Value::Null) {
                return Ok(Value::Null);
            }
            let (a, b) = (types::to_int(x), types::to_int(y));
            Value::Integer(match op {
                BinaryOp::BitAnd => a & b,
                BinaryOp::BitOr => a | b,
                BinaryOp::ShiftLeft => shift(a, b),
                _ => shift(a, b.saturating_neg()),
            })
        }
        BinaryOp::And | BinaryOp::Or => return Err(Error::Sql("AND/OR evaluated out of place".into())),
    })
}

pub(super) fn shift(a: i64, b: i64) -> i64 {
    if b >= 64 {
        0
    } else if b >= 0 {
        a << b
    } else if b <= -64 {
        if a < 0 { -1 } else { 0 }
    } else {
        a >> -b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn like_and_glob_follow_sqlite() {
        assert!(like("abc", "A%", None, false));
        assert!(like("abc", "_b_", None, false));
        assert!(!like("abc", "A*", None, true));
        assert!(like("abc", "a*", None, true));
        assert!(like("a%c", "a\\%c", Some('\\'), false));
        assert!(!like("abc", "a\\%c", Some('\\'), false));
        assert!(like("b", "[a-c]", None, true));
        assert!(!like("d", "[a-c]", None, true));
        assert!(like("", "%", None, false));
        assert!(like("anything", "%thing", None, false));
    }
}
