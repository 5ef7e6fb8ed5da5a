//! SQLite's date and time functions — `date`, `time`, `datetime`,
//! `julianday`, `unixepoch`, `strftime`, `timediff` — ported from its
//! `date.c` (3.54) so that every answer, including the odd ones (rounding
//! of milliseconds, month arithmetic that overflows into the next month,
//! `weekday`, `auto`, `subsec`, `floor`/`ceiling`, `end of …`), is
//! SQLite's.
//!
//! Times are held as SQLite holds them: a julian day number in
//! milliseconds, and/or broken-down fields, each valid or not.
//!
//! Two documented departures: waldb has no time zone database, so local
//! time is UTC (`localtime` and `utc` only mark the value); and `'now'` is
//! the statement's time, read once per statement from the VFS clock
//! through [`Env`].

use crate::value::Value;

use super::printf;
use super::types::parse_number;

/// What the functions need from outside: the current time.
pub trait Env {
    /// The current time in milliseconds since 1970-01-01 UTC; the same
    /// answer for every call within one statement.
    fn now_unix_ms(&mut self) -> i64;
}

/// Milliseconds between the julian epoch and 1970-01-01.
const UNIX_EPOCH_JD_MS: i64 = 210_866_760_000_000;
/// The julian day (ms) of 9999-12-31 23:59:59.999.
const MAX_JD_MS: i64 = 464_269_060_799_999;
const DAY_MS: i64 = 86_400_000;

#[derive(Clone, Copy, Debug, Default)]
struct DateTime {
    jd: i64,
    y: i32,
    mo: i32,
    d: i32,
    h: i32,
    mi: i32,
    tz: i32,
    s: f64,
    valid_jd: bool,
    valid_ymd: bool,
    valid_hms: bool,
    n_floor: i32,
    raw_s: bool,
    error: bool,
    subsec: bool,
    utc: bool,
    local: bool,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn at(z: &[u8], i: usize) -> u8 {
    z.get(i).copied().unwrap_or(0)
}

/// SQLite's `getDigits`: fields `N min max-code next` of the format, read
/// in order; returns the values read before the first failure.
fn get_digits(z: &[u8], fmt: &str) -> Vec<i32> {
    const MAX: [i32; 6] = [12, 14, 24, 31, 59, 14712];
    let f = fmt.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut k = 0usize;
    loop {
        let n = at(f, k).wrapping_sub(b'0');
        let min = i32::from(at(f, k + 1).wrapping_sub(b'0'));
        let max = MAX[usize::from(at(f, k + 2).wrapping_sub(b'a')).min(5)];
        let next = at(f, k + 3);
        let mut val = 0i32;
        for _ in 0..n {
            let c = at(z, pos);
            if !c.is_ascii_digit() {
                return out;
            }
            val = val * 10 + i32::from(c - b'0');
            pos += 1;
        }
        if val < min || val > max || (next != 0 && next != at(z, pos)) {
            return out;
        }
        out.push(val);
        pos += 1;
        k += 4;
        if next == 0 {
            return out;
        }
    }
}

/// `sqlite3AtoF(z) > 0`: the whole text (blanks around allowed) is a number.
fn atof(z: &[u8]) -> Option<f64> {
    match parse_number(std::str::from_utf8(z).ok()?)? {
        Value::Integer(i) => Some(i as f64),
        Value::Real(r) => Some(r),
        _ => None,
    }
}

fn days_of_month(y: i32, m: i32) -> i32 {
    if (1i32.checked_shl(m as u32).unwrap_or(0)) & 0x15aa != 0 {
        31
    } else if m != 2 {
        30
    } else if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) {
        29
    } else {
        28
    }
}

fn valid_jd(jd: i64) -> bool {
    (0..=MAX_JD_MS).contains(&jd)
}

fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn starts_ic(a: &[u8], b: &str) -> bool {
    a.len() >= b.len() && a[..b.len()].eq_ignore_ascii_case(b.as_bytes())
}

impl DateTime {
    fn error(&mut self) {
        *self = DateTime { error: true, ..DateTime::default() };
    }

    fn clear_ymd_hms_tz(&mut self) {
        self.valid_ymd = false;
        self.valid_hms = false;
        self.tz = 0;
    }

