//! SQLite's value semantics: type affinity, conversions, arithmetic,
//! comparison, truth, and text rendering.
//!
//! waldb follows SQLite so that its answers match SQLite's (the
//! sqllogictest corpus and the differential tests check this):
//!
//! - **Affinity** of a column comes from its declared type (INT → INTEGER;
//!   CHAR/CLOB/TEXT → TEXT; BLOB or none → BLOB; REAL/FLOA/DOUB → REAL; else
//!   NUMERIC). A value stored in a column is converted by its affinity.
//! - **Arithmetic** on integers stays integer until it overflows, then it is
//!   real; `/` and `%` on integers truncate, and divide-by-zero is NULL;
//!   `%` works on the integer parts and is real if an operand was.
//! - **Text in arithmetic** converts by its numeric prefix (`'12ab'` → 12,
//!   `'ab'` → 0).
//! - **Comparison** orders NULL < numbers < text < blobs; comparing a column
//!   with numeric affinity to text first converts the text when it looks
//!   numeric.
//! - **Size**: a TEXT or BLOB value an expression builds is at most
//!   [`MAX_VALUE`] bytes; the builders compute a result's size before they
//!   allocate it and refuse a larger one with [`Error::TooBig`]
//!   ([`check_size`]). A value read as text ([`text`]) is borrowed where it
//!   already is text (or a blob of valid UTF-8), not copied.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::value::{Value, sql_cmp};

use super::table::MAX_ROW;

/// A column's type affinity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Affinity {
    /// `INTEGER`.
    Integer,
    /// `REAL`.
    Real,
    /// `NUMERIC`.
    Numeric,
    /// `TEXT`.
    Text,
    /// `BLOB` (no conversion).
    Blob,
}

/// The affinity of a declared type, by SQLite's rules (section 3.1 of its
/// datatype page), in order.
pub fn affinity(type_name: Option<&str>) -> Affinity {
    let Some(t) = type_name else { return Affinity::Blob };
    let t = t.to_ascii_uppercase();
    if t.contains("INT") {
        Affinity::Integer
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        Affinity::Text
    } else if t.contains("BLOB") || t.is_empty() {
        Affinity::Blob
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        Affinity::Real
    } else {
        Affinity::Numeric
    }
}

/// Parse text that is entirely a number (surrounding spaces allowed).
pub fn parse_number(s: &str) -> Option<Value> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() {
        return None;
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(Value::Integer(i));
    }
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let ok = !body.is_empty()
        && body.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && body.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if !ok {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::Real)
}

/// The longest numeric prefix of `s` (after leading spaces), as SQLite's
/// arithmetic reads text: `'12abc'` → 12, `'1.5x'` → 1.5, `'x'` → 0.
pub fn numeric_prefix(s: &str) -> Value {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let b = t.as_bytes();
    let mut end = 0;
    if end < b.len() && (b[end] == b'+' || b[end] == b'-') {
        end += 1;
    }
    let digits_start = end;
    while end < b.len() && b[end].is_ascii_digit() {
        end += 1;
    }
    let mut real = false;
    if end < b.len() && b[end] == b'.' {
        let mut e = end + 1;
        while e < b.len() && b[e].is_ascii_digit() {
            e += 1;
        }
        if e > digits_start + 1 || end > digits_start {
            real = true;
            end = e;
        }
    }
    if end == digits_start || (end == digits_start + 1 && b[digits_start] == b'.') {
        return Value::Integer(0);
    }
    if end < b.len() && (b[end] == b'e' || b[end] == b'E') {
        let mut e = end + 1;
        if e < b.len() && (b[e] == b'+' || b[e] == b'-') {
            e += 1;
        }
        let exp_start = e;
        while e < b.len() && b[e].is_ascii_digit() {
            e += 1;
        }
        if e > exp_start {
            real = true;
            end = e;
        }
    }
    let num = &t[..end];
    if !real && let Ok(i) = num.parse::<i64>() {
        return Value::Integer(i);
    }
    num.parse::<f64>().map(Value::Real).unwrap_or(Value::Integer(0))
}

/// A value as a number for arithmetic: integers and reals as they are, text
/// by its numeric prefix, blobs as their text. NULL stays NULL.
pub fn to_numeric(v: &Value) -> Value {
    match v {
        Value::Null | Value::Integer(_) | Value::Real(_) => v.clone(),
        Value::Text(s) => numeric_prefix(s),
        Value::Blob(b) => numeric_prefix(&String::from_utf8_lossy(b)),
    }
}

