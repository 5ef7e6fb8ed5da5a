//! Built-in functions: scalar functions and aggregates, with SQLite's
//! behaviour on NULLs, types and empty input.
//!
//! No function builds a TEXT or BLOB value past
//! [`MAX_VALUE`](super::types::MAX_VALUE): the ones
//! that can grow (`replace`, `hex`, `quote`, `upper`, `lower`, `char`,
//! `zeroblob`, `group_concat`) size their result first ([`super::build`]);
//! the ones that cut (`substr`, `trim`) read their argument in place.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::value::{Value, sql_cmp};

use super::build;
use super::types::{check_size, real_to_int, text, to_int, to_numeric, to_real, to_text};

/// A scalar function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    /// `abs(x)`.
    Abs,
    /// `coalesce(x, y, …)` / `ifnull(x, y)`.
    Coalesce,
    /// `nullif(x, y)`.
    NullIf,
    /// `iif(c, a, b)`.
    Iif,
    /// `length(x)`.
    Length,
    /// `lower(x)`.
    Lower,
    /// `upper(x)`.
    Upper,
    /// `substr(x, start [, len])`.
    Substr,
    /// `round(x [, digits])`.
    Round,
    /// `typeof(x)`.
    TypeOf,
    /// `trim(x [, chars])`.
    Trim,
    /// `ltrim(x [, chars])`.
    LTrim,
    /// `rtrim(x [, chars])`.
    RTrim,
    /// `replace(x, from, to)`.
    Replace,
    /// `instr(x, y)`.
    Instr,
    /// `hex(x)`.
    Hex,
    /// `quote(x)`.
    Quote,
    /// `min(x, y, …)` (two or more arguments).
    Min,
    /// `max(x, y, …)` (two or more arguments).
    Max,
    /// `char(c, …)`.
    Char,
    /// `unicode(x)`.
    Unicode,
    /// `zeroblob(n)`.
    ZeroBlob,
    /// `likely(x)`, `unlikely(x)`: x.
    Identity,
    /// A function of [`super::builtins`] (dates, printf, math, random, …).
    Ext(super::builtins::Ext),
}

/// An aggregate function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    /// `count(*)`.
    CountStar,
    /// `count(x)`.
    Count,
    /// `sum(x)`.
    Sum,
    /// `total(x)`.
    Total,
    /// `avg(x)`.
    Avg,
    /// `min(x)`.
    Min,
    /// `max(x)`.
    Max,
    /// `group_concat(x [, sep])` / `string_agg(x, sep)`.
    GroupConcat,
}

/// Look up an aggregate by name and argument count.
pub fn aggregate(name: &str, args: usize, star: bool) -> Option<Aggregate> {
    Some(match (name, args, star) {
        ("count", 0, true) => Aggregate::CountStar,
        ("count", 1, false) => Aggregate::Count,
        ("sum", 1, false) => Aggregate::Sum,
        ("total", 1, false) => Aggregate::Total,
        ("avg", 1, false) => Aggregate::Avg,
        ("min", 1, false) => Aggregate::Min,
        ("max", 1, false) => Aggregate::Max,
        ("group_concat", 1 | 2, false) | ("string_agg", 2, false) => Aggregate::GroupConcat,
        _ => return None,
    })
}

/// Whether `name` names an aggregate at all (for error messages).
pub fn is_aggregate_name(name: &str) -> bool {
    matches!(name, "count" | "sum" | "total" | "avg" | "group_concat" | "string_agg")
}