    fn compute_jd(&mut self) {
        if self.valid_jd {
            return;
        }
        let (mut y, mut m, d);
        if self.valid_ymd {
            (y, m, d) = (self.y, self.mo, self.d);
        } else {
            (y, m) = (2000, 1);
            let mut dd = 1;
            if self.valid_hms && self.h == 24 {
                self.h = 0;
                dd = 2;
            }
            d = dd;
        }
        if !(-4713..=9999).contains(&y) || self.raw_s {
            self.error();
            return;
        }
        if m <= 2 {
            y -= 1;
            m += 12;
        }
        let a = (y + 4800) / 100;
        let b = 38 - a + (a / 4);
        let x1 = 36525 * (y + 4716) / 100;
        let x2 = 306001 * (m + 1) / 10000;
        self.jd = ((f64::from(x1 + x2 + d + b) - 1524.5) * 86_400_000.0) as i64;
        self.valid_jd = true;
        if self.valid_hms {
            self.jd += i64::from(self.h) * 3_600_000 + i64::from(self.mi) * 60_000 + (self.s * 1000.0 + 0.5) as i64;
            if self.tz != 0 {
                self.jd -= i64::from(self.tz) * 60_000;
                self.valid_ymd = false;
                self.valid_hms = false;
                self.tz = 0;
                self.utc = true;
                self.local = false;
            }
        }
    }

    fn compute_floor(&mut self) {
        let mx = days_of_month(self.y, self.mo);
        self.n_floor = if self.d > mx { self.d - mx } else { 0 };
    }

    fn compute_ymd(&mut self) {
        if self.valid_ymd {
            return;
        }
        if !self.valid_jd {
            (self.y, self.mo, self.d) = (2000, 1, 1);
        } else if !valid_jd(self.jd) {
            self.error();
            return;
        } else {
            let z = ((self.jd + 43_200_000) / DAY_MS) as i32;
            let alpha = ((f64::from(z) + 32044.75) / 36524.25) as i32 - 52;
            let a = z + 1 + alpha - ((alpha + 100) / 4) + 25;
            let b = a + 1524;
            let c = ((f64::from(b) - 122.1) / 365.25) as i32;
            let d = (36525 * (c & 32767)) / 100;
            let e = (f64::from(b - d) / 30.6001) as i32;
            let x1 = (30.6001 * f64::from(e)) as i32;
            self.d = b - d - x1;
            self.mo = if e < 14 { e - 1 } else { e - 13 };
            self.y = if self.mo > 2 { c - 4716 } else { c - 4715 };
        }
        self.valid_ymd = true;
    }

    fn compute_hms(&mut self) {
        if self.valid_hms {
            return;
        }
        self.compute_jd();
        let day_ms = ((self.jd + 43_200_000) % DAY_MS) as i32;
        self.s = f64::from(day_ms % 60_000) / 1000.0;
        let day_min = day_ms / 60_000;
        self.mi = day_min % 60;
        self.h = day_min / 60;
        self.raw_s = false;
        self.valid_hms = true;
    }

    fn compute_ymd_hms(&mut self) {
        self.compute_ymd();
        self.compute_hms();
    }

    fn set_now(&mut self, env: &mut dyn Env) -> bool {
        self.jd = env.now_unix_ms().saturating_add(UNIX_EPOCH_JD_MS);
        if self.jd > 0 {
            self.valid_jd = true;
            self.utc = true;
            self.local = false;
            self.clear_ymd_hms_tz();
            true
        } else {
            false
        }
    }

    fn set_raw_number(&mut self, r: f64) {
        self.s = r;
        self.raw_s = true;
        if (0.0..5_373_484.5).contains(&r) {
            self.jd = (r * 86_400_000.0 + 0.5) as i64;
            self.valid_jd = true;
        }
    }

    /// Local time is UTC in waldb: the value keeps its instant and becomes
    /// broken-down fields (as SQLite's `toLocaltime` leaves it).
    fn shift_to_localtime(&mut self) {
        self.compute_jd();
        let mut x = DateTime { jd: self.jd, valid_jd: true, ..DateTime::default() };
        x.compute_ymd_hms();
        self.y = x.y;
        self.mo = x.mo;
        self.d = x.d;
        self.h = x.h;
        self.mi = x.mi;
        self.s = x.s.trunc() + (self.jd % 1000) as f64 * 0.001;
        self.valid_ymd = true;
        self.valid_hms = true;
        self.valid_jd = false;
        self.raw_s = false;
        self.tz = 0;
        self.error = false;
    }
}