/// A value as f64 (NULL → 0.0).
pub fn to_real(v: &Value) -> f64 {
    match to_numeric(v) {
        Value::Integer(i) => i as f64,
        Value::Real(r) => r,
        _ => 0.0,
    }
}

/// A value as i64, as `CAST(x AS INTEGER)` does (reals truncate and clamp).
pub fn to_int(v: &Value) -> i64 {
    // Text is read as SQLite's `sqlite3Atoi64` does: the longest integer
    // prefix, clamped to the i64 range (`'1e3'` is 1, `' 12abc'` is 12).
    let text = match v {
        Value::Text(t) => Some(t.as_bytes()),
        Value::Blob(b) => Some(b.as_slice()),
        _ => None,
    };
    if let Some(t) = text {
        return int_prefix(t);
    }
    match to_numeric(v) {
        Value::Integer(i) => i,
        Value::Real(r) => real_to_int(r),
        _ => 0,
    }
}

/// The integer at the start of `t` after blanks and a sign; 0 if none.
fn int_prefix(t: &[u8]) -> i64 {
    let t = t.trim_ascii_start();
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: i128 = 0;
    for d in digits.iter().take_while(|c| c.is_ascii_digit()) {
        // Past 20 digits the value is clamped anyway.
        n = (n * 10 + i128::from(d - b'0')).min(i128::from(u64::MAX));
    }
    let n = if neg { -n } else { n };
    n.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Truncate a real to an integer, clamping to the i64 range.
pub fn real_to_int(r: f64) -> i64 {
    if r.is_nan() {
        0
    } else if r >= 9_223_372_036_854_775_808.0 {
        i64::MAX
    } else if r <= -9_223_372_036_854_775_808.0 {
        i64::MIN
    } else {
        r as i64
    }
}

/// SQLite's text for a real (`CAST(r AS TEXT)`, `||`, text functions):
/// `%!.17g` with SQLite's own digit generation, shortened to fewer digits
/// when they read back as the same real (`0.1`, `49.47`,
/// `0.30000000000000004`), `.0` on integral values, exponent form below
/// 1e-4 and from 1e17 (`1.0e+17`), `Inf`/`-Inf` for infinities.
pub fn real_to_text(r: f64) -> String {
    super::printf::format_real(r, 17)
}

/// A value as text, as `CAST(x AS TEXT)` and `||` do. NULL → `None`.
pub fn to_text(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => real_to_text(*r),
        Value::Text(s) => s.clone(),
        Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    })
}

/// The largest TEXT or BLOB value, in bytes, that a function, operator or
/// conversion builds: a row's size, the bound `zeroblob` has always kept. (A
/// value this large cannot be stored — its row record adds a few bytes —
/// but it can be measured, compared or cut down.)
pub const MAX_VALUE: usize = MAX_ROW;

/// `size` when a `what` result of that many bytes may be built; `TooBig`
/// when it is past [`MAX_VALUE`] or overflowed (`None`).
pub fn check_size(what: &'static str, size: Option<usize>) -> Result<usize> {
    match size {
        Some(n) if n <= MAX_VALUE => Ok(n),
        n => Err(Error::TooBig { what, size: n.unwrap_or(usize::MAX), limit: MAX_VALUE }),
    }
}

/// A value as text, like [`to_text`], but borrowed where it already is
/// text or a blob of valid UTF-8. A blob with invalid UTF-8 gets U+FFFD (3
/// bytes) for each bad sequence, so it can grow threefold: its size is
/// computed first, and past [`MAX_VALUE`] it is `TooBig` ("text"). NULL is
/// `None`.
pub fn text(v: &Value) -> Result<Option<Cow<'_, str>>> {
    Ok(Some(match v {
        Value::Null => return Ok(None),
        Value::Text(s) => Cow::Borrowed(s.as_str()),
        Value::Blob(b) => match std::str::from_utf8(b) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => {
                let size = b.utf8_chunks().try_fold(0usize, |n, c| {
                    n.checked_add(c.valid().len())?.checked_add(if c.invalid().is_empty() { 0 } else { 3 })
                });
                check_size("text", size)?;
                String::from_utf8_lossy(b)
            }
        },
        Value::Integer(i) => Cow::Owned(i.to_string()),
        Value::Real(r) => Cow::Owned(real_to_text(*r)),
    }))
}