/// Look up a scalar function by name and argument count.
pub fn scalar(name: &str, args: usize) -> Result<Scalar> {
    let f = match name {
        "abs" => (Scalar::Abs, 1..=1),
        "coalesce" => (Scalar::Coalesce, 2..=usize::MAX),
        "ifnull" => (Scalar::Coalesce, 2..=2),
        "nullif" => (Scalar::NullIf, 2..=2),
        "iif" | "if" => (Scalar::Iif, 3..=3),
        "length" | "octet_length" => (Scalar::Length, 1..=1),
        "lower" => (Scalar::Lower, 1..=1),
        "upper" => (Scalar::Upper, 1..=1),
        "substr" | "substring" => (Scalar::Substr, 2..=3),
        "round" => (Scalar::Round, 1..=2),
        "typeof" => (Scalar::TypeOf, 1..=1),
        "trim" => (Scalar::Trim, 1..=2),
        "ltrim" => (Scalar::LTrim, 1..=2),
        "rtrim" => (Scalar::RTrim, 1..=2),
        "replace" => (Scalar::Replace, 3..=3),
        "instr" => (Scalar::Instr, 2..=2),
        "hex" => (Scalar::Hex, 1..=1),
        "quote" => (Scalar::Quote, 1..=1),
        "min" => (Scalar::Min, 2..=usize::MAX),
        "max" => (Scalar::Max, 2..=usize::MAX),
        "char" => (Scalar::Char, 0..=usize::MAX),
        "unicode" => (Scalar::Unicode, 1..=1),
        "zeroblob" => (Scalar::ZeroBlob, 1..=1),
        "likely" | "unlikely" => (Scalar::Identity, 1..=1),
        _ => return super::builtins::lookup(name, args).map(Scalar::Ext),
    };
    if !f.1.contains(&args) {
        return Err(Error::Sql(format!("wrong number of arguments to function {name}()")));
    }
    Ok(f.0)
}

/// `substr` on characters (text) or bytes (blobs), with SQLite's rules for
/// zero and negative starts and lengths. Text is cut where it is, by byte
/// offsets, not copied into a `Vec<char>` (four bytes a character).
fn substr(v: &Value, start: i64, len: Option<i64>) -> Result<Value> {
    /// SQLite's `substrFunc` arithmetic: 1-based `start`, negative from
    /// the end, position 0 before the first character, negative `len`
    /// counting backwards. i128 so that extreme arguments cannot overflow.
    fn range(n: i64, start: i64, len: Option<i64>) -> (usize, usize) {
        let n = i128::from(n);
        let mut p1 = i128::from(start);
        let (mut p2, neg) = match len {
            Some(l) if l < 0 => (-i128::from(l), true),
            Some(l) => (i128::from(l), false),
            None => (i128::from(i64::MAX), false),
        };
        if p1 < 0 {
            p1 += n;
            if p1 < 0 {
                p2 = (p2 + p1).max(0);
                p1 = 0;
            }
        } else if p1 > 0 {
            p1 -= 1;
        } else if p2 > 0 {
            p2 -= 1;
        }
        if neg {
            p1 -= p2;
            if p1 < 0 {
                p2 += p1;
                p1 = 0;
            }
        }
        let from = p1.clamp(0, n);
        let to = (p1 + p2.max(0)).clamp(from, n);
        (from as usize, to as usize)
    }
    /// The byte offset of character `i` of `t` (its length past the end).
    fn byte_of(t: &str, i: usize) -> usize {
        t.char_indices().nth(i).map_or(t.len(), |(at, _)| at)
    }
    Ok(match v {
        Value::Blob(b) => {
            let (a, z) = range(b.len() as i64, start, len);
            Value::Blob(b[a..z].to_vec())
        }
        other => {
            let Some(t) = text(other)? else { return Ok(Value::Null) };
            let ascii = t.is_ascii();
            let n = if ascii { t.len() } else { t.chars().count() };
            let (a, z) = range(n as i64, start, len);
            let (a, z) = if ascii { (a, z) } else { (byte_of(&t, a), byte_of(&t, z)) };
            Value::Text(t.get(a..z).unwrap_or_default().to_string())
        }
    })
}

fn trim_with(s: &str, chars: Option<&str>, left: bool, right: bool) -> String {
    // The distinct characters only: a huge character argument must not
    // cost four bytes per character (bounded allocation, issue 13 item 7).
    let set: std::collections::BTreeSet<char> =
        chars.map_or_else(|| std::collections::BTreeSet::from([' ']), |c| c.chars().collect());
    let mut t = s;
    if left {
        t = t.trim_start_matches(|c| set.contains(&c));
    }
    if right {
        t = t.trim_end_matches(|c| set.contains(&c));
    }
    t.to_string()
}

