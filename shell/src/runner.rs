//! The shell's state ([`Shell`]: the open database, output settings and
//! destination) and running input: text is split into statements and
//! dot-commands ([`crate::split`]), each runs on its own, its output is
//! flushed before the next one runs, and errors go to stderr with the
//! statement's line number.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::Instant;

use waldb::Database;

use crate::dot;
use crate::output::{Format, Mode, write_result};
use crate::split::{Piece, split};

/// Where results go: stdout, or a file named by `.output FILE`.
#[derive(Debug)]
pub enum Out {
    /// Standard output.
    Stdout(io::Stdout),
    /// A file.
    File(BufWriter<File>),
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Out::Stdout(s) => s.write(buf),
            Out::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::Stdout(s) => s.flush(),
            Out::File(f) => f.flush(),
        }
    }
}

/// What to do after a piece of input ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// Stop reading input: `.quit`, or an error with `--bail`.
    Stop,
}

/// A shell session.
#[derive(Debug)]
pub struct Shell {
    /// The open database.
    pub db: Database,
    /// How results print.
    pub fmt: Format,
    /// `.timer on`.
    pub timer: bool,
    /// `--bail`: stop at the first error.
    pub bail: bool,
    /// Whether input comes from the prompt (errors then carry no line number).
    pub interactive: bool,
    /// Where results go.
    pub out: Out,
    /// Whether any statement failed.
    pub failed: bool,
    /// Set by `.quit`.
    pub quit: bool,
}

impl Shell {
    /// A session on `db` printing in `mode`.
    pub fn new(db: Database, mode: Mode, headers: bool, bail: bool, interactive: bool) -> Shell {
        Shell {
            db,
            fmt: Format { mode, headers, null: String::new() },
            timer: false,
            bail,
            interactive,
            out: Out::Stdout(io::stdout()),
            failed: false,
            quit: false,
        }
    }

    /// Run every statement and dot-command in `text` (whose first line is
    /// line `first_line`), including an unfinished statement at its end.
    pub fn run_text(&mut self, text: &str, first_line: usize) -> Flow {
        let s = split(text, first_line);
        let tail = s.rest.map(|(line, text)| Piece::Sql { line, text });
        for piece in s.pieces.into_iter().chain(tail) {
            if self.run_piece(&piece) == Flow::Stop {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// Run one statement or dot-command, reporting its error.
    pub fn run_piece(&mut self, piece: &Piece) -> Flow {
        let (line, result) = match piece {
            Piece::Sql { line, text } => (*line, self.run_sql(text)),
            Piece::Dot { line, text } => match dot::run(self, text) {
                Ok(flow) => {
                    let _ = self.out.flush();
                    if flow == Flow::Stop {
                        self.quit = true;
                        return Flow::Stop;
                    }
                    (*line, Ok(()))
                }
                Err(e) => (*line, Err(e)),
            },
        };
        let _ = self.out.flush();
        match result {
            Ok(()) => Flow::Continue,
            Err(e) => {
                self.failed = true;
                if self.interactive {
                    eprintln!("Error: {e}");
                } else {
                    eprintln!("Error: near line {line}: {e}");
                }
                if self.bail && !self.interactive { Flow::Stop } else { Flow::Continue }
            }
        }
    }

    /// Run one SQL statement and print its rows.
    pub fn run_sql(&mut self, sql: &str) -> Result<(), String> {
        let before = self.timer.then(|| (Instant::now(), self.db.stats()));
        let rows = self.db.query(sql, ()).map_err(|e| e.to_string())?;
        let columns = rows.columns().to_vec();
        let values: Vec<Vec<waldb::Value>> = rows.into_iter().map(|r| r.into_values()).collect();
        write_result(&mut self.out, &self.fmt, &columns, &values).map_err(|e| format!("writing output: {e}"))?;
        if let Some((t0, s0)) = before {
            let s1 = self.db.stats();
            writeln!(
                self.out,
                "Run Time: real {:.3} s, fsyncs {}, WAL bytes {}",
                t0.elapsed().as_secs_f64(),
                s1.wal.syncs.saturating_sub(s0.wal.syncs),
                s1.wal.bytes_written.saturating_sub(s0.wal.bytes_written)
            )
            .map_err(|e| format!("writing output: {e}"))?;
        }
        Ok(())
    }
}
