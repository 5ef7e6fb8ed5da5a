//! Builders of the TEXT and BLOB values that SQL functions and operators
//! make (`||`, `replace`, `group_concat`, `hex`, `quote`, `upper`,
//! `lower`): each computes its result's size first, with checked
//! arithmetic, and refuses one past [`MAX_VALUE`] with `Error::TooBig`
//! before it allocates, then allocates exactly that size once.
//!
//! So `replace(zeroblob(67108864), x'00', zeroblob(67108864))` is an error
//! after one counting pass, not a request for 4 PiB that aborts the process,
//! and `group_concat` stops at the limit instead of growing without end.

use std::borrow::Cow;

use crate::error::Result;
use crate::value::Value;

use super::types::{MAX_VALUE, check_size, real_to_text, text};

/// `x || y` (NULL if either is NULL).
pub fn concat(x: &Value, y: &Value) -> Result<Value> {
    if matches!(x, Value::Null) || matches!(y, Value::Null) {
        return Ok(Value::Null);
    }
    let (Some(a), Some(b)) = (text(x)?, text(y)?) else { return Ok(Value::Null) };
    let n = check_size("||", a.len().checked_add(b.len()))?;
    let mut s = String::with_capacity(n);
    s.push_str(&a);
    s.push_str(&b);
    Ok(Value::Text(s))
}

/// A copy of `t` as the result of `what` (an owned result is a built
/// value too).
pub fn owned(what: &'static str, t: Cow<'_, str>) -> Result<String> {
    check_size(what, Some(t.len()))?;
    Ok(t.into_owned())
}

/// `replace(s, from, to)` for a non-empty `from`: the matches are counted
/// first, so the result's size is known before anything is allocated.
pub fn replace(s: &str, from: &str, to: &str) -> Result<String> {
    let hits = s.matches(from).count();
    let size = if to.len() >= from.len() {
        hits.checked_mul(to.len() - from.len()).and_then(|grow| s.len().checked_add(grow))
    } else {
        // Non-overlapping matches: they shrink the string by at most its
        // own length.
        hits.checked_mul(from.len() - to.len()).and_then(|shrink| s.len().checked_sub(shrink))
    };
    let n = check_size("replace", size)?;
    let mut out = String::with_capacity(n);
    let mut last = 0;
    for (at, m) in s.match_indices(from) {
        out.push_str(s.get(last..at).unwrap_or_default());
        out.push_str(to);
        last = at + m.len();
    }
    out.push_str(s.get(last..).unwrap_or_default());
    Ok(out)
}

/// Append `parts` to `acc` (a `what` under construction), failing before
/// it grows past [`MAX_VALUE`]. Capacity grows geometrically, capped at the
/// limit, so no allocation is ever larger than the limit.
pub fn append(what: &'static str, acc: &mut String, parts: &[&str]) -> Result<()> {
    let add = parts.iter().try_fold(0usize, |n, p| n.checked_add(p.len()));
    let need = check_size(what, add.and_then(|a| acc.len().checked_add(a)))?;
    if need > acc.capacity() {
        let target = need.max(acc.capacity().saturating_mul(2)).min(MAX_VALUE);
        acc.reserve_exact(target - acc.len());
    }
    for p in parts {
        acc.push_str(p);
    }
    Ok(())
}

const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";

fn push_hex(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(b & 15)]));
    }
}

/// `hex(x)`: two digits per byte of a blob, or of the text's UTF-8; NULL
/// is the empty string.
pub fn hex(v: &Value) -> Result<String> {
    let bytes: Cow<'_, [u8]> = match v {
        Value::Null => Cow::Borrowed(&[]),
        Value::Blob(b) => Cow::Borrowed(b),
        Value::Text(t) => Cow::Borrowed(t.as_bytes()),
        Value::Integer(i) => Cow::Owned(i.to_string().into_bytes()),
        Value::Real(r) => Cow::Owned(real_to_text(*r).into_bytes()),
    };
    let n = check_size("hex", bytes.len().checked_mul(2))?;
    let mut s = String::with_capacity(n);
    push_hex(&mut s, &bytes);
    Ok(s)
}

/// `quote(x)`: the value as an SQL literal (`'it''s'`, `X'0AFF'`).
pub fn quote(v: &Value) -> Result<String> {
    Ok(match v {
        Value::Text(t) => {
            let quotes = t.bytes().filter(|&b| b == b'\'').count();
            let n = check_size("quote", t.len().checked_add(quotes).and_then(|n| n.checked_add(2)))?;
            let mut s = String::with_capacity(n);
            s.push('\'');
            for (i, part) in t.split('\'').enumerate() {
                if i > 0 {
                    s.push_str("''");
                }
                s.push_str(part);
            }
            s.push('\'');
            s
        }
        Value::Blob(b) => {
            let n = check_size("quote", b.len().checked_mul(2).and_then(|n| n.checked_add(3)))?;
            let mut s = String::with_capacity(n);
            s.push_str("X'");
            push_hex(&mut s, b);
            s.push('\'');
            s
        }
        other => super::print::literal(other),
    })
}

