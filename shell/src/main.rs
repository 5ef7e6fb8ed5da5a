//! The `waldb` shell: command line (`clap`) and dispatch.
//!
//! `waldb [OPTIONS] [FILE] [SQL…]` opens FILE (created if missing; an
//! in-memory database without it; `--readonly`: an existing FILE, writing
//! nothing) and runs the SQL arguments, or a script
//! from stdin, or the interactive prompt. The subcommands `check`,
//! `wal dump` and `demo` run without a prompt.
//!
//! Modules: [`runner`] (the session and running input), [`split`]
//! (statement boundaries), [`output`] (output modes), [`dot`]
//! (dot-commands), [`import`], [`dump`] (`.dump`, `.backup`), [`repl`]
//! (the prompt); [`inspect`], [`check`] and [`demo`] are waldb's own tools.

mod check;
mod demo;
mod dot;
mod dump;
mod import;
mod inspect;
mod output;
mod repl;
mod runner;
mod split;

use std::ffi::OsString;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use waldb::Database;

use crate::output::Mode;
use crate::runner::Shell;

/// waldb: an embedded SQL database that never loses a committed transaction.
///
/// Without FILE the database lives in memory. With SQL arguments they run
/// and the shell exits; otherwise SQL is read from stdin when it is not a
/// terminal, else the interactive prompt starts.
#[derive(Debug, Parser)]
#[command(name = "waldb", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    shell: ShellArgs,
}

/// Options of the SQL shell.
#[derive(Debug, clap::Args)]
struct ShellArgs {
    /// Database file, created if missing (in memory if omitted).
    file: Option<PathBuf>,
    /// SQL statements or dot-commands to run, then exit.
    sql: Vec<String>,
    /// Stop at the first error (scripts and SQL arguments).
    #[arg(long)]
    bail: bool,
    /// Output mode (default: box at the prompt, list otherwise).
    #[arg(long, value_enum)]
    mode: Option<Mode>,
    /// Print column names in list and csv mode.
    #[arg(long, overrides_with = "noheader")]
    header: bool,
    /// Do not print column names in list and csv mode (the default).
    #[arg(long)]
    noheader: bool,
    /// Open FILE read-only: nothing is written (no checkpoint, no control
    /// file, no log segment), it works where the files may not be written,
    /// and statements that change the database fail. FILE must exist.
    #[arg(long)]
    readonly: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a database's integrity; the exit status is the verdict.
    Check(check::CheckArgs),
    /// Inspect a database's write-ahead log offline.
    Wal {
        #[command(subcommand)]
        cmd: WalCommand,
    },
    /// Demonstrations.
    Demo {
        #[command(subcommand)]
        cmd: demo::DemoCommand,
    },
}

#[derive(Debug, Subcommand)]
enum WalCommand {
    /// Print the decoded log records (read-only; recovery is not run).
    Dump(inspect::WalDumpArgs),
}

/// sqlite3 spells some options with one dash (`-header`); accept those too.
fn normalize(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    args.map(|a| match a.to_str() {
        Some("-header" | "-headers") => "--header".into(),
        Some("-noheader") => "--noheader".into(),
        Some("-bail") => "--bail".into(),
        Some("-mode") => "--mode".into(),
        Some("-readonly") => "--readonly".into(),
        _ => a,
    })
    .collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(normalize(std::env::args_os()));
    let mut stdout = std::io::stdout();
    match cli.command {
        Some(Command::Check(a)) => match check::run(&a, &mut stdout) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("waldb check: {e}");
                ExitCode::from(2)
            }
        },
        Some(Command::Wal { cmd: WalCommand::Dump(a) }) => match inspect::wal_dump_offline(&a, &mut stdout) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("waldb wal dump: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Demo { cmd }) => demo::run(&cmd),
        None => shell(&cli.shell),
    }
}

/// Run a script line by line: each statement runs as soon as it is
/// complete, so a slow producer sees its results at once.
fn script(sh: &mut Shell, mut input: impl BufRead) -> std::io::Result<()> {
    let mut pending = String::new();
    let mut pending_line = 1;
    let mut line_no = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            break;
        }
        line_no += 1;
        if pending.trim().is_empty() {
            pending.clear();
            pending_line = line_no;
        }
        pending.push_str(&line);
        if split::is_complete(&pending) {
            let text = std::mem::take(&mut pending);
            if sh.run_text(&text, pending_line) == runner::Flow::Stop {
                return Ok(());
            }
        }
    }
    if !pending.trim().is_empty() {
        sh.run_text(&pending, pending_line);
    }
    Ok(())
}

fn shell(args: &ShellArgs) -> ExitCode {
    let db = match &args.file {
        Some(path) if path.as_os_str() != ":memory:" => {
            Database::open_with(path, waldb::Options::default().read_only(args.readonly))
        }
        _ if args.readonly => {
            eprintln!("waldb: --readonly needs a database FILE");
            return ExitCode::FAILURE;
        }
        _ => {
            eprintln!("Using a transient in-memory database: nothing will be saved (.open FILE to use a file).");
            Database::open_in_memory()
        }
    };
    let db = match db {
        Ok(db) => db,
        Err(e) => {
            eprintln!("waldb: {e}");
            return ExitCode::FAILURE;
        }
    };
    let interactive = args.sql.is_empty() && std::io::stdin().is_terminal();
    let mode = args.mode.unwrap_or(if interactive { Mode::Box } else { Mode::List });
    let mut sh = Shell::new(db, mode, args.header && !args.noheader, args.bail, interactive);
    if interactive {
        if let Err(e) = repl::run(&mut sh) {
            eprintln!("waldb: {e}");
            sh.failed = true;
        }
    } else if !args.sql.is_empty() {
        for sql in &args.sql {
            if sh.run_text(sql, 1) == runner::Flow::Stop {
                break;
            }
        }
    } else {
        if let Err(e) = script(&mut sh, std::io::stdin().lock()) {
            eprintln!("waldb: reading stdin: {e}");
            sh.failed = true;
        }
    }
    let failed = sh.failed;
    if let Err(e) = sh.db.close() {
        eprintln!("waldb: closing the database: {e}");
        return ExitCode::FAILURE;
    }
    if failed && !interactive { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
