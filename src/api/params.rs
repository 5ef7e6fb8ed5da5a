//! Parameters: Rust values bound to a statement's `?` and `?N` placeholders.
//!
//! Anything implementing [`Params`] can be passed: `()`, tuples of up to
//! twelve [`ToSql`] values, slices, arrays and vectors of [`Value`] (or of any
//! one [`ToSql`] type), and the slice of trait objects the [`params!`] macro
//! builds.
//!
//! [`params!`]: crate::params

use crate::value::Value;

/// A Rust value that can be bound to a parameter.
///
/// ```
/// use waldb::{ToSql, Value};
/// struct Celsius(f64);
/// impl ToSql for Celsius {
///     fn to_sql(&self) -> Value {
///         Value::Real(self.0)
///     }
/// }
/// let db = waldb::Database::open_in_memory()?;
/// let t: f64 = db.query_row("SELECT ? + 1", [Celsius(20.5)], |r| r.get(0))?;
/// assert_eq!(t, 21.5);
/// # Ok::<(), waldb::Error>(())
/// ```
pub trait ToSql {
    /// The SQL value.
    fn to_sql(&self) -> Value;
}

impl ToSql for Value {
    fn to_sql(&self) -> Value {
        self.clone()
    }
}

macro_rules! to_sql_int {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> Value {
                Value::Integer(i64::from(*self))
            }
        }
    )*};
}
to_sql_int!(i8, i16, i32, i64, u8, u16, u32, bool);

impl ToSql for u64 {
    /// Values above `i64::MAX` become REAL, as SQLite stores them.
    fn to_sql(&self) -> Value {
        i64::try_from(*self).map_or(Value::Real(*self as f64), Value::Integer)
    }
}

impl ToSql for usize {
    fn to_sql(&self) -> Value {
        (*self as u64).to_sql()
    }
}

impl ToSql for isize {
    fn to_sql(&self) -> Value {
        Value::Integer(*self as i64)
    }
}

impl ToSql for f64 {
    fn to_sql(&self) -> Value {
        Value::real(*self)
    }
}

impl ToSql for f32 {
    fn to_sql(&self) -> Value {
        Value::real(f64::from(*self))
    }
}

impl ToSql for str {
    fn to_sql(&self) -> Value {
        Value::Text(self.to_string())
    }
}

impl ToSql for String {
    fn to_sql(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl ToSql for [u8] {
    fn to_sql(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}

impl ToSql for Vec<u8> {
    fn to_sql(&self) -> Value {
        Value::Blob(self.clone())
    }
}

impl<T: ToSql> ToSql for Option<T> {
    fn to_sql(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToSql::to_sql)
    }
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_sql(&self) -> Value {
        (**self).to_sql()
    }
}

impl<T: ToSql + ?Sized> ToSql for Box<T> {
    fn to_sql(&self) -> Value {
        (**self).to_sql()
    }
}

/// A statement's parameter values, in order (`?1` is the first): `()`,
/// tuples of up to 12 [`ToSql`] values, arrays, slices and vectors of one
/// type, or [`params!`](crate::params) for mixed types in a list.
///
/// ```
/// use waldb::{params, Value};
/// let db = waldb::Database::open_in_memory()?;
/// db.execute("CREATE TABLE t(a INTEGER, b TEXT, c REAL)", ())?;
/// db.execute("INSERT INTO t VALUES (?, ?, ?)", (1, "one", 1.5))?;
/// db.execute("INSERT INTO t VALUES (?3, ?2, ?1)", [Value::Real(2.5), Value::Text("two".into()), Value::Integer(2)])?;
/// db.execute("INSERT INTO t VALUES (?, ?, ?)", params![3, "three".to_string(), None::<f64>])?;
/// assert_eq!(db.query_row("SELECT count(*) FROM t WHERE a IN (?, ?)", [2, 3], |r| r.get::<i64>(0))?, 2);
/// # Ok::<(), waldb::Error>(())
/// ```
pub trait Params {
    /// The values.
    fn into_values(self) -> Vec<Value>;
}

impl Params for () {
    fn into_values(self) -> Vec<Value> {
        Vec::new()
    }
}

impl<T: ToSql> Params for &[T] {
    fn into_values(self) -> Vec<Value> {
        self.iter().map(ToSql::to_sql).collect()
    }
}

impl<T: ToSql, const N: usize> Params for [T; N] {
    fn into_values(self) -> Vec<Value> {
        self.iter().map(ToSql::to_sql).collect()
    }
}

impl<T: ToSql, const N: usize> Params for &[T; N] {
    fn into_values(self) -> Vec<Value> {
        self.iter().map(ToSql::to_sql).collect()
    }
}

impl<T: ToSql> Params for Vec<T> {
    fn into_values(self) -> Vec<Value> {
        self.iter().map(ToSql::to_sql).collect()
    }
}

impl<T: ToSql> Params for &Vec<T> {
    fn into_values(self) -> Vec<Value> {
        self.iter().map(ToSql::to_sql).collect()
    }
}

macro_rules! params_tuple {
    ($($n:tt $t:ident),+) => {
        impl<$($t: ToSql),+> Params for ($($t,)+) {
            fn into_values(self) -> Vec<Value> {
                vec![$(self.$n.to_sql()),+]
            }
        }
    };
}
params_tuple!(0 A);
params_tuple!(0 A, 1 B);
params_tuple!(0 A, 1 B, 2 C);
params_tuple!(0 A, 1 B, 2 C, 3 D);
params_tuple!(0 A, 1 B, 2 C, 3 D, 4 E);
params_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
params_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
params_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);
params_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I);
params_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J);
params_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K);
params_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L);

/// Parameters of mixed types, as a slice of [`ToSql`] trait objects.
///
/// ```
/// use waldb::{Database, params};
/// let db = Database::open_in_memory()?;
/// db.execute("CREATE TABLE t(a INTEGER, b TEXT)", ())?;
/// db.execute("INSERT INTO t VALUES (?, ?)", params![1, "one"])?;
/// # Ok::<(), waldb::Error>(())
/// ```
#[macro_export]
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::ToSql]
    };
    ($($v:expr),+ $(,)?) => {
        &[$(&$v as &dyn $crate::ToSql),+] as &[&dyn $crate::ToSql]
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_gives_the_same_values() {
        let want = vec![Value::Integer(1), Value::Text("x".into()), Value::Null];
        assert_eq!((1, "x", None::<i64>).into_values(), want);
        assert_eq!(want.clone().into_values(), want);
        assert_eq!((&want[..]).into_values(), want);
        assert_eq!(params![1, "x", None::<i64>].into_values(), want);
        assert_eq!(().into_values(), Vec::<Value>::new());
        assert_eq!([1i64, 2].into_values(), vec![Value::Integer(1), Value::Integer(2)]);
    }

    #[test]
    fn rust_values_map_to_sql_values() {
        assert_eq!(true.to_sql(), Value::Integer(1));
        assert_eq!(u64::MAX.to_sql(), Value::Real(u64::MAX as f64));
        assert_eq!(f64::NAN.to_sql(), Value::Null);
        assert_eq!(vec![1u8, 2].to_sql(), Value::Blob(vec![1, 2]));
        assert_eq!(Some("a").to_sql(), Value::Text("a".into()));
    }
}