/// The size of `s` with every character mapped by `f` (ASCII keeps it).
fn mapped_size(what: &'static str, s: &str, f: impl Fn(char) -> usize) -> Result<usize> {
    let size = if s.is_ascii() { Some(s.len()) } else { s.chars().try_fold(0usize, |n, c| n.checked_add(f(c))) };
    check_size(what, size)
}

/// `upper(x)`: some characters grow (`ΐ`, 2 bytes, is 6 bytes upper-cased).
pub fn upper(s: &str) -> Result<String> {
    let n = mapped_size("upper", s, |c| c.to_uppercase().map(char::len_utf8).sum())?;
    if s.is_ascii() {
        return Ok(s.to_ascii_uppercase());
    }
    // As `str::to_uppercase` (which has no context rules), in one
    // allocation of the exact size.
    let mut out = String::with_capacity(n);
    out.extend(s.chars().flat_map(char::to_uppercase));
    Ok(out)
}

/// `lower(x)`: some characters grow (`İ`, 2 bytes, is 3 bytes lower-cased).
/// (A final sigma's special form is as long as the ordinary one.)
pub fn lower(s: &str) -> Result<String> {
    let n = mapped_size("lower", s, |c| c.to_lowercase().map(char::len_utf8).sum())?;
    if s.is_ascii() {
        return Ok(s.to_ascii_lowercase());
    }
    if s.contains('Σ') {
        // Only a capital sigma lower-cases by context: std knows how.
        return Ok(s.to_lowercase());
    }
    let mut out = String::with_capacity(n);
    out.extend(s.chars().flat_map(char::to_lowercase));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn too_big(r: Result<impl std::fmt::Debug>, what: &str) {
        match r {
            Err(Error::TooBig { what: w, size, limit }) => {
                assert_eq!(w, what);
                assert_eq!(limit, MAX_VALUE);
                assert!(size > MAX_VALUE);
            }
            other => panic!("{what}: expected TooBig, got {other:?}"),
        }
    }

    #[test]
    fn builders_give_sqlites_results() {
        use Value::*;
        assert_eq!(concat(&Text("a".into()), &Integer(1)).expect("ok"), Text("a1".into()));
        assert_eq!(concat(&Null, &Text("a".into())).expect("ok"), Null);
        assert_eq!(concat(&Blob(b"x".to_vec()), &Real(2.0)).expect("ok"), Text("x2.0".into()));
        assert_eq!(replace("abcabc", "bc", "X").expect("ok"), "aXaX");
        assert_eq!(replace("aaa", "aa", "b").expect("ok"), "ba", "matches do not overlap");
        assert_eq!(replace("héllo", "l", "LL").expect("ok"), "héLLLLo");
        assert_eq!(hex(&Text("é".into())).expect("ok"), "C3A9");
        assert_eq!(hex(&Null).expect("ok"), "");
        assert_eq!(hex(&Integer(-1)).expect("ok"), "2D31");
        assert_eq!(quote(&Text("it's".into())).expect("ok"), "'it''s'");
        assert_eq!(quote(&Text("'".into())).expect("ok"), "''''");
        assert_eq!(quote(&Blob(vec![0x0A, 0xFF])).expect("ok"), "X'0AFF'");
        assert_eq!(quote(&Null).expect("ok"), "NULL");
        assert_eq!(upper("aßΐ").expect("ok"), "ASS\u{0399}\u{0308}\u{0301}");
        assert_eq!(lower("ÀİΣ").expect("ok"), "\u{E0}i\u{0307}\u{03C2}", "a final sigma");
        let mut acc = String::from("a");
        append("group_concat", &mut acc, &[",", "b"]).expect("ok");
        assert_eq!(acc, "a,b");
    }

    #[test]
    fn builders_refuse_results_past_the_limit_before_allocating_them() {
        // Counting the matches is all replace does before refusing.
        let s = "\0".repeat(1 << 20);
        let to = "x".repeat(MAX_VALUE);
        too_big(replace(&s, "\0", &to), "replace");
        let half = "a".repeat(MAX_VALUE / 2);
        assert_eq!(replace(&half, "a", "bb").expect("at the limit").len(), MAX_VALUE);
        too_big(concat(&Value::Text(half.clone()), &Value::Text(format!("{half}!"))), "||");
        too_big(hex(&Value::Text(format!("{half}!"))), "hex");
        too_big(quote(&Value::Blob(vec![0; MAX_VALUE / 2])), "quote");
        too_big(upper(&"ΐ".repeat(MAX_VALUE / 4)), "upper");
        too_big(lower(&"İ".repeat(MAX_VALUE / 3 + 1)), "lower");
        let mut acc = half.clone();
        append("group_concat", &mut acc, &[",", &half]).expect_err("one byte past");
        assert_eq!(acc.len(), MAX_VALUE / 2, "a refused append leaves the value as it was");
        append("group_concat", &mut acc, &[&half]).expect("exactly the limit");
        assert_eq!(acc.len(), MAX_VALUE);
        assert!(acc.capacity() <= MAX_VALUE, "growth is capped at the limit");
    }
}
