//! The control file: where recovery starts.
//!
//! `d.db-ctl` beside the database holds the last completed checkpoint's redo
//! LSN and the settings the other files need to be read at all (page size,
//! segment size, database id). Its existence is what makes a database exist:
//! creation writes it last.
//!
//! # Layout (64 bytes, integers little-endian)
//!
//! | offset | size | field | meaning |
//! |---:|---:|---|---|
//! | 0 | 8 | `magic` | `"WALDBCTL"` |
//! | 8 | 4 | `version` | [`CONTROL_VERSION`] |
//! | 12 | 4 | `page_size` | page size of the data file |
//! | 16 | 8 | `db_id` | the database's identity |
//! | 24 | 8 | `segment_size` | size of each WAL segment |
//! | 32 | 8 | `redo_lsn` | recovery reads the log from here |
//! | 40 | 8 | `checkpoint_lsn` | LSN of the CHECKPOINT record (0: none yet) |
//! | 48 | 8 | `next_txid` | transaction ids below this were used |
//! | 56 | 4 | reserved | zero |
//! | 60 | 4 | `crc` | CRC32C of bytes 0..60 |
//!
//! # Writing it (`docs/DESIGN.md` invariant 6, last steps)
//!
//! Write `d.db-ctl.tmp`, `fsync` it, rename over `d.db-ctl`, fsync the
//! directory. A crash at any point leaves either the old or the new file
//! whole; a reader never sees a mixture.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ids::{DbId, Lsn, TxnId, get_u32, get_u64, put_u32, put_u64};
use crate::io::{OpenMode, Vfs, parent_dir};

/// Control file magic.
pub const CONTROL_MAGIC: [u8; 8] = *b"WALDBCTL";
/// Control file format version.
pub const CONTROL_VERSION: u32 = 1;
/// Size of the control file.
pub const CONTROL_LEN: usize = 64;
const CRC_OFFSET: usize = 60;

/// The decoded control file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Control {
    /// Page size of the data file.
    pub page_size: usize,
    /// The database's identity.
    pub db_id: DbId,
    /// WAL segment size.
    pub segment_size: u64,
    /// Where recovery starts reading the log.
    pub redo_lsn: Lsn,
    /// The CHECKPOINT record of the last checkpoint (0 before the first).
    pub checkpoint_lsn: Lsn,
    /// Transaction ids below this were handed out before the checkpoint.
    pub next_txid: TxnId,
}

/// Path of the control file of the database at `db_path`.
pub fn control_path(db_path: &Path) -> PathBuf {
    let name = db_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    parent_dir(db_path).join(format!("{name}-ctl"))
}

fn tmp_path(db_path: &Path) -> PathBuf {
    let mut p = control_path(db_path).into_os_string();
    p.push(".tmp");
    PathBuf::from(p)
}

impl Control {
    /// The 64-byte image.
    pub fn encode(&self) -> [u8; CONTROL_LEN] {
        let mut b = [0u8; CONTROL_LEN];
        b[..8].copy_from_slice(&CONTROL_MAGIC);
        put_u32(&mut b, 8, CONTROL_VERSION);
        put_u32(&mut b, 12, self.page_size as u32);
        put_u64(&mut b, 16, self.db_id.0);
        put_u64(&mut b, 24, self.segment_size);
        put_u64(&mut b, 32, self.redo_lsn.0);
        put_u64(&mut b, 40, self.checkpoint_lsn.0);
        put_u64(&mut b, 48, self.next_txid.0);
        let crc = crc32c::crc32c(&b[..CRC_OFFSET]);
        put_u32(&mut b, CRC_OFFSET, crc);
        b
    }

    /// Decode and check an image read from `file`.
    pub fn decode(b: &[u8], file: &Path) -> Result<Control> {
        let bad = |reason: String| Error::CorruptFile { file: file.to_path_buf(), reason };
        if b.len() < CONTROL_LEN || b[..8] != CONTROL_MAGIC {
            return Err(bad("not a waldb control file".into()));
        }
        if crc32c::crc32c(&b[..CRC_OFFSET]) != get_u32(b, CRC_OFFSET) {
            return Err(bad("control file checksum mismatch".into()));
        }
        let version = get_u32(b, 8);
        if version != CONTROL_VERSION {
            return Err(bad(format!("control file version {version} is not supported")));
        }
        Ok(Control {
            page_size: get_u32(b, 12) as usize,
            db_id: DbId(get_u64(b, 16)),
            segment_size: get_u64(b, 24),
            redo_lsn: Lsn(get_u64(b, 32)),
            checkpoint_lsn: Lsn(get_u64(b, 40)),
            next_txid: TxnId(get_u64(b, 48)),
        })
    }

