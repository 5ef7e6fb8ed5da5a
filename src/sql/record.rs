//! Row records: a row's values encoded into bytes, and back.
//!
//! # Layout
//!
//! | part | encoding |
//! |---|---|
//! | column count `n` | LEB128 varint |
//! | `n` type tags | one byte each: 0 NULL, 1 integer, 2 real, 3 text, 4 blob |
//! | values, in order | integer: zigzag LEB128; real: 8 bytes LE; text/blob: varint length, then the bytes |
//!
//! Decoding checks every length against the record before it slices or
//! allocates, so a damaged record is an error, never a panic.

use crate::value::Value;

/// A record that contradicts its own layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRecord(pub String);

const T_NULL: u8 = 0;
const T_INT: u8 = 1;
const T_REAL: u8 = 2;
const T_TEXT: u8 = 3;
const T_BLOB: u8 = 4;

/// Append `v` as a LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Read a LEB128 varint at `*at`, advancing it.
pub fn get_varint(buf: &[u8], at: &mut usize) -> Result<u64, BadRecord> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*at).ok_or_else(|| BadRecord("varint runs past the record".into()))?;
        *at += 1;
        v |= u64::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(BadRecord("varint longer than 10 bytes".into()))
}

/// Encode a row.
pub fn encode(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + values.len() * 9);
    put_varint(&mut out, values.len() as u64);
    for v in values {
        out.push(match v {
            Value::Null => T_NULL,
            Value::Integer(_) => T_INT,
            Value::Real(_) => T_REAL,
            Value::Text(_) => T_TEXT,
            Value::Blob(_) => T_BLOB,
        });
    }
    for v in values {
        match v {
            Value::Null => {}
            Value::Integer(i) => put_varint(&mut out, ((i << 1) ^ (i >> 63)) as u64),
            Value::Real(r) => out.extend_from_slice(&r.to_le_bytes()),
            Value::Text(t) => {
                put_varint(&mut out, t.len() as u64);
                out.extend_from_slice(t.as_bytes());
            }
            Value::Blob(b) => {
                put_varint(&mut out, b.len() as u64);
                out.extend_from_slice(b);
            }
        }
    }
    out
}

/// Decode a row.
pub fn decode(buf: &[u8]) -> Result<Vec<Value>, BadRecord> {
    decode_columns(buf, None)
}

/// Decode a row, only the columns `want` marks (`None`: all): the others
/// are skipped, still bounds-checked, and read as NULL. Columns past the
/// end of `want` are decoded.
pub fn decode_columns(buf: &[u8], want: Option<&[bool]>) -> Result<Vec<Value>, BadRecord> {
    let mut at = 0;
    let n = get_varint(buf, &mut at)? as usize;
    let tags =
        buf.get(at..at.saturating_add(n)).ok_or_else(|| BadRecord(format!("{n} column tags past the record")))?;
    at += n;
    // One spare slot: a table scan appends the rowid to the row.
    let mut out = Vec::with_capacity(n + 1);
    for (i, &tag) in tags.iter().enumerate() {
        if want.is_some_and(|w| w.get(i) == Some(&false)) {
            at = skip_value(buf, at, tag)?;
            out.push(Value::Null);
            continue;
        }
        out.push(match tag {
            T_NULL => Value::Null,
            T_INT => {
                let z = get_varint(buf, &mut at)?;
                Value::Integer(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            T_REAL => {
                let b = buf.get(at..at + 8).ok_or_else(|| BadRecord("real past the record".into()))?;
                at += 8;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Real(f64::from_le_bytes(a))
            }
            T_TEXT | T_BLOB => {
                let len = get_varint(buf, &mut at)? as usize;
                let b = buf
                    .get(at..at.saturating_add(len))
                    .ok_or_else(|| BadRecord(format!("{len}-byte value past the record")))?;
                at += len;
                if tag == T_TEXT {
                    Value::Text(String::from_utf8(b.to_vec()).map_err(|_| BadRecord("text is not UTF-8".into()))?)
                } else {
                    Value::Blob(b.to_vec())
                }
            }
            other => return Err(BadRecord(format!("unknown value tag {other}"))),
        });
    }
    if at != buf.len() {
        return Err(BadRecord(format!("{} trailing bytes after the record", buf.len() - at)));
    }
    Ok(out)
}

/// The offset after the value with `tag` at `at`.
fn skip_value(buf: &[u8], mut at: usize, tag: u8) -> Result<usize, BadRecord> {
    let len = match tag {
        T_NULL => 0,
        T_INT => {
            get_varint(buf, &mut at)?;
            0
        }
        T_REAL => 8,
        T_TEXT | T_BLOB => get_varint(buf, &mut at)? as usize,
        other => return Err(BadRecord(format!("unknown value tag {other}"))),
    };
    let end = at.checked_add(len).filter(|&e| e <= buf.len());
    end.ok_or_else(|| BadRecord(format!("{len}-byte value past the record")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn golden_record() {
        let r = encode(&[
            Value::Null,
            Value::Integer(-1),
            Value::Real(1.0),
            Value::Text("hi".into()),
            Value::Blob(vec![7]),
        ]);
        assert_eq!(r, [5, 0, 1, 2, 3, 4, 1, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 2, b'h', b'i', 1, 7]);
        assert_eq!(decode(&r).expect("decode").len(), 5);
    }

    #[test]
    fn damaged_records_are_errors() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[2, 3]).is_err());
        assert!(decode(&[1, 3, 200]).is_err());
        assert!(decode(&[1, 9]).is_err());
        assert!(decode(&[1, 0, 0]).is_err(), "trailing byte");
        assert!(decode(&[0xFF; 12]).is_err());
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::Integer),
            any::<f64>().prop_filter("no NaN", |f| !f.is_nan()).prop_map(Value::Real),
            ".{0,20}".prop_map(Value::Text),
            prop::collection::vec(any::<u8>(), 0..20).prop_map(Value::Blob),
        ]
    }

    proptest! {
        #[test]
        fn records_round_trip(row in prop::collection::vec(value(), 0..12)) {
            prop_assert_eq!(decode(&encode(&row)).expect("decode"), row);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
            let _ = decode_columns(&bytes, Some(&[false, true, false]));
        }

        #[test]
        fn skipped_columns_read_as_null_and_the_rest_as_stored(
            row in prop::collection::vec(value(), 0..12),
            want in prop::collection::vec(any::<bool>(), 0..14),
        ) {
            let got = decode_columns(&encode(&row), Some(&want)).expect("decode");
            let expect: Vec<Value> = row
                .iter()
                .enumerate()
                .map(|(i, v)| if want.get(i) == Some(&false) { Value::Null } else { v.clone() })
                .collect();
            prop_assert_eq!(got, expect);
        }
    }
}