/// Round half away from zero, as SQLite does.
fn round(r: f64, digits: i64) -> f64 {
    let d = digits.clamp(0, 30) as i32;
    if d == 0 {
        return r.round();
    }
    let m = 10f64.powi(d);
    let x = (r * m).round() / m;
    if x.is_finite() { x } else { r }
}

/// Call a scalar function on evaluated arguments.
pub fn call(f: Scalar, args: &[Value]) -> Result<Value> {
    use Value::*;
    let a0 = args.first().unwrap_or(&Null);
    Ok(match f {
        // Text and blobs are read as reals (SQLite: abs('-5') is 5.0).
        Scalar::Abs => match a0 {
            Null => Null,
            Integer(i) => Integer(i.checked_abs().ok_or_else(|| Error::Sql("integer overflow".into()))?),
            Real(r) => Real(r.abs()),
            other => Real(to_real(other).abs()),
        },
        Scalar::Coalesce => args.iter().find(|v| !matches!(v, Null)).cloned().unwrap_or(Null),
        Scalar::NullIf => {
            let b = args.get(1).unwrap_or(&Null);
            if !matches!(a0, Null) && !matches!(b, Null) && sql_cmp(a0, b).is_eq() { Null } else { a0.clone() }
        }
        Scalar::Iif => {
            if super::types::truth(a0) == Some(true) {
                args.get(1).cloned().unwrap_or(Null)
            } else {
                args.get(2).cloned().unwrap_or(Null)
            }
        }
        Scalar::Length => match a0 {
            Null => Null,
            Blob(b) => Integer(b.len() as i64),
            Text(t) => Integer(t.chars().count() as i64),
            other => Integer(to_text(other).map_or(0, |t| t.chars().count()) as i64),
        },
        Scalar::Lower => text(a0)?.map_or(Ok(Null), |t| build::lower(&t).map(Text))?,
        Scalar::Upper => text(a0)?.map_or(Ok(Null), |t| build::upper(&t).map(Text))?,
        Scalar::Substr => {
            let (s, l) = (args.get(1).unwrap_or(&Null), args.get(2));
            if matches!(a0, Null) || matches!(s, Null) || l.is_some_and(|l| matches!(l, Null)) {
                Null
            } else {
                substr(a0, to_int(s), l.map(to_int))?
            }
        }
        Scalar::Round => {
            let d = args.get(1).map_or(0, to_int);
            if matches!(a0, Null) || args.get(1).is_some_and(|d| matches!(d, Null)) {
                Null
            } else {
                Real(round(to_real(a0), d))
            }
        }
        Scalar::TypeOf => Text(
            match a0 {
                Null => "null",
                Integer(_) => "integer",
                Real(_) => "real",
                Text(_) => "text",
                Blob(_) => "blob",
            }
            .into(),
        ),
        Scalar::Trim | Scalar::LTrim | Scalar::RTrim => {
            let chars = args.get(1);
            if matches!(a0, Null) || chars.is_some_and(|c| matches!(c, Null)) {
                Null
            } else {
                let set = match chars {
                    Some(c) => text(c)?,
                    None => None,
                };
                let (l, r) = match f {
                    Scalar::LTrim => (true, false),
                    Scalar::RTrim => (false, true),
                    _ => (true, true),
                };
                Text(trim_with(&text(a0)?.unwrap_or_default(), set.as_deref(), l, r))
            }
        }
        Scalar::Replace => {
            let (from, to) = (args.get(1).unwrap_or(&Null), args.get(2).unwrap_or(&Null));
            match (text(a0)?, text(from)?) {
                // An empty pattern returns the string before the
                // replacement is looked at (so even a NULL one), as SQLite.
                (Some(s), Some(f)) if f.is_empty() => Text(build::owned("replace", s)?),
                (Some(s), Some(f)) => match text(to)? {
                    Some(t) => Text(build::replace(&s, &f, &t)?),
                    None => Null,
                },
                _ => Null,
            }
        }
        Scalar::Instr => match (text(a0)?, args.get(1).map(text).transpose()?.flatten()) {
            (Some(h), Some(n)) => Integer(h.find(&*n).map_or(0, |i| h[..i].chars().count() as i64 + 1)),
            _ => Null,
        },
        Scalar::Hex => Text(build::hex(a0)?),
        Scalar::Quote => Text(build::quote(a0)?),
        Scalar::Min | Scalar::Max => {
            if args.iter().any(|v| matches!(v, Null)) {
                Null
            } else {
                let pick = args.iter().reduce(|a, b| {
                    let o = sql_cmp(a, b);
                    if (f == Scalar::Min && o.is_gt()) || (f == Scalar::Max && o.is_lt()) { b } else { a }
                });
                pick.cloned().unwrap_or(Null)
            }
        }
        Scalar::Char => {
            let chars = || args.iter().filter_map(|v| char::from_u32(to_int(v) as u32));
            check_size("char", chars().try_fold(0usize, |n, c| n.checked_add(c.len_utf8())))?;
            Text(chars().collect())
        }
        Scalar::Unicode => text(a0)?.and_then(|t| t.chars().next()).map_or(Null, |c| Integer(i64::from(u32::from(c)))),
        Scalar::ZeroBlob => {
            // Exactly the bytes asked for (SQLite's rule), not silently
            // fewer; more than MAX_VALUE is an error, checked before
            // allocating.
            let n = check_size("zeroblob", Some(usize::try_from(to_int(a0).max(0)).unwrap_or(usize::MAX)))?;
            Blob(vec![0; n])
        }
        Scalar::Identity => a0.clone(),
        // These need the statement's environment: the executor calls them.
        Scalar::Ext(_) => return Err(Error::Sql("function called without a statement context".into())),
    })
}

