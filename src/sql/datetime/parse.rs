//! Parsing of date and time values (`YYYY-MM-DD HH:MM:SS.SSS`, time
//! zones, Julian day numbers, 'now') and of the modifiers that move them
//! ('+1 month', 'start of day', 'weekday N', 'unixepoch', ...), as SQLite's
//! `date.c` parses them.

use super::*;

/// SQLite's `parseTimezone`: false when the rest is a valid zone or empty.
pub(super) fn parse_timezone(z: &[u8], p: &mut DateTime) -> bool {
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
pub(super) fn parse_hms(z: &[u8], p: &mut DateTime) -> bool {
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
pub(super) fn parse_ymd(z: &[u8], p: &mut DateTime) -> bool {
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
pub(super) fn parse_date_or_time(z: &[u8], p: &mut DateTime, env: &mut dyn Env) -> bool {
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
pub(super) const XFORM: [(&str, f64, f64); 6] = [
    ("second", 4.6427e+14, 1.0),
    ("minute", 7.7379e+12, 60.0),
    ("hour", 1.2897e+11, 3600.0),
    ("day", 5373485.0, 86400.0),
    ("month", 176546.0, 2592000.0),
    ("year", 14713.0, 31536000.0),
];

/// `p`'s date at the time `h:mi:s`, in UTC, for 'start of ...' and
/// 'end of ...' (the Julian day is recomputed from the fields).
fn at_time_of_day(p: &mut DateTime, h: i32, mi: i32, s: f64) {
    p.compute_ymd();
    p.valid_hms = true;
    (p.h, p.mi, p.s) = (h, mi, s);
    p.raw_s = false;
    p.tz = 0;
    p.valid_jd = false;
}

/// SQLite's `parseModifier`: false on success.
pub(super) fn parse_modifier(z: &[u8], p: &mut DateTime, idx: usize) -> bool {
    match at(z, 0).to_ascii_lowercase() {
        b'a' => {
            if eq_ic(z, "auto") {
                if idx > 1 {
                    return true;
                }
                if !p.raw_s || p.valid_jd {
                    p.raw_s = false;
                } else if p.s >= -210_866_760_000.0 && p.s <= 253_402_300_799.0 {
                    p.set_unix_seconds(f64::NEG_INFINITY..f64::INFINITY);
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
            at_time_of_day(p, 23, 59, 59.999);
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
                !p.set_unix_seconds(0.0..464_269_060_800_000.0)
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
            at_time_of_day(p, 0, 0, 0.0);
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
pub(super) fn arithmetic(z: &[u8], p: &mut DateTime) -> bool {
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
