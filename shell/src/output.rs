//! Output modes and value formatting: how a result (column names + rows)
//! is written in `box`, `table`, `list`, `csv`, `json`, `line` and
//! `markdown` mode, with `.headers` and `.nullvalue`. Values print as
//! sqlite3 prints them; aligned modes measure display width with
//! `unicode-width` so wide and combining characters line up.

use std::fmt::Write as _;
use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;
use waldb::Value;

/// An output mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Unicode box drawing (the default on a terminal).
    Box,
    /// ASCII table.
    Table,
    /// Values separated by `|` (the default for scripts).
    List,
    /// Comma-separated values.
    Csv,
    /// A JSON array of objects.
    Json,
    /// One `column = value` line per value.
    Line,
    /// A Markdown table.
    Markdown,
}

impl Mode {
    /// All modes' names, for `.mode` and completion.
    pub const NAMES: &[&str] = &["box", "table", "list", "csv", "json", "line", "markdown"];

    /// The mode called `name`.
    pub fn from_name(name: &str) -> Option<Mode> {
        Some(match name.to_ascii_lowercase().as_str() {
            "box" => Mode::Box,
            "table" => Mode::Table,
            "list" => Mode::List,
            "csv" => Mode::Csv,
            "json" => Mode::Json,
            "line" => Mode::Line,
            "markdown" => Mode::Markdown,
            _ => return None,
        })
    }

    /// This mode's name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Box => "box",
            Mode::Table => "table",
            Mode::List => "list",
            Mode::Csv => "csv",
            Mode::Json => "json",
            Mode::Line => "line",
            Mode::Markdown => "markdown",
        }
    }
}

/// How results are printed.
#[derive(Debug, Clone)]
pub struct Format {
    /// The mode.
    pub mode: Mode,
    /// Print column names in `list` and `csv` mode (the aligned modes always do).
    pub headers: bool,
    /// Text shown for NULL.
    pub null: String,
}

/// A value as plain text (list, csv, line): sqlite3's rendering, reals
/// as `%!.15g` (`3.33333333333333`, `2.0`, `1.0e+100`).
pub fn plain(v: &Value, null: &str) -> String {
    v.to_display_text().unwrap_or_else(|| null.to_string())
}

/// Blob as `X'0A1B'`.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2 + 3);
    s.push_str("X'");
    for byte in b {
        let _ = write!(s, "{byte:02X}");
    }
    s.push('\'');
    s
}

/// A value for an aligned cell: blobs in hex, control characters escaped
/// so that they cannot break the layout.
fn cell(v: &Value, null: &str) -> String {
    let s = match v {
        Value::Blob(b) => return hex(b),
        v => plain(v, null),
    };
    if !s.chars().any(char::is_control) {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

fn pad(s: &str, w: usize, right: bool) -> String {
    let fill = " ".repeat(w.saturating_sub(width(s)));
    if right { format!("{fill}{s}") } else { format!("{s}{fill}") }
}

fn center(s: &str, w: usize) -> String {
    let gap = w.saturating_sub(width(s));
    let left = gap / 2;
    format!("{}{s}{}", " ".repeat(left), " ".repeat(gap - left))
}

/// Write a result in `fmt`'s mode. Nothing is written for a statement that
/// returns no columns, or (as in sqlite3) for a query with no rows.
pub fn write_result(out: &mut dyn Write, fmt: &Format, columns: &[String], rows: &[Vec<Value>]) -> io::Result<()> {
    if columns.is_empty() || rows.is_empty() {
        return Ok(());
    }
    match fmt.mode {
        Mode::List => {
            if fmt.headers {
                writeln!(out, "{}", columns.join("|"))?;
            }
            for r in rows {
                let vals: Vec<String> = r.iter().map(|v| plain(v, &fmt.null)).collect();
                writeln!(out, "{}", vals.join("|"))?;
            }
        }
        Mode::Csv => {
            if fmt.headers {
                writeln!(out, "{}", columns.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","))?;
            }
            for r in rows {
                let vals: Vec<String> = r.iter().map(|v| csv_field(&plain(v, &fmt.null))).collect();
                writeln!(out, "{}", vals.join(","))?;
            }
        }
        Mode::Json => {
            for (i, r) in rows.iter().enumerate() {
                let mut obj = String::from(if i == 0 { "[{" } else { "{" });
                for (j, (c, v)) in columns.iter().zip(r).enumerate() {
                    if j > 0 {
                        obj.push(',');
                    }
                    let _ = write!(obj, "{}:{}", json_string(c), json_value(v));
                }
                obj.push('}');
                obj.push_str(if i + 1 == rows.len() { "]" } else { "," });
                writeln!(out, "{obj}")?;
            }
        }
        Mode::Line => {
            let w = columns.iter().map(|c| width(c)).max().unwrap_or(0);
            for (i, r) in rows.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                for (c, v) in columns.iter().zip(r) {
                    let s = match v {
                        Value::Blob(b) => hex(b),
                        v => plain(v, &fmt.null),
                    };
                    writeln!(out, "{} = {s}", pad(c, w, true))?;
                }
            }
        }
        Mode::Box | Mode::Table | Mode::Markdown => aligned(out, fmt, columns, rows)?,
    }
    Ok(())
}