    /// Read the control file of the database at `db_path`; `None` if there
    /// is none (the database was never completely created).
    pub fn read(vfs: &dyn Vfs, db_path: &Path) -> Result<Option<Control>> {
        let path = control_path(db_path);
        let f = match vfs.open(&path, OpenMode::ReadOnly) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("open", &path, e)),
        };
        let mut b = [0u8; CONTROL_LEN];
        let n = f.read_at(&mut b, 0).map_err(|e| Error::io("read", &path, e))?;
        if n < CONTROL_LEN {
            return Err(Error::CorruptFile { file: path, reason: format!("control file is {n} bytes, not 64") });
        }
        Control::decode(&b, &path).map(Some)
    }

    /// Replace the control file atomically (steps in the module doc).
    pub fn write(&self, vfs: &dyn Vfs, db_path: &Path) -> Result<()> {
        let tmp = tmp_path(db_path);
        let path = control_path(db_path);
        let f = vfs.open(&tmp, OpenMode::Create).map_err(|e| Error::io("create", &tmp, e))?;
        f.set_len(0).map_err(|e| Error::io("truncate", &tmp, e))?;
        f.write_all_at(&self.encode(), 0).map_err(|e| Error::io("write", &tmp, e))?;
        f.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
        vfs.rename(&tmp, &path).map_err(|e| Error::io("rename", &path, e))?;
        let dir = parent_dir(db_path);
        vfs.sync_dir(&dir).map_err(|e| Error::io("fsync directory", &dir, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{Fault, LossMode, SimVfs, When};

    fn ctl(redo: u64) -> Control {
        Control {
            page_size: 4096,
            db_id: DbId(0xAB),
            segment_size: 1 << 24,
            redo_lsn: Lsn(redo),
            checkpoint_lsn: Lsn(redo + 8),
            next_txid: TxnId(5),
        }
    }

    #[test]
    fn golden_encoding_round_trips() {
        let b = ctl(0x1000).encode();
        assert_eq!(&b[..8], b"WALDBCTL");
        assert_eq!(b[12..16], [0, 0x10, 0, 0]);
        assert_eq!(b[32..34], [0, 0x10]);
        assert_eq!(Control::decode(&b, Path::new("c")).expect("decode"), ctl(0x1000));
        assert_eq!(control_path(Path::new("/d/x.db")), Path::new("/d/x.db-ctl"));
    }

    #[test]
    fn every_bit_flip_is_detected() {
        let b = ctl(0x1000).encode();
        for bit in 0..CONTROL_LEN * 8 {
            let mut x = b;
            x[bit / 8] ^= 1 << (bit % 8);
            assert!(Control::decode(&x, Path::new("c")).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn a_crash_at_any_call_of_a_rewrite_leaves_old_or_new() {
        let db = Path::new("/d/x.db");
        let probe = SimVfs::new(1);
        ctl(0x1000).write(&probe, db).expect("first");
        let start = probe.io_count();
        ctl(0x9000).write(&probe, db).expect("second");
        let calls = probe.io_count() - start;
        for n in 0..=calls {
            let vfs = SimVfs::new(1);
            ctl(0x1000).write(&vfs, db).expect("first");
            vfs.add_fault(Fault::Crash(When::Call(start + n)));
            let _ = ctl(0x9000).write(&vfs, db);
            for mode in LossMode::SWEEP {
                for seed in 0..4 {
                    let disk = vfs.crash_image().boot_seeded(mode, seed);
                    let got = Control::read(&disk, db).expect("readable").expect("present");
                    assert!(got == ctl(0x1000) || got == ctl(0x9000), "crash at {n}, {mode:?}: {got:?}");
                }
            }
        }
    }

    #[test]
    fn a_missing_control_file_is_none() {
        assert_eq!(Control::read(&SimVfs::new(1), Path::new("/d/x.db")).expect("read"), None);
    }
}
