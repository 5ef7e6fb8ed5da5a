//! Row storage: a table is a clustered B+tree from rowid to row, and each
//! index a B+tree of keys; this module keeps them in step.
//!
//! # Table entries
//!
//! | part | bytes |
//! |---|---|
//! | key | the rowid as 8 big-endian bytes with the sign bit flipped (byte order = numeric order) |
//! | value, inline | `0x00`, then the row record (`storage::record`) |
//! | value, overflow | `0x01`, record length (`u32` LE), first overflow page (`u32` LE) |
//!
//! A record longer than fits a tree entry goes to an overflow chain, up to
//! [`MAX_ROW`] bytes; larger rows are [`Error::TooBig`].
//!
//! # Index entries
//!
//! Every index is a B+tree whose keys are the memcomparable encoding of the
//! indexed columns followed by the rowid's 8 bytes (so equal keys are stored
//! once per row), with empty values. A unique index is checked before an
//! insert: a key with no NULL may appear under one rowid only (NULLs are
//! distinct, as in SQLite).

use std::ops::Bound;

use crate::error::{ConstraintKind, Error, Result};
use crate::ids::PageId;
use crate::storage::PageStore;
use crate::sql::keycode::encode_value;
use crate::btree::{BTree, Cursor, Direction, max_entry};
use crate::sql::record;
use crate::storage::overflow;
use crate::value::Value;

use super::catalog::{Index, Table};

/// Largest row record, in bytes.
pub const MAX_ROW: usize = 64 << 20;

/// The tree key of a rowid.
#[allow(clippy::big_endian_bytes)] // memcmp order needs the most significant byte first
pub fn rowid_key(r: i64) -> [u8; 8] {
    ((r as u64) ^ (1 << 63)).to_be_bytes()
}

/// The rowid of a tree key (the last 8 bytes of an index key).
#[allow(clippy::big_endian_bytes)]
pub fn rowid_of(key: &[u8]) -> Option<i64> {
    let tail = key.get(key.len().checked_sub(8)?..)?;
    let mut b = [0u8; 8];
    b.copy_from_slice(tail);
    Some((u64::from_be_bytes(b) ^ (1 << 63)) as i64)
}

/// The encoded key of `values` (the index columns' values).
pub fn key_prefix(values: &[&Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 11 + 8);
    for v in values {
        encode_value(&mut out, v);
    }
    out
}

/// The full index key of a row.
pub fn index_key(idx: &Index, row: &[Value], rowid: i64) -> Vec<u8> {
    let vals: Vec<&Value> = idx.columns.iter().map(|&c| row.get(c).unwrap_or(&Value::Null)).collect();
    let mut k = key_prefix(&vals);
    k.extend_from_slice(&rowid_key(rowid));
    k
}

fn bad_row<S: PageStore>(s: &S, root: PageId, e: record::BadRecord) -> Error {
    s.corrupt(root, format!("row record: {}", e.0))
}

/// Access to the rows of one table.
#[derive(Clone, Copy, Debug)]
pub struct RowStore<'t> {
    table: &'t Table,
}

