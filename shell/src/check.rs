//! `waldb check FILE`: the integrity check, formatted.
//!
//! The check itself is the library's, [`waldb::inspect::check_files`] (the
//! same checker as `Database::check_integrity` and the crash suites'
//! oracle): the files read-only — control file, WAL, every page's checksum
//! — then the structures on a recovered in-memory copy, every problem
//! collected. This module holds the database's lock meanwhile, so no
//! process can open it during the check (a locked database is refused:
//! exit 2), and prints each finding.
//!
//! `Ok(true)`: healthy; `Ok(false)`: problems, each listed with file, page
//! or LSN; `Err`: the check could not run. Damaged input never panics.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use waldb::inspect::{Level, check_files};
use waldb::vfs::{OsVfs, Vfs};

/// `waldb check FILE`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Database file to check.
    pub file: PathBuf,
}

/// Check `args.file`, writing a report to `out`. `Ok(true)`: healthy (exit
/// 0); `Ok(false)`: damage found (exit 1); `Err`: could not check (exit 2).
pub fn run(args: &CheckArgs, out: &mut dyn Write) -> Result<bool, String> {
    let path = args.file.as_path();
    let os = OsVfs::new();
    if !os.exists(path).map_err(|e| format!("{}: {e}", path.display()))? {
        return Err(format!("{}: no such file", path.display()));
    }
    // Held for the whole check: nobody opens the database meanwhile. A file
    // we may not open for writing cannot be locked, but nobody can be
    // writing it through our permissions either: checked without the lock.
    let lock = match os.lock_exclusive(path) {
        Ok(l) => Some(l),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            return Err(format!(
                "{}: the database is open in another process; close it and check again",
                path.display()
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => None,
        Err(e) => return Err(format!("{}: cannot lock: {e}", path.display())),
    };
    writeln!(out, "checking {}", path.display()).map_err(|e| e.to_string())?;
    if lock.is_none() {
        writeln!(out, "note: no write permission, so the database could not be locked; checking without the lock")
            .map_err(|e| e.to_string())?;
    }
    writeln!(
        out,
        "mode: files read-only (checksums, WAL); structure checked on an in-memory copy after recovery; the files are \
         not modified"
    )
    .map_err(|e| e.to_string())?;
    let findings = check_files(Arc::new(os), path).map_err(|e| e.to_string())?;
    let mut problems = 0;
    for f in &findings {
        let tag = match f.level {
            Level::Ok => "ok       ",
            Level::Detail => "         ",
            Level::Note => "note     ",
            Level::Problem => {
                problems += 1;
                "PROBLEM  "
            }
        };
        writeln!(out, "{tag}{}", f.message).map_err(|e| e.to_string())?;
    }
    drop(lock);
    if problems == 0 {
        writeln!(out, "verdict: healthy").map_err(|e| e.to_string())?;
    } else {
        writeln!(out, "verdict: {problems} problem(s) found").map_err(|e| e.to_string())?;
    }
    Ok(problems == 0)
}