/// SQLite's `parseTimezone`: false when the rest is a valid zone or empty.
fn parse_timezone(z: &[u8], p: &mut DateTime) -> bool {
    let mut i = 0;
    while is_space(at(z, i)) {
        i += 1;
    }
    p.tz = 0;
    let c = at(z, i);
    let sgn;
    if c == b'-' {
        sgn = -1;
    } else if c == b'+' {
        sgn = 1;
    } else if c == b'Z' || c == b'z' {
        i += 1;
        p.local = false;
        p.utc = true;
        while is_space(at(z, i)) {
            i += 1;
        }
        return at(z, i) != 0;
    } else {
        return c != 0;
    }
    i += 1;
    let v = get_digits(&z[i.min(z.len())..], "20b:20e");
    if v.len() != 2 {
        return true;
    }
    i += 5;
    p.tz = sgn * (v[1] + v[0] * 60);
    if p.tz == 0 {
        p.local = false;
        p.utc = true;
    }
    while is_space(at(z, i)) {
        i += 1;
    }
    at(z, i) != 0
}

/// SQLite's `parseHhMmSs`: false on success.
fn parse_hms(z: &[u8], p: &mut DateTime) -> bool {
    let v = get_digits(z, "20c:20e");
    if v.len() != 2 {
        return true;
    }
    let (h, m) = (v[0], v[1]);
    let mut i = 5;
    let mut s = 0;
    let mut ms = 0.0f64;
    if at(z, i) == b':' {
        i += 1;
        let v = get_digits(&z[i.min(z.len())..], "20e");
        if v.len() != 1 {
            return true;
        }
        s = v[0];
        i += 2;
        if at(z, i) == b'.' && at(z, i + 1).is_ascii_digit() {
            let mut scale = 1.0;
            i += 1;
            while at(z, i).is_ascii_digit() {
                ms = ms * 10.0 + f64::from(at(z, i) - b'0');
                scale *= 10.0;
                i += 1;
            }
            ms /= scale;
            if ms > 0.999 {
                ms = 0.999;
            }
        }
    }
    if h == 24 && (m != 0 || s != 0 || ms != 0.0) {
        return true;
    }
    p.valid_jd = false;
    p.raw_s = false;
    p.valid_hms = true;
    p.h = h;
    p.mi = m;
    p.s = f64::from(s) + ms;
    parse_timezone(&z[i.min(z.len())..], p)
}

