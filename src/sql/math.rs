//! SQLite's math functions (`acos` … `trunc`, `ln`, `log`, `pow`, `mod`,
//! `pi`, …) with its rules: an argument must be a number or text that is
//! entirely a number (anything else gives NULL), a result that is NaN is
//! NULL, `ceil`/`floor`/`trunc` keep integers as they are.

use crate::value::Value;

use super::types::{parse_number, to_real};

/// A math function (the one-argument ones by their name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MathFunc {
    /// `acos(x)` … and every other one-argument real function.
    Unary(&'static str),
    /// `ceil`, `ceiling`, `floor`, `trunc`: integers unchanged.
    Round(&'static str),
    /// `ln(x)`.
    Ln,
    /// `log(x)`, `log10(x)`.
    Log10,
    /// `log2(x)`.
    Log2,
    /// `log(b, x)`.
    LogBase,
    /// `pow`/`power`, `atan2`, `mod`.
    Binary(&'static str),
    /// `pi()`.
    Pi,
    /// `sign(x)`.
    Sign,
}

const UNARY: [&str; 16] = [
    "acos", "asin", "atan", "acosh", "asinh", "atanh", "cos", "sin", "tan", "cosh", "sinh", "tanh", "exp", "sqrt",
    "degrees", "radians",
];

/// The math function `name` with `args` arguments, if there is one.
pub fn lookup(name: &str, args: usize) -> Option<MathFunc> {
    use MathFunc::*;
    Some(match (name, args) {
        ("pi", 0) => Pi,
        ("ln", 1) => Ln,
        ("log" | "log10", 1) => Log10,
        ("log2", 1) => Log2,
        ("log", 2) => LogBase,
        ("pow" | "power", 2) => Binary("pow"),
        ("atan2", 2) => Binary("atan2"),
        ("mod", 2) => Binary("mod"),
        ("ceil" | "ceiling", 1) => Round("ceil"),
        ("floor", 1) => Round("floor"),
        ("trunc", 1) => Round("trunc"),
        ("sign", 1) => Sign,
        (n, 1) => Unary(UNARY.iter().find(|&&u| u == n)?),
        _ => return None,
    })
}

fn unary(name: &str, x: f64) -> f64 {
    match name {
        "acos" => x.acos(),
        "asin" => x.asin(),
        "atan" => x.atan(),
        "acosh" => x.acosh(),
        "asinh" => x.asinh(),
        "atanh" => x.atanh(),
        "cos" => x.cos(),
        "sin" => x.sin(),
        "tan" => x.tan(),
        "cosh" => x.cosh(),
        "sinh" => x.sinh(),
        "tanh" => x.tanh(),
        "exp" => x.exp(),
        "sqrt" => x.sqrt(),
        "degrees" => x * (180.0 / std::f64::consts::PI),
        "radians" => x * (std::f64::consts::PI / 180.0),
        "ceil" => x.ceil(),
        "floor" => x.floor(),
        _ => x.trunc(),
    }
}

fn binary(name: &str, x: f64, y: f64) -> f64 {
    match name {
        "pow" => x.powf(y),
        "atan2" => x.atan2(y),
        // C's fmod: the remainder with the dividend's sign.
        _ => x % y,
    }
}

/// Whether `name` is a math function at all (for "wrong number of
/// arguments" rather than "no such function").
pub fn is_name(name: &str) -> bool {
    (0..=2).any(|n| lookup(name, n).is_some())
}

/// `sqlite3_value_numeric_type` and the value: numbers as they are, text
/// only when it is entirely a number; otherwise `None`.
fn numeric(v: &Value) -> Option<Value> {
    match v {
        Value::Integer(_) | Value::Real(_) => Some(v.clone()),
        Value::Text(t) => parse_number(t),
        _ => None,
    }
}

fn num(v: &Value) -> Option<f64> {
    numeric(v).map(|n| to_real(&n))
}

/// Call a math function.
pub fn call(f: MathFunc, args: &[Value]) -> Value {
    let a0 = args.first().unwrap_or(&Value::Null);
    let a1 = args.get(1).unwrap_or(&Value::Null);
    let real = |r: f64| Value::real(r);
    match f {
        MathFunc::Pi => Value::Real(std::f64::consts::PI),
        MathFunc::Unary(g) => num(a0).map_or(Value::Null, |x| real(unary(g, x))),
        MathFunc::Round(g) => match numeric(a0) {
            Some(Value::Integer(i)) => Value::Integer(i),
            Some(n) => real(unary(g, to_real(&n))),
            None => Value::Null,
        },
        MathFunc::Binary(g) => match (num(a0), num(a1)) {
            (Some(x), Some(y)) => real(binary(g, x, y)),
            _ => Value::Null,
        },
        MathFunc::Ln | MathFunc::Log10 | MathFunc::Log2 => match num(a0) {
            Some(x) if x > 0.0 => real(match f {
                MathFunc::Ln => x.ln(),
                MathFunc::Log10 => x.log10(),
                _ => x.log2(),
            }),
            _ => Value::Null,
        },
        MathFunc::LogBase => {
            // SQLite checks only the base's type; the argument is read as
            // a real whatever it is.
            let Some(b) = num(a0).filter(|&b| b > 0.0).map(f64::ln).filter(|&b| b > 0.0) else {
                return Value::Null;
            };
            if matches!(a1, Value::Null) {
                return Value::Null;
            }
            let x = to_real(a1);
            if x <= 0.0 { Value::Null } else { real(x.ln() / b) }
        }
        MathFunc::Sign => match num(a0) {
            Some(x) => Value::Integer(if x < 0.0 {
                -1
            } else if x > 0.0 {
                1
            } else {
                0
            }),
            None => Value::Null,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Value::*;

    fn c(name: &str, args: &[Value]) -> Value {
        call(lookup(name, args.len()).expect("a math function"), args)
    }

    #[test]
    fn math_follows_sqlite() {
        assert_eq!(c("sqrt", &[Integer(4)]), Real(2.0));
        assert_eq!(c("sqrt", &[Integer(-1)]), Null, "NaN is NULL");
        assert_eq!(c("sqrt", &[Text("x".into())]), Null);
        assert_eq!(c("sqrt", &[Text(" 9 ".into())]), Real(3.0));
        assert_eq!(c("ceil", &[Integer(5)]), Integer(5));
        assert_eq!(c("ceil", &[Real(1.2)]), Real(2.0));
        assert_eq!(c("log", &[Integer(2), Integer(8)]), Real(3.0));
        assert_eq!(c("log", &[Integer(1), Integer(8)]), Null);
        assert_eq!(c("ln", &[Integer(0)]), Null);
        assert_eq!(c("mod", &[Integer(-7), Integer(3)]), Real(-1.0));
        assert_eq!(c("mod", &[Integer(7), Integer(0)]), Null);
        assert_eq!(c("sign", &[Text("abc".into())]), Null);
        assert_eq!(c("sign", &[Real(-0.5)]), Integer(-1));
        assert_eq!(c("pi", &[]), Real(std::f64::consts::PI));
    }
}
