//! SQLite's `printf` (alias `format`): its format language over SQL values,
//! ported from `sqlite3_str_vappendf` (SQLite 3.54) so that the output is
//! the same byte for byte — flags `-+ #!0,`, width and precision (also
//! `*`), and the conversions `d i u x X o r p c s z q Q w j J e E f g G % n`.
//!
//! Reals go through [`super::fp::decode`], SQLite's own digit generation.
//! The result is bounded: past `limit` bytes (checked before anything is
//! allocated) the call is [`Error::TooBig`], as SQLite reports
//! `SQLITE_TOOBIG`. [`format_real`] is the same engine for one real, which
//! the rest of waldb uses to render reals as SQLite does.

use crate::error::{Error, Result};
use crate::value::Value;

use super::fp;
use super::types::{real_to_text, to_int, to_real};

/// Output with a size bound.
struct Out {
    buf: Vec<u8>,
    limit: usize,
}

impl Out {
    fn room(&self, n: u64) -> Result<()> {
        let size = (self.buf.len() as u64).saturating_add(n);
        if size > self.limit as u64 {
            return Err(Error::TooBig { what: "printf() result", size: size as usize, limit: self.limit });
        }
        Ok(())
    }

    fn push(&mut self, b: &[u8]) -> Result<()> {
        self.room(b.len() as u64)?;
        self.buf.extend_from_slice(b);
        Ok(())
    }

    fn fill(&mut self, n: i64, c: u8) -> Result<()> {
        if n > 0 {
            self.room(n as u64)?;
            self.buf.resize(self.buf.len() + n as usize, c);
        }
        Ok(())
    }
}

/// The arguments after the format, consumed in order; missing ones read as
/// 0, 0.0 or NULL (SQLite's `getIntArg` and friends).
struct Args<'a> {
    vals: &'a [Value],
    used: usize,
}

impl Args<'_> {
    fn next(&mut self) -> Option<&Value> {
        let v = self.vals.get(self.used);
        if v.is_some() {
            self.used += 1;
        }
        v
    }

    fn int(&mut self) -> i64 {
        self.next().map_or(0, to_int)
    }

    fn double(&mut self) -> f64 {
        self.next().map_or(0.0, to_real)
    }

    fn text(&mut self) -> Option<Vec<u8>> {
        text_bytes(self.next()?)
    }
}

/// `sqlite3_value_text`: NULL is `None`; reals as SQLite renders them.
fn text_bytes(v: &Value) -> Option<Vec<u8>> {
    Some(match v {
        Value::Null => return None,
        Value::Integer(i) => i.to_string().into_bytes(),
        Value::Real(r) => real_to_text(*r).into_bytes(),
        Value::Text(t) => t.clone().into_bytes(),
        Value::Blob(b) => b.clone(),
    })
}

/// A C string's bytes: up to the first NUL.
fn c_str(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |n| &b[..n])
}

/// The conversion a format letter names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Decimal { signed: bool },
    Radix { base: u64, prefix: &'static [u8] },
    Ordinal,
    Pointer,
    Float,
    Exp,
    Generic,
    Str,
    Char,
    EscQ,
    EscBigQ,
    EscW,
    Json { quoted: bool },
    Percent,
    Size,
}

fn kind(c: u8) -> Option<(Kind, bool)> {
    // The bool: upper-case letters for digits and exponents.
    Some(match c {
        b'd' | b'i' => (Kind::Decimal { signed: true }, false),
        b'u' => (Kind::Decimal { signed: false }, false),
        b'x' => (Kind::Radix { base: 16, prefix: b"0x" }, false),
        b'X' => (Kind::Radix { base: 16, prefix: b"0X" }, true),
        b'o' => (Kind::Radix { base: 8, prefix: b"0" }, false),
        b'r' => (Kind::Ordinal, false),
        b'p' => (Kind::Pointer, true),
        b'f' => (Kind::Float, false),
        b'e' => (Kind::Exp, false),
        b'E' => (Kind::Exp, true),
        b'g' => (Kind::Generic, false),
        b'G' => (Kind::Generic, true),
        b's' | b'z' => (Kind::Str, false),
        b'c' => (Kind::Char, false),
        b'q' => (Kind::EscQ, false),
        b'Q' => (Kind::EscBigQ, false),
        b'w' => (Kind::EscW, false),
        b'j' => (Kind::Json { quoted: false }, false),
        b'J' => (Kind::Json { quoted: true }, false),
        b'%' => (Kind::Percent, false),
        b'n' => (Kind::Size, false),
        _ => return None,
    })
}

