//! The scalar functions beyond [`super::func`]'s core: date and time
//! ([`super::datetime`]), `printf`/`format` ([`super::printf`]), math
//! ([`super::math`]), `random`/`randomblob`, `likelihood`, `sqlite_version`.
//!
//! They are one [`Ext`] variant of [`super::func::Scalar`]; some need the
//! statement's environment — its time (`'now'`, stable within a statement)
//! and randomness — which the executor passes in as an [`Env`].

use crate::error::{Error, Result};
use crate::value::Value;

use super::datetime::{self, DateFunc};
use super::math::{self, MathFunc};
use super::printf;
use super::table::MAX_ROW;

/// The SQLite release whose behaviour waldb's functions follow (the one
/// `rusqlite`'s bundled build, the differential tests' judge, carries).
pub const SQLITE_VERSION: &str = "3.54.1";

/// What the functions need from the statement: time and randomness.
pub trait Env: datetime::Env {
    /// 64 random bits.
    fn random_u64(&mut self) -> u64;
}

/// A function of this module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ext {
    /// A date/time function.
    Date(DateFunc),
    /// A math function.
    Math(MathFunc),
    /// `printf(format, …)` / `format(format, …)`.
    Printf,
    /// `random()`.
    Random,
    /// `randomblob(n)`.
    RandomBlob,
    /// `likelihood(x, p)`: x, with p checked.
    Likelihood,
    /// `sqlite_version()`.
    SqliteVersion,
}

/// Look up a function of this module by name and argument count: the
/// errors are SQLite's "no such function" and "wrong number of arguments".
pub fn lookup(name: &str, args: usize) -> Result<Ext> {
    let date = |f| (Ext::Date(f), 0..=usize::MAX);
    let (f, n) = match name {
        "date" => date(DateFunc::Date),
        "time" => date(DateFunc::Time),
        "datetime" => date(DateFunc::DateTime),
        "julianday" => date(DateFunc::JulianDay),
        "unixepoch" => date(DateFunc::UnixEpoch),
        "strftime" => date(DateFunc::Strftime),
        "timediff" => (Ext::Date(DateFunc::TimeDiff), 2..=2),
        "current_date" => (Ext::Date(DateFunc::Date), 0..=0),
        "current_time" => (Ext::Date(DateFunc::Time), 0..=0),
        "current_timestamp" => (Ext::Date(DateFunc::DateTime), 0..=0),
        "printf" | "format" => (Ext::Printf, 0..=usize::MAX),
        "random" => (Ext::Random, 0..=0),
        "randomblob" => (Ext::RandomBlob, 1..=1),
        "likelihood" => (Ext::Likelihood, 2..=2),
        "sqlite_version" => (Ext::SqliteVersion, 0..=0),
        _ => {
            if let Some(m) = math::lookup(name, args) {
                return Ok(Ext::Math(m));
            }
            if math::is_name(name) {
                return Err(Error::Sql(format!("wrong number of arguments to function {name}()")));
            }
            return Err(Error::Sql(format!("no such function: {name}")));
        }
    };
    if !n.contains(&args) {
        return Err(Error::Sql(format!("wrong number of arguments to function {name}()")));
    }
    Ok(f)
}

/// Call a function of this module.
pub fn call(f: Ext, args: &[Value], env: &mut dyn Env) -> Result<Value> {
    Ok(match f {
        Ext::Date(d) => datetime::call(d, args, env),
        Ext::Math(m) => math::call(m, args),
        Ext::Printf => printf::printf(args, MAX_ROW)?,
        Ext::Random => Value::Integer(env.random_u64() as i64),
        Ext::RandomBlob => {
            // SQLite: fewer than one byte is one byte.
            let n = args.first().map_or(1, super::types::to_int).max(1) as u64;
            if n > MAX_ROW as u64 {
                return Err(Error::TooBig { what: "randomblob", size: n as usize, limit: MAX_ROW });
            }
            let mut b = Vec::with_capacity(n as usize);
            while (b.len() as u64) < n {
                let r = env.random_u64().to_le_bytes();
                let take = (n as usize - b.len()).min(8);
                b.extend_from_slice(&r[..take]);
            }
            Value::Blob(b)
        }
        Ext::Likelihood => {
            // SQLite wants a constant real in [0, 1]; waldb checks the value.
            match args.get(1) {
                Some(Value::Real(p)) if (0.0..=1.0).contains(p) => args.first().cloned().unwrap_or(Value::Null),
                _ => {
                    return Err(Error::Sql(
                        "second argument to likelihood() must be a constant between 0.0 and 1.0".into(),
                    ));
                }
            }
        }
        Ext::SqliteVersion => Value::Text(SQLITE_VERSION.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u64);
    impl datetime::Env for Counter {
        fn now_unix_ms(&mut self) -> i64 {
            0
        }
    }
    impl Env for Counter {
        fn random_u64(&mut self) -> u64 {
            self.0 += 1;
            self.0
        }
    }

    #[test]
    fn lookups_and_calls() {
        assert!(matches!(lookup("nosuch", 1), Err(Error::Sql(m)) if m.contains("no such function")));
        assert!(matches!(lookup("sqrt", 2), Err(Error::Sql(m)) if m.contains("wrong number")));
        assert!(matches!(lookup("timediff", 1), Err(Error::Sql(m)) if m.contains("wrong number")));
        let mut env = Counter(0);
        let b = call(Ext::RandomBlob, &[Value::Integer(0)], &mut env).expect("randomblob");
        assert_eq!(b, Value::Blob(vec![1]));
        let b = call(Ext::RandomBlob, &[Value::Integer(10)], &mut env).expect("randomblob");
        assert!(matches!(b, Value::Blob(v) if v.len() == 10));
        assert!(call(Ext::RandomBlob, &[Value::Integer(i64::MAX)], &mut env).is_err());
        assert!(call(Ext::Likelihood, &[Value::Integer(1), Value::Real(1.5)], &mut env).is_err());
        assert_eq!(
            call(Ext::Likelihood, &[Value::Integer(1), Value::Real(0.5)], &mut env).expect("likelihood"),
            Value::Integer(1)
        );
    }
}