fn aligned(out: &mut dyn Write, fmt: &Format, columns: &[String], rows: &[Vec<Value>]) -> io::Result<()> {
    let cells: Vec<Vec<(String, bool)>> = rows
        .iter()
        .map(|r| r.iter().map(|v| (cell(v, &fmt.null), matches!(v, Value::Integer(_) | Value::Real(_)))).collect())
        .collect();
    let heads: Vec<String> = columns.iter().map(|c| cell(&Value::Text(c.clone()), "")).collect();
    let mut w: Vec<usize> = heads.iter().map(|h| width(h)).collect();
    for r in &cells {
        for (i, (s, _)) in r.iter().enumerate() {
            if let Some(x) = w.get_mut(i) {
                *x = (*x).max(width(s));
            }
        }
    }
    let rule = |l: &str, m: &str, r: &str, h: &str| -> String {
        let parts: Vec<String> = w.iter().map(|&n| h.repeat(n + 2)).collect();
        format!("{l}{}{r}", parts.join(m))
    };
    let row = |vals: Vec<String>, sep: &str| -> String {
        let parts: Vec<String> = vals.iter().map(|v| format!(" {v} ")).collect();
        format!("{sep}{}{sep}", parts.join(sep))
    };
    let head_line = row(heads.iter().zip(&w).map(|(h, &n)| center(h, n)).collect(), "|");
    let body = |r: &Vec<(String, bool)>, sep: &str| -> String {
        row(r.iter().zip(&w).map(|((s, num), &n)| pad(s, n, *num)).collect(), sep)
    };
    match fmt.mode {
        Mode::Box => {
            writeln!(out, "{}", rule("┌", "┬", "┐", "─"))?;
            writeln!(out, "{}", row(heads.iter().zip(&w).map(|(h, &n)| center(h, n)).collect(), "│"))?;
            writeln!(out, "{}", rule("├", "┼", "┤", "─"))?;
            for r in &cells {
                writeln!(out, "{}", body(r, "│"))?;
            }
            writeln!(out, "{}", rule("└", "┴", "┘", "─"))?;
        }
        Mode::Table => {
            let line = rule("+", "+", "+", "-");
            writeln!(out, "{line}")?;
            writeln!(out, "{head_line}")?;
            writeln!(out, "{line}")?;
            for r in &cells {
                writeln!(out, "{}", body(r, "|"))?;
            }
            writeln!(out, "{line}")?;
        }
        _ => {
            writeln!(out, "{head_line}")?;
            writeln!(out, "{}", rule("|", "|", "|", "-"))?;
            for r in &cells {
                writeln!(out, "{}", body(r, "|"))?;
            }
        }
    }
    Ok(())
}

/// A CSV field, quoted when it needs to be.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn json_string(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", u32::from(c));
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) if r.is_finite() => v.to_sql_text().unwrap_or_default(),
        Value::Real(r) => if *r > 0.0 { "1e999" } else { "-1e999" }.into(),
        Value::Text(s) => json_string(s),
        Value::Blob(b) => json_string(&hex(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_align() {
        let fmt = Format { mode: Mode::Table, headers: true, null: String::new() };
        let mut out = Vec::new();
        let rows = vec![vec![Value::Text("日本".into())], vec![Value::Text("abc".into())]];
        write_result(&mut out, &fmt, &["x".into()], &rows).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s, "+------+\n|  x   |\n+------+\n| 日本 |\n| abc  |\n+------+\n");
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