/// SQLite's `parseYyyyMmDd`: false on success.
fn parse_ymd(z: &[u8], p: &mut DateTime) -> bool {
    let (neg, z) = if at(z, 0) == b'-' { (true, &z[1..]) } else { (false, z) };
    let v = get_digits(z, "40f-21a-21d");
    if v.len() != 3 {
        return true;
    }
    let (mut y, mut m, mut d) = (v[0], v[1], v[2]);
    let mut i = 10;
    while is_space(at(z, i)) || at(z, i) == b'T' {
        i += 1;
    }
    let rest = &z[i.min(z.len())..];
    if !parse_hms(rest, p) {
        if p.h == 24 {
            let mx = days_of_month(y, m);
            p.h = 0;
            d += 1;
            if d > mx {
                d -= mx;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    } else if rest.is_empty() {
        p.valid_hms = false;
    } else {
        return true;
    }
    p.valid_jd = false;
    p.valid_ymd = true;
    p.y = if neg { -y } else { y };
    p.mo = m;
    p.d = d;
    p.compute_floor();
    if p.tz != 0 {
        p.compute_jd();
    }
    false
}

/// SQLite's `parseDateOrTime`: false on success.
fn parse_date_or_time(z: &[u8], p: &mut DateTime, env: &mut dyn Env) -> bool {
    if !parse_ymd(z, p) {
        return false;
    }
    if !parse_hms(z, p) {
        return false;
    }
    if eq_ic(z, "now") {
        return !p.set_now(env);
    }
    if let Some(r) = atof(z) {
        p.set_raw_number(r);
        return false;
    }
    if eq_ic(z, "subsec") || eq_ic(z, "subsecond") {
        p.subsec = true;
        return !p.set_now(env);
    }
    true
}

/// The `+NNN units` table: name, limit, seconds per unit.
const XFORM: [(&str, f64, f64); 6] = [
    ("second", 4.6427e+14, 1.0),
    ("minute", 7.7379e+12, 60.0),
    ("hour", 1.2897e+11, 3600.0),
    ("day", 5373485.0, 86400.0),
    ("month", 176546.0, 2592000.0),
    ("year", 14713.0, 31536000.0),
];

/// SQLite's `parseModifier`: false on success.
fn parse_modifier(z: &[u8], p: &mut DateTime, idx: usize) -> bool {
    match at(z, 0).to_ascii_lowercase() {
        b'a' => {
            if eq_ic(z, "auto") {
                if idx > 1 {
                    return true;
                }
                if !p.raw_s || p.valid_jd {
                    p.raw_s = false;
                } else if p.s >= -210_866_760_000.0 && p.s <= 253_402_300_799.0 {
                    let r = p.s * 1000.0 + 210_866_760_000_000.0;
                    p.clear_ymd_hms_tz();
                    p.jd = (r + 0.5) as i64;
                    p.valid_jd = true;
                    p.raw_s = false;
                }
                return false;
            }
            true
        }
        b'c' => {
            if eq_ic(z, "ceiling") {
                p.compute_jd();
                p.clear_ymd_hms_tz();
                p.n_floor = 0;
                return false;
            }
            true
        }
        b'e' => {
            if !starts_ic(z, "end of ") || (!p.valid_jd && !p.valid_ymd && !p.valid_hms) {
                return true;
            }
            let w = &z[7..];
            p.compute_ymd();
            p.valid_hms = true;
            (p.h, p.mi, p.s) = (23, 59, 59.999);
            p.raw_s = false;
            p.tz = 0;
            p.valid_jd = false;
            if eq_ic(w, "month") {
                p.d = 1;
                p.mo += 1;
                if p.mo > 12 {
                    p.y += 1;
                    p.mo = 1;
                }
                p.compute_floor();
                p.compute_jd();
                p.jd -= i64::from(p.n_floor + 1) * DAY_MS;
                p.clear_ymd_hms_tz();
                false
            } else if eq_ic(w, "year") {
                p.mo = 12;
                p.d = 31;
                false
            } else {
                !eq_ic(w, "day")
            }
        }
        b'f' => {
            if eq_ic(z, "floor") {
                p.compute_jd();
                p.jd -= i64::from(p.n_floor) * DAY_MS;
                p.clear_ymd_hms_tz();
                return false;
            }
            true
        }
        b'j' => {
            if eq_ic(z, "julianday") {
                if idx > 1 {
                    return true;
                }
                if p.valid_jd && p.raw_s {
                    p.raw_s = false;
                    return false;
                }
            }
            true
        }
        b'l' => {
            if eq_ic(z, "localtime") {
                if !p.local {
                    p.shift_to_localtime();
                }
                p.utc = false;
                p.local = true;
                return false;
            }
            true
        }
        b'u' => {
            if eq_ic(z, "unixepoch") && p.raw_s {
                if idx > 1 {
                    return true;
                }
                let r = p.s * 1000.0 + 210_866_760_000_000.0;
                if (0.0..464_269_060_800_000.0).contains(&r) {
                    p.clear_ymd_hms_tz();
                    p.jd = (r + 0.5) as i64;
                    p.valid_jd = true;
                    p.raw_s = false;
                    return false;
                }
                true
            } else if eq_ic(z, "utc") {
                if !p.utc {
                    // Local time is UTC: the instant is unchanged.
                    p.compute_jd();
                    let jd = p.jd;
                    *p = DateTime { jd, valid_jd: true, utc: true, ..DateTime::default() };
                }
                false
            } else {
                true
            }
        }
        b'w' => {
            if !starts_ic(z, "weekday ") {
                return true;
            }
            let Some(r) = atof(&z[8..]) else { return true };
            if !(-6.0..=6.0).contains(&r) || r != f64::from(r as i32) {
                return true;
            }
            let mut n = r as i64;
            p.compute_ymd_hms();
            p.tz = 0;
            p.valid_jd = false;
            p.compute_jd();
            let mut zd = ((p.jd + 129_600_000) / DAY_MS) % 7;
            n = n.abs();
            if zd != n {
                if zd > n {
                    zd -= 7;
                }
                p.jd += (n - zd) * DAY_MS;
                if z[8..].contains(&b'-') {
                    p.jd -= 7 * DAY_MS;
                }
            }
            p.clear_ymd_hms_tz();
            false
        }
        b's' => {
            if !starts_ic(z, "start of ") {
                if eq_ic(z, "subsec") || eq_ic(z, "subsecond") {
                    p.subsec = true;
                    return false;
                }
                return true;
            }
            if !p.valid_jd && !p.valid_ymd && !p.valid_hms {
                return true;
            }
            let w = &z[9..];
            p.compute_ymd();
            p.valid_hms = true;
            (p.h, p.mi, p.s) = (0, 0, 0.0);
            p.raw_s = false;
            p.tz = 0;
            p.valid_jd = false;
            if eq_ic(w, "month") {
                p.d = 1;
                false
            } else if eq_ic(w, "year") {
                p.mo = 1;
                p.d = 1;
                false
            } else {
                !eq_ic(w, "day")
            }
        }
        b'+' | b'-' | b'0'..=b'9' => arithmetic(z, p),
        _ => true,
    }
}

/// The numeric modifiers: `±NNN units`, `±HH:MM[:SS.SSS]`,
/// `±YYYY-MM-DD[ HH:MM[:SS.SSS]]`. False on success.
fn arithmetic(z: &[u8], p: &mut DateTime) -> bool {
    let z0 = at(z, 0);
    let mut n = 1usize;
    while n < z.len() {
        let c = z[n];
        if c == b':' || is_space(c) {
            break;
        }
        if c == b'-' {
            if n == 5 && get_digits(&z[1..], "40f").len() == 1 {
                break;
            }
            if n == 6 && get_digits(&z[1..], "50f").len() == 1 {
                break;
            }
        }
        n += 1;
    }
    let Some(mut r) = atof(&z[..n]) else { return true };
    let mut z = z;
    let mut z2 = z;
    if at(z, n) == b'-' {
        if z0 != b'+' && z0 != b'-' {
            return true;
        }
        let v = if n == 5 {
            get_digits(&z[1..], "40f-20a-20d")
        } else {
            let v = get_digits(&z[1..], "50f-20a-20d");
            z = &z[1..];
            v
        };
        if v.len() != 3 {
            return true;
        }
        let (y, m, mut d) = (v[0], v[1], v[2]);
        if m >= 12 || d >= 31 {
            return true;
        }
        p.compute_ymd_hms();
        p.valid_jd = false;
        if z0 == b'-' {
            p.y -= y;
            p.mo -= m;
            d = -d;
        } else {
            p.y += y;
            p.mo += m;
        }
        let x = if p.mo > 0 { (p.mo - 1) / 12 } else { (p.mo - 12) / 12 };
        p.y += x;
        p.mo -= x * 12;
        p.compute_floor();
        p.compute_jd();
        p.valid_hms = false;
        p.valid_ymd = false;
        p.jd += i64::from(d) * DAY_MS;
        if at(z, 11) == 0 {
            return false;
        }
        if is_space(at(z, 11)) && z.len() > 12 && get_digits(&z[12..], "20c:20e").len() == 2 {
            z2 = &z[12..];
            n = 2;
        } else {
            return true;
        }
    }
    if at(z2, n) == b':' {
        let mut t = z2;
        if !at(t, 0).is_ascii_digit() {
            t = &t[1..];
        }
        let mut tx = DateTime::default();
        if parse_hms(t, &mut tx) {
            return true;
        }
        tx.compute_jd();
        tx.jd -= 43_200_000;
        let day = tx.jd / DAY_MS;
        tx.jd -= day * DAY_MS;
        if z0 == b'-' {
            tx.jd = -tx.jd;
        }
        p.compute_jd();
        p.clear_ymd_hms_tz();
        p.jd += tx.jd;
        return false;
    }
    // "±NNN units".
    let mut rest = &z[n.min(z.len())..];
    while rest.first().is_some_and(|&c| is_space(c)) {
        rest = &rest[1..];
    }
    let mut len = rest.len();
    if !(3..=10).contains(&len) {
        return true;
    }
    if rest[len - 1].eq_ignore_ascii_case(&b's') {
        len -= 1;
    }
    p.compute_jd();
    let rounder = if r < 0.0 { -0.5 } else { 0.5 };
    p.n_floor = 0;
    let mut rc = true;
    for (i, &(name, limit, xform)) in XFORM.iter().enumerate() {
        if name.len() == len && eq_ic(&rest[..len], name) && r > -limit && r < limit {
            if i == 4 {
                p.compute_ymd_hms();
                p.mo += r as i32;
                let x = if p.mo > 0 { (p.mo - 1) / 12 } else { (p.mo - 12) / 12 };
                p.y += x;
                p.mo -= x * 12;
                p.compute_floor();
                p.valid_jd = false;
                r -= f64::from(r as i32);
            } else if i == 5 {
                p.compute_ymd_hms();
                p.y += r as i32;
                p.compute_floor();
                p.valid_jd = false;
                r -= f64::from(r as i32);
            }
            p.compute_jd();
            p.jd += (r * 1000.0 * xform + rounder) as i64;
            rc = false;
            break;
        }
    }
    p.clear_ymd_hms_tz();
    rc
}

/// The text of a value as SQLite's `sqlite3_value_text` gives it.
fn text_of(v: &Value) -> Option<Vec<u8>> {
    Some(match v {
        Value::Null => return None,
        Value::Integer(i) => i.to_string().into_bytes(),
        Value::Real(r) => super::types::real_to_text(*r).into_bytes(),
        Value::Text(t) => t.as_bytes().to_vec(),
        Value::Blob(b) => b.clone(),
    })
}

/// SQLite's `isDate`: the time value and its modifiers, or `None` (the
/// function's result is then NULL).
fn is_date(args: &[Value], env: &mut dyn Env) -> Option<DateTime> {
    let mut p = DateTime::default();
    match args.first() {
        None => {
            if !p.set_now(env) {
                return None;
            }
        }
        Some(Value::Integer(i)) => p.set_raw_number(*i as f64),
        Some(Value::Real(r)) => p.set_raw_number(*r),
        Some(v) => {
            let z = text_of(v)?;
            if parse_date_or_time(&z, &mut p, env) {
                return None;
            }
        }
    }
    for (i, m) in args.iter().enumerate().skip(1) {
        let z = text_of(m)?;
        if parse_modifier(&z, &mut p, i) {
            return None;
        }
    }
    p.compute_jd();
    if p.error || !valid_jd(p.jd) {
        return None;
    }
    if args.len() == 1 && p.valid_ymd && p.d > 28 {
        p.valid_ymd = false;
    }
    Some(p)
}

fn fmt1(f: &str, v: Value) -> String {
    printf::sprintf(f, &[v])
}

fn ymd_text(x: &DateTime) -> String {
    let y = x.y.unsigned_abs();
    let sign = if x.y < 0 { "-" } else { "" };
    format!("{sign}{:04}-{:02}-{:02}", y % 10000, x.mo % 100, x.d % 100)
}

fn hms_text(x: &DateTime) -> String {
    let base = format!("{:02}:{:02}:", x.h % 100, x.mi % 100);
    if x.subsec {
        let s = (1000.0 * x.s + 0.5) as i32;
        format!("{base}{:02}.{:03}", (s / 1000) % 100, s % 1000)
    } else {
        format!("{base}{:02}", (x.s as i32) % 100)
    }
}

/// A date/time function by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateFunc {
    /// `date(…)`, `current_date`.
    Date,
    /// `time(…)`, `current_time`.
    Time,
    /// `datetime(…)`, `current_timestamp`.
    DateTime,
    /// `julianday(…)`.
    JulianDay,
    /// `unixepoch(…)`.
    UnixEpoch,
    /// `strftime(format, …)`.
    Strftime,
    /// `timediff(a, b)`.
    TimeDiff,
}

/// Call a date/time function.
pub fn call(f: DateFunc, args: &[Value], env: &mut dyn Env) -> Value {
    match f {
        DateFunc::Date => is_date(args, env).map_or(Value::Null, |mut x| {
            x.compute_ymd();
            Value::Text(ymd_text(&x))
        }),
        DateFunc::Time => is_date(args, env).map_or(Value::Null, |mut x| {
            x.compute_hms();
            Value::Text(hms_text(&x))
        }),
        DateFunc::DateTime => is_date(args, env).map_or(Value::Null, |mut x| {
            x.compute_ymd_hms();
            Value::Text(format!("{} {}", ymd_text(&x), hms_text(&x)))
        }),
        DateFunc::JulianDay => is_date(args, env).map_or(Value::Null, |mut x| {
            x.compute_jd();
            Value::Real(x.jd as f64 / 86_400_000.0)
        }),
        DateFunc::UnixEpoch => is_date(args, env).map_or(Value::Null, |mut x| {
            x.compute_jd();
            if x.subsec {
                Value::Real((x.jd - UNIX_EPOCH_JD_MS) as f64 / 1000.0)
            } else {
                Value::Integer(x.jd / 1000 - UNIX_EPOCH_JD_MS / 1000)
            }
        }),
        DateFunc::Strftime => strftime(args, env),
        DateFunc::TimeDiff => timediff(args, env),
    }
}

fn days_after_jan01(x: &DateTime) -> i64 {
    let mut j = *x;
    j.valid_jd = false;
    j.mo = 1;
    j.d = 1;
    j.compute_jd();
    (x.jd - j.jd + 43_200_000) / DAY_MS
}

fn days_after_monday(x: &DateTime) -> i64 {
    ((x.jd + 43_200_000) / DAY_MS) % 7
}

fn days_after_sunday(x: &DateTime) -> i64 {
    ((x.jd + 129_600_000) / DAY_MS) % 7
}

/// The Thursday of `x`'s ISO week.
fn iso_thursday(x: &DateTime) -> DateTime {
    let mut y = *x;
    y.jd += (3 - days_after_monday(x)) * DAY_MS;
    y.valid_ymd = false;
    y.compute_ymd();
    y
}

fn strftime(args: &[Value], env: &mut dyn Env) -> Value {
    let Some(fmt) = args.first().and_then(text_of) else { return Value::Null };
    let fmt = fmt.iter().position(|&c| c == 0).map_or(&fmt[..], |n| &fmt[..n]);
    let Some(mut x) = is_date(&args[1..], env) else { return Value::Null };
    x.compute_jd();
    x.compute_ymd_hms();
    let mut out: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < fmt.len() {
        if fmt[i] != b'%' {
            out.push(fmt[i]);
            i += 1;
            continue;
        }
        let cf = at(fmt, i + 1);
        i += 2;
        let piece = match cf {
            b'd' => format!("{:02}", x.d),
            b'e' => format!("{:2}", x.d),
            b'f' => fmt1("%06.3f", Value::Real(x.s.min(59.999))),
            b'F' => format!("{:04}-{:02}-{:02}", x.y, x.mo, x.d),
            b'G' => format!("{:04}", iso_thursday(&x).y),
            b'g' => format!("{:02}", iso_thursday(&x).y % 100),
            b'H' => format!("{:02}", x.h),
            b'k' => format!("{:2}", x.h),
            b'I' | b'l' => {
                let mut h = x.h;
                if h > 12 {
                    h -= 12;
                }
                if h == 0 {
                    h = 12;
                }
                if cf == b'I' { format!("{h:02}") } else { format!("{h:2}") }
            }
            b'j' => format!("{:03}", days_after_jan01(&x) + 1),
            b'J' => fmt1("%.16g", Value::Real(x.jd as f64 / 86_400_000.0)),
            b'm' => format!("{:02}", x.mo),
            b'M' => format!("{:02}", x.mi),
            b'p' => (if x.h >= 12 { "PM" } else { "AM" }).into(),
            b'P' => (if x.h >= 12 { "pm" } else { "am" }).into(),
            b'R' => format!("{:02}:{:02}", x.h, x.mi),
            b's' => {
                if x.subsec {
                    fmt1("%.3f", Value::Real((x.jd - UNIX_EPOCH_JD_MS) as f64 / 1000.0))
                } else {
                    (x.jd / 1000 - UNIX_EPOCH_JD_MS / 1000).to_string()
                }
            }
            b'S' => format!("{:02}", x.s as i32),
            b'T' => format!("{:02}:{:02}:{:02}", x.h, x.mi, x.s as i32),
            b'u' | b'w' => {
                let c = days_after_sunday(&x);
                (if c == 0 && cf == b'u' { 7 } else { c }).to_string()
            }
            b'U' => format!("{:02}", (days_after_jan01(&x) - days_after_sunday(&x) + 7) / 7),
            b'V' => format!("{:02}", days_after_jan01(&iso_thursday(&x)) / 7 + 1),
            b'W' => format!("{:02}", (days_after_jan01(&x) - days_after_monday(&x) + 7) / 7),
            b'Y' => format!("{:04}", x.y),
            b'%' => "%".into(),
            _ => return Value::Null,
        };
        out.extend_from_slice(piece.as_bytes());
    }
    Value::Text(String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

fn timediff(args: &[Value], env: &mut dyn Env) -> Value {
    let (Some(a), Some(b)) = (args.first(), args.get(1)) else { return Value::Null };
    let Some(mut d1) = is_date(std::slice::from_ref(a), env) else { return Value::Null };
    let Some(mut d2) = is_date(std::slice::from_ref(b), env) else { return Value::Null };
    d1.compute_ymd_hms();
    d2.compute_ymd_hms();
    let sign;
    let (mut y, mut m);
    let reset = |d: &mut DateTime| {
        d.valid_jd = false;
        d.compute_jd();
    };
    if d1.jd >= d2.jd {
        sign = '+';
        y = d1.y - d2.y;
        if y != 0 {
            d2.y = d1.y;
            reset(&mut d2);
        }
        m = d1.mo - d2.mo;
        if m < 0 {
            y -= 1;
            m += 12;
        }
        if m != 0 {
            d2.mo = d1.mo;
            reset(&mut d2);
        }
        let mut guard = 0;
        while d1.jd < d2.jd && guard < 1000 {
            guard += 1;
            m -= 1;
            if m < 0 {
                m = 11;
                y -= 1;
            }
            d2.mo -= 1;
            if d2.mo < 1 {
                d2.mo = 12;
                d2.y -= 1;
            }
            reset(&mut d2);
        }
        d1.jd -= d2.jd;
    } else {
        sign = '-';
        y = d2.y - d1.y;
        if y != 0 {
            d2.y = d1.y;
            reset(&mut d2);
        }
        m = d2.mo - d1.mo;
        if m < 0 {
            y -= 1;
            m += 12;
        }
        if m != 0 {
            d2.mo = d1.mo;
            reset(&mut d2);
        }
        let mut guard = 0;
        while d1.jd > d2.jd && guard < 1000 {
            guard += 1;
            m -= 1;
            if m < 0 {
                m = 11;
                y -= 1;
            }
            d2.mo += 1;
            if d2.mo > 12 {
                d2.mo = 1;
                d2.y += 1;
            }
            reset(&mut d2);
        }
        d1.jd = d2.jd - d1.jd;
    }
    d1.jd += 148_699_540_800_000;
    d1.clear_ymd_hms_tz();
    d1.compute_ymd_hms();
    Value::Text(printf::sprintf(
        "%c%04d-%02d-%02d %02d:%02d:%06.3f",
        &[
            Value::Text(sign.to_string()),
            Value::Integer(i64::from(y)),
            Value::Integer(i64::from(m)),
            Value::Integer(i64::from(d1.d - 1)),
            Value::Integer(i64::from(d1.h)),
            Value::Integer(i64::from(d1.mi)),
            Value::Real(d1.s),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(i64);
    impl Env for Fixed {
        fn now_unix_ms(&mut self) -> i64 {
            self.0
        }
    }

    fn t(f: DateFunc, args: &[&str]) -> Value {
        let v: Vec<Value> = args.iter().map(|a| Value::Text((*a).into())).collect();
        call(f, &v, &mut Fixed(1_700_000_000_123))
    }

    fn s(x: &str) -> Value {
        Value::Text(x.into())
    }

    #[test]
    fn dates_follow_sqlite() {
        assert_eq!(t(DateFunc::Date, &["2024-01-31", "+1 month"]), s("2024-03-02"));
        assert_eq!(t(DateFunc::Date, &["2024-01-31", "+1 month", "floor"]), s("2024-02-29"));
        assert_eq!(t(DateFunc::DateTime, &["now"]), s("2023-11-14 22:13:20"));
        assert_eq!(t(DateFunc::DateTime, &["now", "subsec"]), s("2023-11-14 22:13:20.123"));
        assert_eq!(t(DateFunc::Date, &["2023-02-31"]), s("2023-03-03"));
        assert_eq!(t(DateFunc::Time, &["12:30"]), s("12:30:00"));
        assert_eq!(t(DateFunc::Date, &["2024-03-15", "start of month", "weekday 0"]), s("2024-03-03"));
        assert_eq!(t(DateFunc::Strftime, &["%Y/%j/%W/%V/%u", "2021-01-03"]), s("2021/003/00/53/7"));
        assert_eq!(t(DateFunc::TimeDiff, &["2024-03-01", "2024-02-01"]), s("+0000-01-00 00:00:00.000"));
        assert_eq!(t(DateFunc::Date, &["bogus"]), Value::Null);
        assert_eq!(t(DateFunc::Date, &["2024-01-01", "+1 fortnight"]), Value::Null);
        assert_eq!(call(DateFunc::UnixEpoch, &[Value::Integer(0), s("unixepoch")], &mut Fixed(0)), Value::Integer(0));
    }
}
