//! `.import FILE TABLE`: load a CSV file into a table, all or nothing.
//!
//! When TABLE does not exist, the first row names its columns and creates
//! it (every column `TEXT`, as sqlite3 does); otherwise every row is data.
//! Everything runs in one transaction: a malformed row, a row with the
//! wrong number of fields or a row the table refuses rolls it all back and
//! is reported with its line number. Large files show a progress bar on
//! stderr when stderr is a terminal.

use std::fs::File;
use std::io::IsTerminal;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use waldb::{Database, quote_identifier as ident};

/// Files at least this large get a progress bar.
const PROGRESS_BYTES: u64 = 1 << 20;

/// Import `path` into `table`; returns the number of rows inserted.
pub fn import(db: &Database, path: &Path, table: &str) -> Result<usize, String> {
    if db.in_transaction() {
        return Err("cannot .import inside an open transaction: COMMIT or ROLLBACK first".into());
    }
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(file);
    let bar = (size >= PROGRESS_BYTES && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(size);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}") {
            bar.set_style(style);
        }
        bar
    });
    db.execute("BEGIN", ()).map_err(|e| e.to_string())?;
    let result = load(db, &mut reader, path, table, bar.as_ref());
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(n) => {
            db.execute("COMMIT", ()).map_err(|e| e.to_string())?;
            Ok(n)
        }
        Err(e) => {
            let _ = db.execute("ROLLBACK", ());
            Err(format!("{e}; nothing imported"))
        }
    }
}

fn table_exists(db: &Database, table: &str) -> Result<bool, String> {
    let rows = db
        .query("SELECT count(*) FROM waldb_schema WHERE type = 'table' AND lower(name) = lower(?)", [table])
        .map_err(|e| e.to_string())?;
    Ok(rows.get(0).and_then(|r| r.get::<i64>(0).ok()).unwrap_or(0) > 0)
}

fn load(
    db: &Database,
    reader: &mut csv::Reader<File>,
    path: &Path,
    table: &str,
    bar: Option<&ProgressBar>,
) -> Result<usize, String> {
    let name = path.display();
    let mut records = reader.records();
    let columns = if table_exists(db, table)? {
        let stmt = db.prepare(&format!("SELECT * FROM {}", ident(table))).map_err(|e| e.to_string())?;
        stmt.column_names().len()
    } else {
        let header = match records.next() {
            Some(Ok(h)) => h,
            Some(Err(e)) => return Err(format!("{name}:{}: {e}", line_of(&e))),
            None => return Err(format!("{name}: empty file, no header row to create table {table} from")),
        };
        let cols: Vec<String> = header.iter().map(|c| format!("{} TEXT", ident(c))).collect();
        db.execute(&format!("CREATE TABLE {}({})", ident(table), cols.join(", ")), ()).map_err(|e| e.to_string())?;
        header.len()
    };
    let marks = vec!["?"; columns].join(", ");
    let mut insert =
        db.prepare(&format!("INSERT INTO {} VALUES ({marks})", ident(table))).map_err(|e| e.to_string())?;
    let mut n = 0;
    for rec in records {
        let rec = rec.map_err(|e| format!("{name}:{}: {e}", line_of(&e)))?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() != columns {
            return Err(format!("{name}:{line}: expected {columns} columns but found {}", rec.len()));
        }
        let vals: Vec<&str> = rec.iter().collect();
        insert.execute(vals).map_err(|e| format!("{name}:{line}: {e}"))?;
        n += 1;
        if let Some(bar) = bar
            && n % 1024 == 0
        {
            bar.set_position(rec.position().map_or(0, |p| p.byte()));
        }
    }
    Ok(n)
}

fn line_of(e: &csv::Error) -> u64 {
    e.position().map_or(0, |p| p.line())
}
