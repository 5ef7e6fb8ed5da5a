//! Dot-commands (`.help`, `.tables`, `.mode`, ...): parsing a dot-command
//! line into words and running it. Commands not handled here are offered
//! to waldb's own inspection commands ([`crate::inspect::dot_command`])
//! before being reported as unknown.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use waldb::Database;

use crate::output::Mode;
use crate::runner::{Flow, Out, Shell};
use crate::{dump, import, inspect};

/// `(usage, description)` of the shell's own dot-commands.
pub const HELP: &[(&str, &str)] = &[
    (".backup FILE", "Write a consistent copy of the database to a new FILE"),
    (".dump ?TABLE?", "SQL text that recreates the database (or TABLE)"),
    (".exit", "Exit the shell"),
    (".headers on|off", "Show column names in list and csv mode"),
    (".help", "Show this message"),
    (".import FILE TABLE", "Import CSV FILE into TABLE (a header row creates it); all or nothing"),
    (".indexes ?TABLE?", "List indexes (of TABLE)"),
    (".mode MODE", "Output mode: box table list csv json line markdown"),
    (".nullvalue TEXT", "Text shown for NULL"),
    (".open FILE", "Close this database and open FILE (created if missing)"),
    (".output ?FILE?", "Send output to FILE, or back to stdout"),
    (".quit", "Exit the shell"),
    (".read FILE", "Run the SQL and dot-commands in FILE"),
    (".schema ?TABLE?", "Show CREATE statements (of TABLE)"),
    (".tables", "List tables and views"),
    (".timer on|off", "Show time, fsyncs and WAL bytes of each statement"),
];

/// The names of all dot-commands (without the dot), for completion.
pub fn names() -> Vec<String> {
    let mut v: Vec<String> = HELP
        .iter()
        .chain(inspect::DOT_HELP)
        .filter_map(|(usage, _)| usage.trim_start_matches('.').split_whitespace().next().map(str::to_string))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Split a dot-command line into words; `'..'` and `".."` quote a word.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        let mut w = String::new();
        if c == '\'' || c == '"' {
            chars.next();
            for x in chars.by_ref() {
                if x == c {
                    break;
                }
                w.push(x);
            }
        } else {
            while let Some(&x) = chars.peek() {
                if x.is_whitespace() {
                    break;
                }
                w.push(x);
                chars.next();
            }
        }
        out.push(w);
    }
    out
}

fn on_off(arg: Option<&str>, what: &str) -> Result<bool, String> {
    match arg.map(str::to_ascii_lowercase).as_deref() {
        Some("on" | "yes" | "1" | "true") => Ok(true),
        Some("off" | "no" | "0" | "false") => Ok(false),
        _ => Err(format!("usage: .{what} on|off")),
    }
}

fn io_err(e: io::Error) -> String {
    format!("writing output: {e}")
}

fn usage(cmd: &str) -> String {
    let u = HELP.iter().find(|(u, _)| u.trim_start_matches('.').split_whitespace().next() == Some(cmd));
    format!("usage: {}", u.map_or(cmd, |(u, _)| u))
}

