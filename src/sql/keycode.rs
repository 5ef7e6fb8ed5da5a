//! The memcomparable encoding of SQL values: keys whose byte order is
//! SQLite's value order, so the B+tree compares them with `memcmp`.
//!
//! # Encoding
//!
//! | value | bytes |
//! |---|---|
//! | NULL (and NaN) | `0x05` |
//! | number | `0x10`, 8 bytes: the value as an order-preserving f64, 2 bytes: the exact integer's distance from that f64 (0 for reals) |
//! | text | `0x20`, the UTF-8 bytes with `0x00` escaped as `0x00 0xFF`, then `0x00 0x00` |
//! | blob | `0x30`, the bytes escaped the same way, then `0x00 0x00` |
//!
//! Numbers: an integer and a real compare by value, exactly. The f64 part
//! orders them except among integers beyond 2^53 that round to the same
//! f64; the distance (|d| ≤ 1024, big-endian with the sign bit flipped)
//! breaks those ties. An integer and a real that are equal (3 and 3.0)
//! encode identically, as SQLite treats them as equal keys. `-0.0` encodes
//! as `0.0`.
//!
//! A multi-column key is the concatenation of its parts: each part is
//! self-delimiting, so tuples order column by column, and a suffix (a row
//! locator in a non-unique index) can follow.

use crate::value::Value;

/// Tag of NULL.
pub const TAG_NULL: u8 = 0x05;
/// Tag of a number.
pub const TAG_NUMBER: u8 = 0x10;
/// Tag of text.
pub const TAG_TEXT: u8 = 0x20;
/// Tag of a blob.
pub const TAG_BLOB: u8 = 0x30;

/// Append the encoding of `v` to `out`.
pub fn encode_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(TAG_NULL),
        Value::Real(r) if r.is_nan() => out.push(TAG_NULL),
        Value::Real(r) => encode_number(out, if *r == 0.0 { 0.0 } else { *r }, 0),
        Value::Integer(i) => {
            let f = *i as f64;
            // Exact: f is an integer below 2^64 in magnitude.
            let d = i128::from(*i) - f as i128;
            encode_number(out, f, d as i16);
        }
        Value::Text(t) => encode_bytes(out, TAG_TEXT, t.as_bytes()),
        Value::Blob(b) => encode_bytes(out, TAG_BLOB, b),
    }
}

/// The encoding of a tuple of values.
pub fn encode_key(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 11);
    for v in values {
        encode_value(&mut out, v);
    }
    out
}

// Big-endian on purpose: memcmp order needs the most significant byte first.
#[allow(clippy::big_endian_bytes)]
fn encode_number(out: &mut Vec<u8>, f: f64, d: i16) {
    out.push(TAG_NUMBER);
    let bits = f.to_bits();
    let ordered = if bits >> 63 == 1 { !bits } else { bits ^ (1 << 63) };
    out.extend_from_slice(&ordered.to_be_bytes());
    out.extend_from_slice(&((d as u16) ^ 0x8000).to_be_bytes());
}

fn encode_bytes(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::sql_cmp;
    use proptest::prelude::*;

    #[test]
    fn golden_encodings() {
        assert_eq!(encode_key(&[Value::Null]), [0x05]);
        assert_eq!(encode_key(&[Value::Integer(1)]), [0x10, 0xBF, 0xF0, 0, 0, 0, 0, 0, 0, 0x80, 0]);
        assert_eq!(encode_key(&[Value::Real(1.0)]), encode_key(&[Value::Integer(1)]), "1 and 1.0 are one key");
        assert_eq!(encode_key(&[Value::Real(-0.0)]), encode_key(&[Value::Real(0.0)]));
        assert_eq!(encode_key(&[Value::Text("a\0b".into())]), [0x20, b'a', 0, 0xFF, b'b', 0, 0]);
        assert_eq!(encode_key(&[Value::Blob(vec![])]), [0x30, 0, 0]);
    }

    #[test]
    fn huge_integers_that_share_an_f64_stay_ordered() {
        let base = 1i64 << 60;
        let vals: Vec<Vec<u8>> = (0..5).map(|k| encode_key(&[Value::Integer(base + k)])).collect();
        assert!(vals.windows(2).all(|w| w[0] < w[1]));
        assert!(encode_key(&[Value::Integer(i64::MAX)]) < encode_key(&[Value::Real(9.3e18)]));
        assert!(encode_key(&[Value::Integer(i64::MIN)]) > encode_key(&[Value::Real(-9.3e18)]));
    }

    pub(crate) fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::Integer),
            (-5i64..5).prop_map(Value::Integer),
            ((1i64 << 53) - 3..(1i64 << 53) + 3).prop_map(Value::Integer),
            prop::sample::select(vec![i64::MIN, i64::MIN + 1, i64::MAX - 1, i64::MAX]).prop_map(Value::Integer),
            any::<f64>().prop_map(Value::real),
            (-5i32..5).prop_map(|i| Value::Real(f64::from(i) + 0.5)),
            prop::sample::select(vec![
                0.0,
                -0.0,
                9.007199254740992e15,
                9_223_372_036_854_775_808.0,
                -9.3e18,
                f64::INFINITY,
                f64::NEG_INFINITY
            ])
            .prop_map(Value::Real),
            "[a-c\u{0}\u{e9}]{0,4}".prop_map(Value::Text),
            prop::collection::vec(prop::sample::select(vec![0u8, 1, 0xFF, b'a']), 0..4).prop_map(Value::Blob),
        ]
    }

    proptest! {
        /// Byte order of encodings equals SQLite's value order (waldb's
        /// statement of it, `sql_cmp`; `tests/keycode_sqlite.rs` checks
        /// that against SQLite itself).
        #[test]
        fn encoding_preserves_the_value_order(a in value(), b in value()) {
            let enc = encode_key(std::slice::from_ref(&a)).cmp(&encode_key(std::slice::from_ref(&b)));
            prop_assert_eq!(enc, sql_cmp(&a, &b), "{:?} vs {:?}", a, b);
        }

        /// Tuples order column by column.
        #[test]
        fn tuples_order_lexicographically(a in prop::collection::vec(value(), 1..4), b in prop::collection::vec(value(), 1..4)) {
            let expected = a.iter().zip(&b).map(|(x, y)| sql_cmp(x, y)).find(|o| o.is_ne()).unwrap_or(a.len().cmp(&b.len()));
            prop_assert_eq!(encode_key(&a).cmp(&encode_key(&b)), expected);
        }
    }
}