/// Truth of a value in a condition: NULL is unknown (`None`); numbers are
/// true unless zero; text and blobs by their numeric prefix.
pub fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Null => None,
        Value::Integer(i) => Some(*i != 0),
        Value::Real(r) => Some(*r != 0.0),
        other => Some(to_real(other) != 0.0),
    }
}

/// Convert a value for storage in (or comparison as) a column of affinity
/// `a`.
pub fn apply_affinity(v: Value, a: Affinity) -> Value {
    match (a, v) {
        (Affinity::Text, Value::Integer(i)) => Value::Text(i.to_string()),
        (Affinity::Text, Value::Real(r)) => Value::Text(real_to_text(r)),
        (Affinity::Integer | Affinity::Numeric, Value::Text(s)) => match parse_number(&s) {
            Some(Value::Real(r)) if r.fract() == 0.0 && r.abs() < 9.2e18 => Value::Integer(r as i64),
            Some(n) => n,
            None => Value::Text(s),
        },
        (Affinity::Integer | Affinity::Numeric, Value::Real(r)) if r.fract() == 0.0 && r.abs() < 9.2e18 => {
            Value::Integer(r as i64)
        }
        (Affinity::Real, Value::Text(s)) => match parse_number(&s) {
            Some(Value::Integer(i)) => Value::Real(i as f64),
            Some(n) => n,
            None => Value::Text(s),
        },
        (Affinity::Real, Value::Integer(i)) => Value::Real(i as f64),
        (_, v) => v,
    }
}

/// `CAST(v AS type)`. A cast to TEXT or BLOB that would be larger than
/// [`MAX_VALUE`] is `TooBig`.
pub fn cast(v: &Value, type_name: &str) -> Result<Value> {
    if matches!(v, Value::Null) {
        return Ok(Value::Null);
    }
    let text_of = |v: &Value| -> Result<String> {
        let t = text(v)?.unwrap_or_default();
        check_size("CAST", Some(t.len()))?;
        Ok(t.into_owned())
    };
    Ok(match affinity(Some(type_name)) {
        Affinity::Integer => Value::Integer(to_int(v)),
        Affinity::Real => Value::Real(to_real(v)),
        Affinity::Text => Value::Text(text_of(v)?),
        Affinity::Blob => match v {
            Value::Blob(b) => {
                check_size("CAST", Some(b.len()))?;
                Value::Blob(b.clone())
            }
            other => Value::Blob(text_of(other)?.into_bytes()),
        },
        Affinity::Numeric => match to_numeric(v) {
            Value::Real(r) if r.fract() == 0.0 && r.abs() < 9.2e18 => Value::Integer(r as i64),
            n => n,
        },
    })
}

/// Compare two values in an expression (`=`, `<`, …), after SQLite's
/// comparison affinity ([`comparison_form`] of each side). `None` when
/// either side is NULL.
pub fn compare(a: &Value, aa: Option<Affinity>, b: &Value, ba: Option<Affinity>) -> Option<Ordering> {
    if matches!(a, Value::Null) || matches!(b, Value::Null) {
        return None;
    }
    Some(sql_cmp(&comparison_form(a, aa, ba), &comparison_form(b, ba, aa)))
}

/// The form in which `v` (of affinity `own`) is compared with a value of
/// affinity `other`, by SQLite's rules: when one side has numeric affinity
/// and the other does not, text on the other side is converted if it looks
/// numeric; when one side has text affinity and the other has none, a
/// number on the other side becomes text. At most one side of a comparison
/// is ever converted, and whether it is depends only on the two affinities
/// and its own value, so each side's form can be computed alone (a hash
/// join keys each of its inputs this way).
pub fn comparison_form(v: &Value, own: Option<Affinity>, other: Option<Affinity>) -> Cow<'_, Value> {
    let numeric = |x: Option<Affinity>| matches!(x, Some(Affinity::Integer | Affinity::Real | Affinity::Numeric));
    match v {
        Value::Text(_) if numeric(other) && !numeric(own) => Cow::Owned(apply_affinity(v.clone(), Affinity::Numeric)),
        Value::Integer(_) | Value::Real(_) if other == Some(Affinity::Text) && own.is_none() => {
            Cow::Owned(apply_affinity(v.clone(), Affinity::Text))
        }
        _ => Cow::Borrowed(v),
    }
}