/// Run one dot-command line (starting with `.`).
pub fn run(sh: &mut Shell, line: &str) -> Result<Flow, String> {
    let w = words(line.trim_start().trim_start_matches('.'));
    let Some(cmd) = w.first().map(String::as_str) else {
        return Err("empty dot-command; try .help".into());
    };
    let args: Vec<&str> = w[1..].iter().map(String::as_str).collect();
    let arg = |i: usize| args.get(i).copied();
    match cmd {
        "quit" | "exit" | "q" => return Ok(Flow::Stop),
        "help" => {
            let w = HELP.iter().chain(inspect::DOT_HELP).map(|(u, _)| u.len()).max().unwrap_or(0);
            for (u, d) in HELP.iter().chain(inspect::DOT_HELP) {
                writeln!(sh.out, "{u:<w$}  {d}").map_err(io_err)?;
            }
        }
        "mode" => match arg(0) {
            None => writeln!(sh.out, "current output mode: {}", sh.fmt.mode.name()).map_err(io_err)?,
            Some(m) => {
                sh.fmt.mode = Mode::from_name(m)
                    .ok_or_else(|| format!("unknown mode {m:?}; choose one of: {}", Mode::NAMES.join(", ")))?;
            }
        },
        "headers" | "header" => sh.fmt.headers = on_off(arg(0), "headers")?,
        "timer" => sh.timer = on_off(arg(0), "timer")?,
        "nullvalue" => sh.fmt.null = arg(0).ok_or_else(|| usage("nullvalue"))?.to_string(),
        "tables" => tables(sh, arg(0))?,
        "schema" => {
            for o in dump::schema(&sh.db)? {
                let Some(sql) = &o.sql else { continue };
                if arg(0).is_none_or(|t| o.table.eq_ignore_ascii_case(t) || o.name.eq_ignore_ascii_case(t)) {
                    writeln!(sh.out, "{sql};").map_err(io_err)?;
                }
            }
        }
        "indexes" | "indices" => {
            for o in dump::schema(&sh.db)? {
                if o.kind == "index" && arg(0).is_none_or(|t| o.table.eq_ignore_ascii_case(t)) {
                    writeln!(sh.out, "{}", o.name).map_err(io_err)?;
                }
            }
        }
        "dump" => dump::dump(&sh.db, arg(0), &mut sh.out)?,
        "open" => {
            let path = arg(0).ok_or_else(|| usage("open"))?;
            let db = if path == ":memory:" { Database::open_in_memory() } else { Database::open(path) };
            let db = db.map_err(|e| e.to_string())?;
            let old = std::mem::replace(&mut sh.db, db);
            if let Err(e) = old.close() {
                eprintln!("warning: closing the previous database: {e}");
            }
        }
        "read" => {
            let path = arg(0).ok_or_else(|| usage("read"))?;
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
            let interactive = std::mem::replace(&mut sh.interactive, false);
            let flow = sh.run_text(&text, 1);
            sh.interactive = interactive;
            // `.quit` in the file ends the session; so does `--bail` in a script
            // (at the prompt, a failed `.read` returns to the prompt).
            if flow == Flow::Stop && (sh.quit || !interactive) {
                return Ok(Flow::Stop);
            }
        }
        "output" => {
            sh.out.flush().map_err(io_err)?;
            sh.out = match arg(0) {
                None | Some("stdout") => Out::Stdout(io::stdout()),
                Some(path) => {
                    Out::File(BufWriter::new(File::create(path).map_err(|e| format!("cannot open {path}: {e}"))?))
                }
            };
        }
        "backup" => {
            let path = arg(0).ok_or_else(|| usage("backup"))?;
            dump::backup(&sh.db, Path::new(path))?;
        }
        "import" => {
            let (Some(file), Some(table)) = (arg(0), arg(1)) else {
                return Err(usage("import"));
            };
            let n = import::import(&sh.db, Path::new(file), table)?;
            if sh.interactive {
                eprintln!("imported {n} rows into {table}");
            }
        }
        other => match inspect::dot_command(&sh.db, other, &args, &mut sh.out) {
            Some(r) => r?,
            None => return Err(format!("unknown command: .{other}; try .help")),
        },
    }
    Ok(Flow::Continue)
}

/// `.tables [PATTERN]`: names of tables and views, in columns.
fn tables(sh: &mut Shell, filter: Option<&str>) -> Result<(), String> {
    let mut names: Vec<String> = dump::schema(&sh.db)?
        .into_iter()
        .filter(|o| o.kind == "table" || o.kind == "view")
        .map(|o| o.name)
        .filter(|n| filter.is_none_or(|f| n.eq_ignore_ascii_case(f)))
        .collect();
    names.sort();
    if names.is_empty() {
        return Ok(());
    }
    let width = names.iter().map(|n| unicode_width::UnicodeWidthStr::width(n.as_str())).max().unwrap_or(0) + 2;
    let per_line = (80 / width).max(1);
    let rows = names.len().div_ceil(per_line);
    for r in 0..rows {
        let mut line = String::new();
        for c in 0..per_line {
            if let Some(n) = names.get(c * rows + r) {
                let fill = width.saturating_sub(unicode_width::UnicodeWidthStr::width(n.as_str()));
                line.push_str(n);
                line.push_str(&" ".repeat(fill));
            }
        }
        writeln!(sh.out, "{}", line.trim_end()).map_err(io_err)?;
    }
    Ok(())
}