/// One conversion's flags, width and precision.
#[derive(Clone, Copy, Default)]
struct Spec {
    left: bool,
    prefix: u8,
    alt: bool,
    alt2: bool,
    zero: bool,
    thousands: bool,
    width: i64,
    precision: i64,
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
/// Most digits a float conversion produces after the point.
const FP_PRECISION_LIMIT: i64 = 100_000_000;
/// SQLite's on-stack conversion buffer; integer conversions with more
/// precision than fits are checked against the limit first.
const BUF_SIZE: i64 = 70;

/// `printf(format, args…)`: NULL when there is no format or it is NULL.
pub fn printf(args: &[Value], limit: usize) -> Result<Value> {
    let Some(fmt) = args.first().and_then(text_bytes) else { return Ok(Value::Null) };
    let mut out = Out { buf: Vec::new(), limit };
    let mut a = Args { vals: &args[1..], used: 0 };
    render(c_str(&fmt), &mut a, &mut out)?;
    Ok(Value::Text(String::from_utf8(out.buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())))
}

/// One real through a `%g`-family spec with the `!` flag and `precision`
/// significant digits: `format_real(r, 15)` is SQLite's `%!.15g` (the
/// sqlite3 shell's rendering), `format_real(r, 17)` its real-to-text
/// conversion.
pub fn format_real(r: f64, precision: i64) -> String {
    let mut out = Out { buf: Vec::new(), limit: usize::MAX };
    let spec = Spec { alt2: true, precision, ..Spec::default() };
    // Cannot fail: no limit.
    let _ = float(&mut out, spec, Kind::Generic, false, r);
    String::from_utf8(out.buf).unwrap_or_default()
}

/// `printf` for waldb's own use (the date functions): the same engine,
/// unbounded, on arguments that are already values.
pub fn sprintf(fmt: &str, args: &[Value]) -> String {
    let mut out = Out { buf: Vec::new(), limit: usize::MAX };
    let mut a = Args { vals: args, used: 0 };
    let _ = render(fmt.as_bytes(), &mut a, &mut out);
    String::from_utf8(out.buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A real as `quote()` writes it (`%!0.17g`): as [`format_real`] with 17
/// digits, but an infinity is `9.0e+999`, which reads back as one.
pub fn quote_real(r: f64) -> String {
    let mut out = Out { buf: Vec::new(), limit: usize::MAX };
    let spec = Spec { alt2: true, zero: true, precision: 17, ..Spec::default() };
    let _ = float(&mut out, spec, Kind::Generic, false, r);
    String::from_utf8(out.buf).unwrap_or_default()
}

fn render(f: &[u8], a: &mut Args<'_>, out: &mut Out) -> Result<()> {
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while i < f.len() {
        if f[i] != b'%' {
            let end = f[i..].iter().position(|&c| c == b'%').map_or(f.len(), |k| i + k);
            out.push(&f[i..end])?;
            i = end;
            if i >= f.len() {
                break;
            }
        }
        // f[i] is '%'.
        i += 1;
        let mut c = at(i);
        if c == 0 {
            out.push(b"%")?;
            break;
        }
        let mut s = Spec { precision: -1, ..Spec::default() };
        let mut done = false;
        loop {
            match c {
                b'-' => s.left = true,
                b'+' => s.prefix = b'+',
                b' ' => s.prefix = b' ',
                b'#' => s.alt = true,
                b'!' => s.alt2 = true,
                b'0' => s.zero = true,
                b',' => s.thousands = true,
                b'l' => {
                    i += 1;
                    c = at(i);
                    if c == b'l' {
                        i += 1;
                        c = at(i);
                    }
                    done = true;
                }
                b'1'..=b'9' => {
                    let mut wx = u32::from(c - b'0');
                    loop {
                        i += 1;
                        c = at(i);
                        if !c.is_ascii_digit() {
                            break;
                        }
                        wx = wx.wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
                    }
                    s.width = i64::from(wx & 0x7fff_ffff);
                    if c != b'.' && c != b'l' {
                        done = true;
                    } else {
                        i -= 1;
                    }
                }
                b'*' => {
                    let w = a.int() as i32;
                    s.width = i64::from(w);
                    if s.width < 0 {
                        s.left = true;
                        s.width = if s.width >= -2_147_483_647 { -s.width } else { 0 };
                    }
                    let next = at(i + 1);
                    if next != b'.' && next != b'l' {
                        i += 1;
                        c = at(i);
                        done = true;
                    }
                }
                b'.' => {
                    i += 1;
                    c = at(i);
                    if c == b'*' {
                        let p = i64::from(a.int() as i32);
                        s.precision = if p < 0 { if p >= -2_147_483_647 { -p } else { -1 } } else { p };
                        i += 1;
                        c = at(i);
                    } else {
                        let mut px: u32 = 0;
                        while c.is_ascii_digit() {
                            px = px.wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
                            i += 1;
                            c = at(i);
                        }
                        s.precision = i64::from(px & 0x7fff_ffff);
                    }
                    if c == b'l' {
                        i -= 1;
                    } else {
                        done = true;
                    }
                }
                _ => done = true,
            }
            if done {
                break;
            }
            i += 1;
            c = at(i);
            if c == 0 {
                break;
            }
        }
        // An unknown conversion (or the end of the format) stops the
        // rendering, keeping what was written (SQLite's etINVALID).
        let Some((k, upper)) = kind(c) else { return Ok(()) };
        i += 1;
        convert(out, a, s, k, upper)?;
    }
    Ok(())
}

/// Append `body` in a field of `width` (bytes), as SQLite's common tail.
fn pad(out: &mut Out, s: Spec, body: &[u8]) -> Result<()> {
    let width = s.width - body.len() as i64;
    if width > 0 && !s.left {
        out.fill(width, b' ')?;
    }
    out.push(body)?;
    if width > 0 && s.left {
        out.fill(width, b' ')?;
    }
    Ok(())
}

/// The width counted in characters for `!`: one more byte of width per
/// UTF-8 continuation byte.
fn utf8_width(s: &mut Spec, body: &[u8]) {
    if s.alt2 && s.width > 0 {
        s.width += body.iter().filter(|&&b| b & 0xc0 == 0x80).count() as i64;
    }
}

fn convert(out: &mut Out, a: &mut Args<'_>, mut s: Spec, k: Kind, upper: bool) -> Result<()> {
    match k {
        Kind::Decimal { .. } | Kind::Radix { .. } | Kind::Ordinal | Kind::Pointer => integer(out, a, s, k, upper),
        Kind::Float | Kind::Exp | Kind::Generic => {
            let r = a.double();
            float(out, s, k, upper, r)
        }
        Kind::Percent => pad(out, s, b"%"),
        Kind::Size => Ok(()),
        Kind::Char => {
            let mut ch = match a.text() {
                Some(t) => {
                    let mut n = 1;
                    if t.first().is_some_and(|&c| c & 0xc0 == 0xc0) {
                        while n < 4 && t.get(n).is_some_and(|&c| c & 0xc0 == 0x80) {
                            n += 1;
                        }
                    }
                    let mut v = t[..n.min(t.len())].to_vec();
                    if v.is_empty() {
                        v.push(0);
                    }
                    v
                }
                None => vec![0],
            };
            if s.precision > 1 {
                s.width -= s.precision - 1;
                if s.width > 1 && !s.left {
                    out.fill(s.width - 1, b' ')?;
                    s.width = 0;
                }
                let copies = s.precision - 1;
                out.room((ch.len() as u64).saturating_mul(copies as u64))?;
                for _ in 0..copies {
                    out.push(&ch)?;
                }
            }
            s.alt2 = true;
            ch.truncate(4);
            utf8_width(&mut s, &ch);
            pad(out, s, &ch)
        }
        Kind::Str => {
            let t = a.text().unwrap_or_default();
            let t = c_str(&t);
            let len = if s.precision >= 0 {
                if s.alt2 {
                    let mut n = 0;
                    let mut left = s.precision;
                    while left > 0 && n < t.len() {
                        n += 1;
                        while n < t.len() && t[n] & 0xc0 == 0x80 {
                            n += 1;
                        }
                        left -= 1;
                    }
                    n
                } else {
                    t.len().min(s.precision as usize)
                }
            } else {
                t.len()
            };
            let body = &t[..len];
            utf8_width(&mut s, body);
            pad(out, s, body)
        }
        Kind::EscQ | Kind::EscBigQ | Kind::EscW => escape(out, a, s, k),
        Kind::Json { quoted } => json(out, a, s, quoted),
    }
}

fn integer(out: &mut Out, a: &mut Args<'_>, mut s: Spec, k: Kind, upper: bool) -> Result<()> {
    let (base, signed, alt_prefix): (u64, bool, &[u8]) = match k {
        Kind::Decimal { signed } => (10, signed, b""),
        Kind::Radix { base, prefix } => (base, false, prefix),
        Kind::Ordinal => (10, true, b""),
        _ => (16, false, b"0x"),
    };
    if !matches!(k, Kind::Decimal { .. }) {
        s.thousands = false;
    }
    let v = a.int();
    let (mut value, sign) = if signed && v < 0 {
        (v.unsigned_abs(), b'-')
    } else if signed {
        (v as u64, s.prefix)
    } else {
        (v as u64, 0)
    };
    if value == 0 {
        s.alt = false;
    }
    let signed_w = i64::from(sign != 0);
    if s.zero && s.precision < s.width - signed_w {
        s.precision = s.width - signed_w;
    }
    if s.precision >= BUF_SIZE - 10 - BUF_SIZE / 3 {
        let mut n = s.precision + 10;
        if s.thousands {
            n += s.precision / 3;
        }
        out.room(n as u64)?;
    }
    // Digits, least significant first, then reversed.
    let mut d: Vec<u8> = Vec::new();
    if k == Kind::Ordinal {
        let mut x = (value % 10) as usize;
        if x >= 4 || (value / 10) % 10 == 1 {
            x = 0;
        }
        let ord = b"thstndrd";
        d.push(ord[x * 2 + 1]);
        d.push(ord[x * 2]);
    }
    let set = if upper { HEX_UPPER } else { HEX_LOWER };
    loop {
        d.push(set[(value % base) as usize]);
        value /= base;
        if value == 0 {
            break;
        }
    }
    d.reverse();
    if s.precision > d.len() as i64 {
        let mut z = vec![b'0'; (s.precision - d.len() as i64) as usize];
        z.extend_from_slice(&d);
        d = z;
    }
    if s.thousands && !d.is_empty() {
        let len = d.len();
        let mut g = Vec::with_capacity(len + len / 3);
        for (idx, &c) in d.iter().enumerate() {
            if idx > 0 && (len - idx).is_multiple_of(3) {
                g.push(b',');
            }
            g.push(c);
        }
        d = g;
    }
    let mut body = Vec::with_capacity(d.len() + 3);
    if s.alt && !alt_prefix.is_empty() {
        body.extend_from_slice(alt_prefix);
    }
    if sign != 0 {
        body.push(sign);
    }
    body.extend_from_slice(&d);
    pad(out, s, &body)
}

fn float(out: &mut Out, s: Spec, k: Kind, upper: bool, r: f64) -> Result<()> {
    let mut precision = if s.precision < 0 { 6 } else { s.precision.min(FP_PRECISION_LIMIT) };
    let round = match k {
        Kind::Float => -precision,
        Kind::Generic => {
            if precision == 0 {
                precision = 1;
            }
            precision
        }
        _ => precision + 1,
    };
    let mut d = fp::decode(r, round as i32, if s.alt2 { 20 } else { 16 });
    if d.special == 2 {
        return pad(out, s, if s.zero { b"null" } else { b"NaN" });
    }
    if d.special == 1 {
        if s.zero {
            d.digits = vec![b'9'];
            d.dp = 1000;
        } else {
            let body: &[u8] = if d.negative {
                b"-Inf"
            } else if s.prefix == b'+' {
                b"+Inf"
            } else if s.prefix == b' ' {
                b" Inf"
            } else {
                b"Inf"
            };
            return pad(out, s, body);
        }
    }
    let mut k = k;
    let prefix = if d.negative {
        if s.alt && s.prefix == 0 && k == Kind::Float && i64::from(d.dp) <= round { 0 } else { b'-' }
    } else {
        s.prefix
    };
    let exp = i64::from(d.dp) - 1;
    let rtz;
    if k == Kind::Generic {
        precision -= 1;
        rtz = !s.alt;
        if exp < -4 || exp > precision {
            k = Kind::Exp;
        } else {
            precision -= exp;
            k = Kind::Float;
        }
    } else {
        rtz = s.alt2;
    }
    let mut e2 = if k == Kind::Exp { 0 } else { i64::from(d.dp) - 1 };
    let mut need = e2.max(0) + precision + s.width + 10;
    if s.thousands && e2 > 0 {
        need += (e2 + 2) / 3;
    }
    out.room(need.max(0) as u64 + 1)?;
    let z = &d.digits;
    let n = z.len();
    let dp_shown = precision > 0 || s.alt || s.alt2;
    let mut b: Vec<u8> = Vec::new();
    if prefix != 0 {
        b.push(prefix);
    }
    let mut j = 0usize;
    if e2 < 0 {
        b.push(b'0');
    } else if s.thousands {
        while e2 >= 0 {
            b.push(if j < n {
                j += 1;
                z[j - 1]
            } else {
                b'0'
            });
            if e2 % 3 == 0 && e2 > 1 {
                b.push(b',');
            }
            e2 -= 1;
        }
    } else {
        j = ((e2 + 1) as usize).min(n);
        b.extend_from_slice(&z[..j]);
        e2 -= j as i64;
        if e2 >= 0 {
            b.resize(b.len() + (e2 + 1) as usize, b'0');
            e2 = -1;
        }
    }
    if dp_shown {
        b.push(b'.');
    }
    if e2 < -1 && precision > 0 {
        let nn = (-1 - e2).min(precision);
        b.resize(b.len() + nn as usize, b'0');
        precision -= nn;
    }
    if precision > 0 {
        let nn = ((n - j) as i64).min(precision);
        if nn > 0 {
            b.extend_from_slice(&z[j..j + nn as usize]);
            precision -= nn;
        }
        if precision > 0 && !rtz {
            b.resize(b.len() + precision as usize, b'0');
        }
    }
    if rtz && dp_shown {
        while b.last() == Some(&b'0') {
            b.pop();
        }
        if b.last() == Some(&b'.') {
            if s.alt2 {
                b.push(b'0');
            } else {
                b.pop();
            }
        }
    }
    if k == Kind::Exp {
        let mut exp = i64::from(d.dp) - 1;
        b.push(if upper { b'E' } else { b'e' });
        if exp < 0 {
            b.push(b'-');
            exp = -exp;
        } else {
            b.push(b'+');
        }
        if exp >= 100 {
            b.push((exp / 100) as u8 + b'0');
            exp %= 100;
        }
        b.push((exp / 10) as u8 + b'0');
        b.push((exp % 10) as u8 + b'0');
    }
    let len = b.len() as i64;
    if len < s.width {
        let n_pad = (s.width - len) as usize;
        if s.left {
            b.resize(b.len() + n_pad, b' ');
        } else if !s.zero {
            let mut p = vec![b' '; n_pad];
            p.extend_from_slice(&b);
            b = p;
        } else {
            let adj = usize::from(prefix != 0);
            let mut p = b[..adj].to_vec();
            p.resize(adj + n_pad, b'0');
            p.extend_from_slice(&b[adj..]);
            b = p;
        }
    }
    out.push(&b)
}

fn escape(out: &mut Out, a: &mut Args<'_>, mut s: Spec, k: Kind) -> Result<()> {
    let arg = a.text();
    let mut need_quote = 0;
    let esc: Vec<u8> = match &arg {
        None => (if k == Kind::EscBigQ { &b"NULL"[..] } else { &b"(NULL)"[..] }).to_vec(),
        Some(t) => {
            if k == Kind::EscBigQ {
                need_quote = 1;
            }
            c_str(t).to_vec()
        }
    };
    let q = if k == Kind::EscW {
        s.alt = false;
        b'"'
    } else {
        b'\''
    };
    // How many bytes of the argument the precision takes (characters
    // with `!`).
    let mut i = 0usize;
    let mut kk = s.precision;
    let mut n: i64 = 0;
    while kk != 0 && i < esc.len() {
        let ch = esc[i];
        if ch == q {
            n += 1;
        }
        if s.alt2 && ch & 0xc0 == 0xc0 {
            while esc.get(i + 1).is_some_and(|&c| c & 0xc0 == 0x80) {
                i += 1;
            }
        }
        i += 1;
        kk -= 1;
    }
    let take = &esc[..i];
    if s.alt {
        let backs = take.iter().filter(|&&c| c == b'\\').count() as i64;
        let ctrls = take.iter().filter(|&&c| c <= 0x1f).count() as i64;
        if ctrls > 0 || k == Kind::EscQ {
            n += backs + 5 * ctrls;
            if k == Kind::EscBigQ {
                n += 10;
                need_quote = 2;
            }
        } else {
            s.alt = false;
        }
    }
    n += i as i64 + 3;
    if n > BUF_SIZE {
        out.room(n as u64)?;
    }
    let mut b = Vec::with_capacity(n as usize);
    match need_quote {
        2 => b.extend_from_slice(b"unistr('"),
        1 => b.push(b'\''),
        _ => {}
    }
    for &ch in take {
        b.push(ch);
        if s.alt {
            if ch == q {
                b.push(ch);
            } else if ch == b'\\' {
                b.push(b'\\');
            } else if ch <= 0x1f {
                b.pop();
                b.extend_from_slice(b"\\u00");
                b.push(if ch >= 0x10 { b'1' } else { b'0' });
                b.push(HEX_LOWER[usize::from(ch & 0xf)]);
            }
        } else if ch == q {
            b.push(ch);
        }
    }
    if need_quote > 0 {
        b.push(b'\'');
        if need_quote == 2 {
            b.push(b')');
        }
    }
    utf8_width(&mut s, &b);
    pad(out, s, &b)
}

fn json(out: &mut Out, a: &mut Args<'_>, s: Spec, quoted: bool) -> Result<()> {
    let mut b: Vec<u8> = Vec::new();
    match a.text() {
        None => {
            if quoted {
                b.extend_from_slice(b"null");
            }
        }
        Some(t) => {
            let t = c_str(&t);
            if quoted {
                b.push(b'"');
            }
            let mut px = if s.precision < 0 { i64::MAX } else { s.precision };
            if s.precision >= 0 && s.alt2 {
                // Precision in code points, converted to bytes.
                let mut i: i64 = 0;
                while i < px && (i as usize) < t.len() {
                    if t[i as usize] & 0xc0 == 0x80 {
                        px += 1;
                    }
                    i += 1;
                }
                if i == px {
                    while t.get(px as usize).is_some_and(|&c| c & 0xc0 == 0x80) {
                        px += 1;
                    }
                }
            }
            for &ch in t.iter().take(px.min(t.len() as i64) as usize) {
                if ch <= 0x1f || ch == b'"' || ch == b'\\' {
                    b.push(b'\\');
                    if ch > 0x1f {
                        b.push(ch);
                    } else if (1u32 << ch) & 0x3700 != 0 {
                        b.push(b"btn?fr"[usize::from(ch - 8)]);
                    } else {
                        b.extend_from_slice(b"u00");
                        b.push(HEX_LOWER[usize::from(ch >> 4)]);
                        b.push(HEX_LOWER[usize::from(ch & 0xf)]);
                    }
                } else {
                    b.push(ch);
                }
            }
            if quoted {
                b.push(b'"');
            }
        }
    }
    let mut len = b.len() as i64;
    if s.alt2 {
        len -= b.iter().filter(|&&c| c & 0xc0 == 0x80).count() as i64;
    }
    if s.width > len {
        let sp = s.width - len;
        if s.left || b.is_empty() {
            out.push(&b)?;
            out.fill(sp, b' ')
        } else {
            out.fill(sp, b' ')?;
            out.push(&b)
        }
    } else {
        out.push(&b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Value::*;

    fn p(fmt: &str, args: &[Value]) -> String {
        let mut v = vec![Text(fmt.into())];
        v.extend_from_slice(args);
        match printf(&v, 1 << 20) {
            Ok(Text(t)) => t,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn formats_like_sqlite() {
        assert_eq!(
            p("%d|%5d|%-5d|%05d|%+d", &[Integer(7), Integer(7), Integer(7), Integer(-7), Integer(7)]),
            "7|    7|7    |-0007|+7"
        );
        assert_eq!(
            p("%x %X %#x %o %#o", &[Integer(255), Integer(255), Integer(255), Integer(8), Integer(8)]),
            "ff FF 0xff 10 010"
        );
        assert_eq!(p("%,d", &[Integer(1234567)]), "1,234,567");
        assert_eq!(p("%.1f", &[Real(0.25)]), "0.3");
        assert_eq!(p("%.3e", &[Real(12345.678)]), "1.235e+04");
        assert_eq!(p("%g %g %g", &[Real(100000.0), Real(1e6), Real(1e-5)]), "100000 1e+06 1e-05");
        assert_eq!(
            p("%q|%Q|%Q|%w", &[Text("it's".into()), Text("a'b".into()), Null, Text("x\"y".into())]),
            "it''s|'a''b'|NULL|x\"\"y"
        );
        assert_eq!(p("%s and %s", &[Text("a".into())]), "a and ");
        assert_eq!(p("%.3c", &[Text("xyz".into())]), "xxx");
        assert_eq!(p("100%% %5%", &[]), "100%     %");
        assert_eq!(p("%rd %r", &[Integer(1), Integer(12)]), "1std 12th");
        assert_eq!(
            p("%*d|%-*d|%.*f", &[Integer(4), Integer(1), Integer(4), Integer(1), Integer(2), Real(1.23456)]),
            "   1|1   |1.23"
        );
        assert_eq!(p("a%yb", &[]), "a", "an unknown conversion stops the output");
        assert_eq!(p("%!.15g", &[Real(10.0 / 3.0)]), "3.33333333333333");
        assert_eq!(p("%!.15g %!.15g", &[Real(2.0), Real(1e100)]), "2.0 1.0e+100");
    }

    #[test]
    fn output_is_bounded() {
        let v = [Text("%2000000000d".into()), Integer(1)];
        assert!(matches!(printf(&v, 1 << 20), Err(Error::TooBig { .. })));
        let v = [Text("%.99999999f".into()), Real(1.0)];
        assert!(matches!(printf(&v, 1 << 20), Err(Error::TooBig { .. })));
        assert_eq!(printf(&[], 10).ok(), Some(Null));
        assert_eq!(printf(&[Null], 10).ok(), Some(Null));
    }

    #[test]
    fn reals_render_as_sqlite() {
        assert_eq!(format_real(0.1 + 0.2, 17), "0.30000000000000004");
        assert_eq!(format_real(49.47, 17), "49.47");
        assert_eq!(format_real(1e100, 17), "1.0e+100");
        assert_eq!(format_real(-2.5e-7, 17), "-2.5e-07");
        assert_eq!(format_real(f64::INFINITY, 17), "Inf");
        assert_eq!(quote_real(f64::NEG_INFINITY), "-9.0e+999");
        assert_eq!(quote_real(0.5), "0.5");
    }
}