/// The running state of one aggregate.
#[derive(Clone, Debug)]
pub enum AggState {
    /// Rows counted.
    Count(i64),
    /// Integer sum (switching to real on a real input), or NULL so far.
    Sum { int: Option<i64>, real: Option<f64>, any: bool, overflow: bool },
    /// Sum and count for avg/total.
    Real { sum: f64, count: i64 },
    /// Extreme value so far.
    Extreme(Option<Value>),
    /// Concatenation so far.
    Concat(Option<String>),
}

impl AggState {
    /// The initial state of `f`.
    pub fn new(f: Aggregate) -> AggState {
        match f {
            Aggregate::CountStar | Aggregate::Count => AggState::Count(0),
            Aggregate::Sum => AggState::Sum { int: None, real: None, any: false, overflow: false },
            Aggregate::Total | Aggregate::Avg => AggState::Real { sum: 0.0, count: 0 },
            Aggregate::Min | Aggregate::Max => AggState::Extreme(None),
            Aggregate::GroupConcat => AggState::Concat(None),
        }
    }

    /// Add one row's argument values. `group_concat` fails with `TooBig`
    /// before its value grows past [`MAX_VALUE`](super::types::MAX_VALUE).
    pub fn step(&mut self, f: Aggregate, args: &[Value]) -> Result<()> {
        let v = args.first().unwrap_or(&Value::Null);
        if f != Aggregate::CountStar && matches!(v, Value::Null) {
            return Ok(());
        }
        match self {
            AggState::Count(n) => *n += 1,
            AggState::Sum { int, real, any, overflow } => {
                *any = true;
                match to_numeric(v) {
                    Value::Integer(i) if real.is_none() => match int.unwrap_or(0).checked_add(i) {
                        Some(s) => *int = Some(s),
                        None => *overflow = true,
                    },
                    other => {
                        let base = real.unwrap_or_else(|| int.map_or(0.0, |i| i as f64));
                        *real = Some(base + to_real(&other));
                    }
                }
            }
            AggState::Real { sum, count } => {
                *sum += to_real(v);
                *count += 1;
            }
            AggState::Extreme(cur) => {
                let better = match cur {
                    None => true,
                    Some(c) => {
                        let o = sql_cmp(v, c);
                        if f == Aggregate::Min { o.is_lt() } else { o.is_gt() }
                    }
                };
                if better {
                    *cur = Some(v.clone());
                }
            }
            AggState::Concat(acc) => {
                let sep = match args.get(1) {
                    None => Cow::Borrowed(","),
                    Some(s) => text(s)?.unwrap_or_default(),
                };
                let t = text(v)?.unwrap_or_default();
                match acc {
                    None => *acc = Some(build::owned("group_concat", t)?),
                    Some(s) => build::append("group_concat", s, &[&sep, &t])?,
                }
            }
        }
        Ok(())
    }