/// Integer or real result of an arithmetic operator on two non-NULL
/// numbers.
fn arith(a: &Value, b: &Value, int_op: fn(i64, i64) -> Option<i64>, real_op: fn(f64, f64) -> f64) -> Value {
    match (to_numeric(a), to_numeric(b)) {
        (Value::Integer(x), Value::Integer(y)) => match int_op(x, y) {
            Some(v) => Value::Integer(v),
            None => Value::real(real_op(x as f64, y as f64)),
        },
        (x, y) => Value::real(real_op(to_real(&x), to_real(&y))),
    }
}

/// `a + b`.
pub fn add(a: &Value, b: &Value) -> Value {
    if a == &Value::Null || b == &Value::Null {
        return Value::Null;
    }
    arith(a, b, i64::checked_add, |x, y| x + y)
}

/// `a - b`.
pub fn sub(a: &Value, b: &Value) -> Value {
    if a == &Value::Null || b == &Value::Null {
        return Value::Null;
    }
    arith(a, b, i64::checked_sub, |x, y| x - y)
}

/// `a * b`.
pub fn mul(a: &Value, b: &Value) -> Value {
    if a == &Value::Null || b == &Value::Null {
        return Value::Null;
    }
    arith(a, b, i64::checked_mul, |x, y| x * y)
}

/// `a / b`: integer division truncates; division by zero is NULL.
pub fn div(a: &Value, b: &Value) -> Value {
    if a == &Value::Null || b == &Value::Null {
        return Value::Null;
    }
    match (to_numeric(a), to_numeric(b)) {
        (_, Value::Integer(0)) => Value::Null,
        (_, Value::Real(0.0)) => Value::Null,
        (Value::Integer(x), Value::Integer(y)) => match x.checked_div(y) {
            Some(v) => Value::Integer(v),
            None => Value::Real(x as f64 / y as f64),
        },
        (x, y) => Value::real(to_real(&x) / to_real(&y)),
    }
}

/// `a % b`: the remainder of the integer parts; real if either operand was;
/// NULL when the divisor's integer part is zero.
pub fn rem(a: &Value, b: &Value) -> Value {
    if a == &Value::Null || b == &Value::Null {
        return Value::Null;
    }
    let (x, y) = (to_numeric(a), to_numeric(b));
    let real = matches!(x, Value::Real(_)) || matches!(y, Value::Real(_));
    let (xi, yi) = (to_int(&x), to_int(&y));
    if yi == 0 {
        return Value::Null;
    }
    let r = xi.checked_rem(yi).unwrap_or(0);
    if real { Value::Real(r as f64) } else { Value::Integer(r) }
}