impl<'t> RowStore<'t> {
    /// Rows of `table`.
    pub fn new(table: &'t Table) -> RowStore<'t> {
        RowStore { table }
    }

    fn tree(&self) -> BTree {
        BTree::open(self.table.root)
    }

    /// Encode a row as a tree value (inline, or to an overflow chain).
    fn store_value<S: PageStore>(&self, s: &S, row: &[Value]) -> Result<Vec<u8>> {
        let rec = record::encode(row);
        if rec.len() > MAX_ROW {
            return Err(Error::TooBig { what: "row", size: rec.len(), limit: MAX_ROW });
        }
        if rec.len() < max_entry(s.page_size()) - 8 {
            let mut v = Vec::with_capacity(1 + rec.len());
            v.push(0);
            v.extend_from_slice(&rec);
            return Ok(v);
        }
        let first = overflow::write(s, &rec)?;
        let mut v = vec![1u8];
        v.extend_from_slice(&(rec.len() as u32).to_le_bytes());
        v.extend_from_slice(&first.0.to_le_bytes());
        Ok(v)
    }

    /// The overflow chain (first page, length) of a stored value, if any.
    fn chain<S: PageStore>(&self, s: &S, v: &[u8]) -> Result<Option<(PageId, usize)>> {
        match v.first() {
            Some(0) => Ok(None),
            Some(1) if v.len() == 9 => {
                let len = u32::from_le_bytes([v[1], v[2], v[3], v[4]]) as usize;
                let first = PageId(u32::from_le_bytes([v[5], v[6], v[7], v[8]]));
                if len > MAX_ROW {
                    return Err(s.corrupt(self.table.root, format!("row of {len} bytes")));
                }
                Ok(Some((first, len)))
            }
            _ => Err(s.corrupt(self.table.root, "row entry with an unknown format".into())),
        }
    }

    /// Decode a stored tree value into a row.
    pub fn load_value<S: PageStore>(&self, s: &S, v: &[u8]) -> Result<Vec<Value>> {
        self.load_columns(s, v, None)
    }

    /// [`RowStore::load_value`] decoding only the columns `want` marks
    /// (`None`: all); the others read as NULL.
    pub fn load_columns<S: PageStore>(&self, s: &S, v: &[u8], want: Option<&[bool]>) -> Result<Vec<Value>> {
        match self.chain(s, v)? {
            None => record::decode_columns(&v[1..], want).map_err(|e| bad_row(s, self.table.root, e)),
            Some((first, len)) => {
                let rec = overflow::read(s, first, len)?;
                record::decode_columns(&rec, want).map_err(|e| bad_row(s, self.table.root, e))
            }
        }
    }

    fn free_value<S: PageStore>(&self, s: &S, v: &[u8]) -> Result<()> {
        if let Some((first, len)) = self.chain(s, v)? {
            overflow::free(s, first, len)?;
        }
        Ok(())
    }

    /// The row with `rowid`.
    pub fn get<S: PageStore>(&self, s: &S, rowid: i64) -> Result<Option<Vec<Value>>> {
        self.get_columns(s, rowid, None)
    }

    /// [`RowStore::get`] decoding only the columns `want` marks.
    pub fn get_columns<S: PageStore>(&self, s: &S, rowid: i64, want: Option<&[bool]>) -> Result<Option<Vec<Value>>> {
        match self.tree().get(s, &rowid_key(rowid))? {
            Some(v) => self.load_columns(s, &v, want).map(Some),
            None => Ok(None),
        }
    }

    /// The largest rowid in the table.
    pub fn max_rowid<S: PageStore>(&self, s: &S) -> Result<Option<i64>> {
        let mut c = self.tree().range(s, Bound::Unbounded, Bound::Unbounded, Direction::Backward)?;
        Ok(c.next(s)?.and_then(|(k, _)| rowid_of(&k)))
    }

    /// The rowid a new row gets: one more than the largest.
    pub fn next_rowid<S: PageStore>(&self, s: &S) -> Result<i64> {
        match self.max_rowid(s)? {
            None => Ok(1),
            Some(i64::MAX) => {
                Err(Error::Sql(format!("table {} is full: rowid {} is in use", self.table.name, i64::MAX)))
            }
            Some(m) => Ok(m + 1),
        }
    }

    /// Store a row under `rowid` (or the next rowid): no index upkeep, no
    /// constraint but the rowid's uniqueness. Returns the rowid.
    pub fn insert_raw<S: PageStore>(&self, s: &S, rowid: Option<i64>, row: &[Value]) -> Result<i64> {
        let rowid = match rowid {
            Some(r) => r,
            None => self.next_rowid(s)?,
        };
        let v = self.store_value(s, row)?;
        if !self.tree().insert(s, &rowid_key(rowid), &v)? {
            self.free_value(s, &v)?;
            return Err(Error::Constraint {
                kind: ConstraintKind::PrimaryKey,
                detail: format!("{}.rowid = {rowid}", self.table.name),
            });
        }
        Ok(rowid)
    }

    /// Replace the row stored under `rowid`.
    pub fn replace_raw<S: PageStore>(&self, s: &S, rowid: i64, row: &[Value]) -> Result<()> {
        let v = self.store_value(s, row)?;
        if let Some(old) = self.tree().put(s, &rowid_key(rowid), &v)? {
            self.free_value(s, &old)?;
        }
        Ok(())
    }

    /// Remove the row stored under `rowid`.
    pub fn delete_raw<S: PageStore>(&self, s: &S, rowid: i64, _row: &[Value]) -> Result<bool> {
        match self.tree().delete(s, &rowid_key(rowid))? {
            Some(old) => {
                self.free_value(s, &old)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// A cursor over the rows with rowids in `lo..hi`, in rowid order.
    pub fn cursor<S: PageStore>(&self, s: &S, lo: Bound<i64>, hi: Bound<i64>, dir: Direction) -> Result<RowCursor<'t>> {
        let (lk, hk) = (lo.map(rowid_key), hi.map(rowid_key));
        let inner = self.tree().range(s, lk.as_ref().map(|k| &k[..]), hk.as_ref().map(|k| &k[..]), dir)?;
        Ok(RowCursor { store: *self, inner, want: None })
    }

    /// Every row, in rowid order.
    pub fn scan_all<S: PageStore>(&self, s: &S) -> Result<Vec<(i64, Vec<Value>)>> {
        let mut c = self.cursor(s, Bound::Unbounded, Bound::Unbounded, Direction::Forward)?;
        let mut out = Vec::new();
        while let Some(r) = c.next(s)? {
            out.push(r);
        }
        Ok(out)
    }

    /// Every page the table owns (tree and overflow chains).
    pub fn pages<S: PageStore>(&self, s: &S) -> Result<Vec<PageId>> {
        let mut pages = self.tree().check(s)?.pages;
        let mut c = self.tree().range(s, Bound::Unbounded, Bound::Unbounded, Direction::Forward)?;
        while let Some((_, v)) = c.next(s)? {
            if let Some((first, len)) = self.chain(s, &v)? {
                pages.extend(overflow::chain_pages(s, first, len)?);
            }
        }
        Ok(pages)
    }
}

/// A cursor over a table's rows.
#[derive(Clone, Debug)]
pub struct RowCursor<'t> {
    store: RowStore<'t>,
    inner: Cursor,
    want: Option<&'t [bool]>,
}

impl<'t> RowCursor<'t> {
    /// Decode only the columns `want` marks (`None`: all).
    pub fn reading(mut self, want: Option<&'t [bool]>) -> RowCursor<'t> {
        self.want = want;
        self
    }

    /// The next (rowid, row).
    #[allow(clippy::should_implement_trait)]
    pub fn next<S: PageStore>(&mut self, s: &S) -> Result<Option<(i64, Vec<Value>)>> {
        let store = &self.store;
        self.inner.next_with(s, |k, v| {
            let rowid = rowid_of(k).ok_or_else(|| s.corrupt(store.table.root, "short rowid key".into()))?;
            Ok((rowid, store.load_columns(s, v, self.want)?))
        })
    }
}

/// The error for a second row with the same key in a unique index:
/// `UNIQUE constraint failed: t.a, t.b`, as SQLite words it.
pub fn unique_error(t: &Table, idx: &Index) -> Error {
    let detail = idx
        .columns
        .iter()
        .filter_map(|&c| t.columns.get(c))
        .map(|c| format!("{}.{}", t.name, c.name))
        .collect::<Vec<_>>()
        .join(", ");
    Error::Constraint { kind: if idx.primary { ConstraintKind::PrimaryKey } else { ConstraintKind::Unique }, detail }
}

/// Add a row's entry to an index, after checking uniqueness.
pub fn index_insert<S: PageStore>(s: &S, table: &Table, idx: &Index, row: &[Value], rowid: i64) -> Result<()> {
    if idx.unique && unique_conflict(s, idx, row, rowid)?.is_some() {
        return Err(unique_error(table, idx));
    }
    index_add(s, idx, row, rowid)
}

/// Add a row's entry to an index without a uniqueness check (the caller
/// has checked).
pub fn index_add<S: PageStore>(s: &S, idx: &Index, row: &[Value], rowid: i64) -> Result<()> {
    BTree::open(idx.root).insert(s, &index_key(idx, row, rowid), &[])?;
    Ok(())
}

/// The rowid of another row holding the same unique key, if any (a key
/// with a NULL never conflicts).
pub fn unique_conflict<S: PageStore>(s: &S, idx: &Index, row: &[Value], rowid: i64) -> Result<Option<i64>> {
    unique_conflict_except(s, idx, row, Some(rowid))
}

/// The row other than `except` (any row, when `None`) that holds `row`'s
/// key in unique index `idx`, if any (an upsert's conflict may be with the
/// row at the rowid the new row asks for).
pub fn unique_conflict_except<S: PageStore>(
    s: &S,
    idx: &Index,
    row: &[Value],
    except: Option<i64>,
) -> Result<Option<i64>> {
    let vals: Vec<&Value> = idx.columns.iter().map(|&c| row.get(c).unwrap_or(&Value::Null)).collect();
    if vals.iter().any(|v| matches!(v, Value::Null)) {
        return Ok(None);
    }
    let prefix = key_prefix(&vals);
    let lo = [prefix.as_slice(), &[0u8; 8]].concat();
    let hi = [prefix.as_slice(), &[0xFFu8; 8]].concat();
    let mut c = BTree::open(idx.root).range(s, Bound::Included(&lo), Bound::Included(&hi), Direction::Forward)?;
    while let Some((k, _)) = c.next(s)? {
        match rowid_of(&k) {
            Some(r) if Some(r) != except && k.len() == prefix.len() + 8 => return Ok(Some(r)),
            _ => {}
        }
    }
    Ok(None)
}

/// Remove a row's entry from an index.
pub fn index_delete<S: PageStore>(s: &S, idx: &Index, row: &[Value], rowid: i64) -> Result<()> {
    BTree::open(idx.root).delete(s, &index_key(idx, row, rowid))?;
    Ok(())
}

/// Free every page of a table: overflow chains, then the tree.
pub fn free_table<S: PageStore>(s: &S, t: &Table) -> Result<()> {
    let store = RowStore::new(t);
    let mut c = store.tree().range(s, Bound::Unbounded, Bound::Unbounded, Direction::Forward)?;
    let mut chains = Vec::new();
    while let Some((_, v)) = c.next(s)? {
        if let Some(chain) = store.chain(s, &v)? {
            chains.push(chain);
        }
    }
    for (first, len) in chains {
        overflow::free(s, first, len)?;
    }
    BTree::open(t.root).destroy(s)
}