    /// The aggregate's result.
    pub fn finish(self, f: Aggregate) -> Result<Value> {
        Ok(match self {
            AggState::Count(n) => Value::Integer(n),
            AggState::Sum { overflow: true, real: None, .. } => return Err(Error::Sql("integer overflow".into())),
            AggState::Sum { any: false, .. } => Value::Null,
            AggState::Sum { real: Some(r), .. } => Value::Real(r),
            AggState::Sum { int, .. } => Value::Integer(int.unwrap_or(0)),
            AggState::Real { sum, count } => match f {
                Aggregate::Avg if count == 0 => Value::Null,
                Aggregate::Avg => Value::Real(sum / count as f64),
                _ => Value::Real(sum),
            },
            AggState::Extreme(v) => v.unwrap_or(Value::Null),
            AggState::Concat(s) => s.map_or(Value::Null, Value::Text),
        })
    }
}

/// Truncate a real as CAST does (for callers outside this module).
pub fn trunc(r: f64) -> i64 {
    real_to_int(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Value::*;

    #[test]
    fn scalar_functions_follow_sqlite() {
        assert_eq!(call(Scalar::Abs, &[Integer(-5)]).expect("ok"), Integer(5));
        assert_eq!(call(Scalar::Abs, &[Text("x".into())]).expect("ok"), Real(0.0));
        assert_eq!(call(Scalar::Round, &[Real(2.5)]).expect("ok"), Real(3.0));
        assert_eq!(call(Scalar::Round, &[Real(-2.5)]).expect("ok"), Real(-3.0));
        assert_eq!(call(Scalar::Round, &[Real(1.2345), Integer(2)]).expect("ok"), Real(1.23));
        assert_eq!(call(Scalar::Length, &[Text("héllo".into())]).expect("ok"), Integer(5));
        assert_eq!(call(Scalar::Length, &[Integer(123)]).expect("ok"), Integer(3));
        assert_eq!(
            call(Scalar::Substr, &[Text("hello".into()), Integer(2), Integer(3)]).expect("ok"),
            Text("ell".into())
        );
        assert_eq!(call(Scalar::Substr, &[Text("hello".into()), Integer(-3)]).expect("ok"), Text("llo".into()));
        assert_eq!(
            call(Scalar::Substr, &[Text("hello".into()), Integer(0), Integer(2)]).expect("ok"),
            Text("h".into())
        );
        assert_eq!(call(Scalar::NullIf, &[Integer(1), Integer(1)]).expect("ok"), Null);
        assert_eq!(call(Scalar::Min, &[Integer(1), Text("a".into()), Null]).expect("ok"), Null);
        assert_eq!(call(Scalar::Max, &[Integer(1), Real(2.5)]).expect("ok"), Real(2.5));
    }

    #[test]
    fn aggregates_follow_sqlite_on_empty_input_and_overflow() {
        for (f, empty) in [
            (Aggregate::Count, Integer(0)),
            (Aggregate::Sum, Null),
            (Aggregate::Total, Real(0.0)),
            (Aggregate::Avg, Null),
            (Aggregate::Min, Null),
            (Aggregate::GroupConcat, Null),
        ] {
            assert_eq!(AggState::new(f).finish(f).expect("ok"), empty, "{f:?}");
        }
        let mut s = AggState::new(Aggregate::Sum);
        s.step(Aggregate::Sum, &[Integer(i64::MAX)]).expect("step");
        s.step(Aggregate::Sum, &[Integer(1)]).expect("step");
        assert!(s.finish(Aggregate::Sum).is_err(), "integer overflow in sum is an error");
        let mut a = AggState::new(Aggregate::Avg);
        for i in [1, 2] {
            a.step(Aggregate::Avg, &[Integer(i)]).expect("step");
        }
        assert_eq!(a.finish(Aggregate::Avg).expect("ok"), Real(1.5));
    }
}