/// `-a`.
pub fn neg(a: &Value) -> Value {
    match to_numeric(a) {
        Value::Null => Value::Null,
        Value::Integer(i) => i.checked_neg().map_or(Value::Real(-(i as f64)), Value::Integer),
        Value::Real(r) => Value::Real(-r),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinities_follow_sqlite() {
        assert_eq!(affinity(Some("INTEGER")), Affinity::Integer);
        assert_eq!(affinity(Some("VARCHAR(10)")), Affinity::Text);
        assert_eq!(affinity(Some("FLOAT")), Affinity::Real);
        assert_eq!(affinity(Some("DOUBLE PRECISION")), Affinity::Real);
        assert_eq!(affinity(None), Affinity::Blob);
        assert_eq!(affinity(Some("DECIMAL(10,2)")), Affinity::Numeric);
        assert_eq!(affinity(Some("BOOLEAN")), Affinity::Numeric);
    }

    #[test]
    fn arithmetic_follows_sqlite() {
        use Value::*;
        assert_eq!(add(&Integer(i64::MAX), &Integer(1)), Real(9.223372036854776e18));
        assert_eq!(div(&Integer(7), &Integer(2)), Integer(3));
        assert_eq!(div(&Integer(-7), &Integer(2)), Integer(-3));
        assert_eq!(div(&Integer(1), &Integer(0)), Null);
        assert_eq!(div(&Integer(i64::MIN), &Integer(-1)), Real(9.223372036854776e18));
        assert_eq!(rem(&Real(5.5), &Integer(2)), Real(1.0));
        assert_eq!(rem(&Integer(-7), &Integer(3)), Integer(-1));
        assert_eq!(rem(&Integer(1), &Integer(0)), Null);
        assert_eq!(add(&Text("12".into()), &Integer(1)), Integer(13));
        assert_eq!(add(&Text("abc".into()), &Integer(1)), Integer(1));
        assert_eq!(add(&Text("1e3".into()), &Integer(0)), Real(1000.0));
        assert_eq!(neg(&Integer(i64::MIN)), Real(9.223372036854776e18));
    }

    #[test]
    fn text_of_reals_follows_sqlite() {
        assert_eq!(real_to_text(1.0), "1.0");
        assert_eq!(real_to_text(0.1), "0.1");
        assert_eq!(real_to_text(1e20), "1.0e+20");
        assert_eq!(real_to_text(1e-5), "1.0e-05");
        assert_eq!(real_to_text(1e16), "10000000000000000.0");
        assert_eq!(real_to_text(-2.5e-7), "-2.5e-07");
        assert_eq!(real_to_text(123456.789), "123456.789");
    }

    #[test]
    fn casts_follow_sqlite() {
        use Value::*;
        let cast = |v: &Value, t: &str| super::cast(v, t).expect("cast");
        assert_eq!(cast(&Text("12abc".into()), "INTEGER"), Integer(12));
        assert_eq!(cast(&Text("1.9".into()), "INTEGER"), Integer(1));
        assert_eq!(cast(&Real(1.9), "INTEGER"), Integer(1));
        assert_eq!(cast(&Text("abc".into()), "REAL"), Real(0.0));
        assert_eq!(cast(&Blob(b"12".to_vec()), "INTEGER"), Integer(12));
        assert_eq!(cast(&Null, "INTEGER"), Null);
        assert_eq!(cast(&Integer(5), "TEXT"), Text("5".into()));
        assert_eq!(cast(&Blob(vec![b'a', 0xFF]), "TEXT"), Text("a\u{FFFD}".into()));
        assert_eq!(cast(&Text("é".into()), "BLOB"), Blob("é".as_bytes().to_vec()));
    }

    #[test]
    fn text_borrows_what_is_already_text_and_bounds_what_grows() {
        use Value::*;
        let t = Text("abc".into());
        assert!(matches!(text(&t), Ok(Some(Cow::Borrowed("abc")))));
        let b = Blob(b"xyz".to_vec());
        assert!(matches!(text(&b), Ok(Some(Cow::Borrowed("xyz")))), "valid UTF-8 in a blob is not copied");
        assert_eq!(
            text(&Blob(vec![0xC3, b'a', 0xFF, 0xFE])).expect("ok").as_deref(),
            Some("\u{FFFD}a\u{FFFD}\u{FFFD}")
        );
        assert_eq!(text(&Null).expect("ok"), None);
        assert_eq!(text(&Real(1.0)).expect("ok").as_deref(), Some("1.0"));
        // A third of the limit in bad bytes fits; one more does not.
        let fits = Blob(vec![0xFF; MAX_VALUE / 3]);
        assert_eq!(text(&fits).expect("fits").map(|t| t.len()), Some(MAX_VALUE / 3 * 3));
        let e = text(&Blob(vec![0xFF; MAX_VALUE / 3 + 1])).expect_err("grows past the limit");
        assert!(matches!(e, Error::TooBig { what: "text", size, .. } if size == (MAX_VALUE / 3 + 1) * 3), "{e}");
        assert!(check_size("x", None).is_err(), "an overflowed size is too big");
        assert_eq!(check_size("x", Some(MAX_VALUE)).expect("at the limit"), MAX_VALUE);
    }

    #[test]
    fn comparisons_apply_column_affinity() {
        use Value::*;
        let i = Some(Affinity::Integer);
        assert_eq!(compare(&Integer(5), i, &Text("5".into()), None), Some(Ordering::Equal));
        assert_eq!(
            compare(&Integer(5), None, &Text("5".into()), None),
            Some(Ordering::Less),
            "no affinity: number < text"
        );
        assert_eq!(compare(&Text("5".into()), Some(Affinity::Text), &Integer(5), None), Some(Ordering::Equal));
        assert_eq!(compare(&Null, i, &Integer(1), None), None);
    }
}
