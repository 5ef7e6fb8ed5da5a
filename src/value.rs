//! [`Value`]: the SQL values waldb stores — NULL, 64-bit integers, 64-bit
//! reals, UTF-8 text and blobs — and their order, which is SQLite's.
//!
//! A leaf module: the key encoding (`sql::keycode`), the SQL layer
//! and the API all use it.

use std::cmp::Ordering;

/// A SQL value.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    /// The absence of a value.
    #[default]
    Null,
    /// A 64-bit signed integer.
    Integer(i64),
    /// A 64-bit IEEE real (never NaN: NaN becomes NULL, as in SQLite).
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl Value {
    /// A real, with NaN turned into NULL as SQLite does.
    pub fn real(r: f64) -> Value {
        if r.is_nan() { Value::Null } else { Value::Real(r) }
    }

    /// The storage class's name, as SQLite's `typeof()` spells it in
    /// capitals (`INTEGER`, `TEXT`, …), for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Integer(_) => "INTEGER",
            Value::Real(_) => "REAL",
            Value::Text(_) => "TEXT",
            Value::Blob(_) => "BLOB",
        }
    }

    /// SQLite's storage-class rank: NULL < numbers < text < blobs.
    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Integer(_) | Value::Real(_) => 1,
            Value::Text(_) => 2,
            Value::Blob(_) => 3,
        }
    }
}

/// Compare an integer with a real exactly (no rounding of large integers).
pub fn cmp_int_real(i: i64, r: f64) -> Ordering {
    if r.is_nan() {
        return Ordering::Greater;
    }
    // 2^63 is exactly representable; every i64 is below it.
    if r >= 9_223_372_036_854_775_808.0 {
        return Ordering::Less;
    }
    if r < -9_223_372_036_854_775_808.0 {
        return Ordering::Greater;
    }
    let t = r.trunc();
    match i.cmp(&(t as i64)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(r - t)).unwrap_or(Ordering::Equal),
        other => other,
    }
}

/// SQLite's sort order of values (ORDER BY, indexes): NULL first, then
/// numbers by value (integers and reals compared exactly), then text by
/// bytes (BINARY collation), then blobs by bytes.
pub fn sql_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Real(x), Value::Real(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Value::Integer(x), Value::Real(y)) => cmp_int_real(*x, *y),
        (Value::Real(x), Value::Integer(y)) => cmp_int_real(*y, *x).reverse(),
        (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Blob(x), Value::Blob(y)) => x.cmp(y),
        _ => a.rank().cmp(&b.rank()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_reals_compare_exactly() {
        let big = (1i64 << 53) + 1;
        assert_eq!(cmp_int_real(big, (1i64 << 53) as f64), Ordering::Greater, "no rounding through f64");
        assert_eq!(cmp_int_real(i64::MAX, 9_223_372_036_854_775_808.0), Ordering::Less);
        assert_eq!(cmp_int_real(3, 3.0), Ordering::Equal);
        assert_eq!(cmp_int_real(3, 3.5), Ordering::Less);
        assert_eq!(cmp_int_real(-3, -3.5), Ordering::Greater);
        assert_eq!(cmp_int_real(i64::MIN, -9.3e18), Ordering::Greater);
    }

    #[test]
    fn storage_classes_order_as_sqlite() {
        let v = [
            Value::Null,
            Value::Integer(-5),
            Value::Real(0.5),
            Value::Integer(1),
            Value::Text("a".into()),
            Value::Text("b".into()),
            Value::Blob(vec![0]),
        ];
        for w in v.windows(2) {
            assert_eq!(sql_cmp(&w[0], &w[1]), Ordering::Less, "{:?} < {:?}", w[0], w[1]);
        }
        assert_eq!(Value::real(f64::NAN), Value::Null);
    }
}
