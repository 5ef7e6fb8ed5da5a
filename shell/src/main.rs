//! The `waldb` shell.
//!
//! For now it opens (or creates) a database file and prints what its header
//! says; the interactive SQL shell builds on this once the SQL layer exists.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use waldb::io::OsVfs;
use waldb::storage::DataFile;
use waldb::storage::page::DEFAULT_PAGE_SIZE;

/// waldb: an embedded database that never loses a committed transaction.
#[derive(Debug, Parser)]
#[command(name = "waldb", version)]
struct Args {
    /// Database file; created if missing.
    file: PathBuf,
    /// Page size in bytes for a new database (a power of two, 512..=32768).
    #[arg(long, default_value_t = DEFAULT_PAGE_SIZE)]
    page_size: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("waldb: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> waldb::Result<()> {
    let opened = DataFile::open_or_create(&OsVfs::new(), &args.file, args.page_size)?;
    let h = &opened.header;
    println!("waldb {}", env!("CARGO_PKG_VERSION"));
    println!("database:       {} ({})", args.file.display(), if opened.created { "created" } else { "opened" });
    println!("format version: {}", h.format_version);
    println!("page size:      {} bytes", h.page_size);
    println!("database id:    {}", h.db_id);
    println!("pages:          {} ({} free)", h.page_count, h.free_count);
    Ok(())
}
