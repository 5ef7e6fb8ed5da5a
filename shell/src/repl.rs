//! The interactive prompt (`rustyline`): a validator that keeps Enter
//! inside an unfinished statement editing it, completion of SQL keywords,
//! dot-commands, table and column names, history in `~/.waldb_history`,
//! Ctrl-C cancelling the current input, Ctrl-D leaving, and a prompt that
//! shows an open transaction (`waldb*> `).

use std::borrow::Cow;
use std::path::PathBuf;

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper};
use waldb::quote_identifier as ident;

use crate::dot;
use crate::runner::{Flow, Shell};
use crate::split::is_complete;

/// SQL keywords offered by completion.
const KEYWORDS: &[&str] = &[
    "ABORT",
    "ALL",
    "ALTER",
    "AND",
    "AS",
    "ASC",
    "AUTOINCREMENT",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CHECK",
    "COLLATE",
    "COMMIT",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DISTINCT",
    "DROP",
    "ELSE",
    "END",
    "EXCEPT",
    "EXISTS",
    "EXPLAIN",
    "FOREIGN",
    "FROM",
    "GLOB",
    "GROUP",
    "HAVING",
    "IF",
    "IN",
    "INDEX",
    "INNER",
    "INSERT",
    "INTEGER",
    "INTERSECT",
    "INTO",
    "IS",
    "JOIN",
    "KEY",
    "LEFT",
    "LIKE",
    "LIMIT",
    "NOT",
    "NULL",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "PRIMARY",
    "REAL",
    "REFERENCES",
    "REPLACE",
    "ROLLBACK",
    "SELECT",
    "SET",
    "TABLE",
    "TEXT",
    "THEN",
    "TRANSACTION",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "VALUES",
    "VIEW",
    "WHEN",
    "WHERE",
    "WITH",
    "BLOB",
];

/// The rustyline helper: validation and completion. The schema names it
/// completes are refreshed by the loop after every input (reading them
/// here, during editing, could wait on the session's own transaction).
#[derive(Debug, Default)]
pub struct ShellHelper {
    /// Table, view and column names.
    names: Vec<String>,
    dots: Vec<String>,
}

impl ShellHelper {
    fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<Pair>) {
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[start..];
        let pair = |s: String| Pair { display: s.clone(), replacement: s };
        if start == 0 && word.starts_with('.') || before.trim_start().starts_with('.') && !before.contains(' ') {
            let w = word.trim_start_matches('.');
            let v = self.dots.iter().filter(|d| d.starts_with(w)).map(|d| pair(format!(".{d}"))).collect();
            return (start, v);
        }
        if word.is_empty() {
            return (start, Vec::new());
        }
        let upper = word.to_ascii_uppercase();
        let lower_input = word.chars().all(|c| !c.is_uppercase());
        let mut v: Vec<Pair> =
            self.names.iter().filter(|n| n.to_ascii_uppercase().starts_with(&upper)).map(|n| pair(n.clone())).collect();
        v.extend(
            KEYWORDS
                .iter()
                .filter(|k| k.starts_with(&upper))
                .map(|k| pair(if lower_input { k.to_ascii_lowercase() } else { (*k).to_string() })),
        );
        v.dedup_by(|a, b| a.replacement == b.replacement);
        (start, v)
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        Ok(self.candidates(line, pos))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(&'s self, prompt: &'p str, _default: bool) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}

impl Validator for ShellHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if is_complete(ctx.input()) { ValidationResult::Valid(None) } else { ValidationResult::Incomplete })
    }
}

impl Helper for ShellHelper {}

/// `~/.waldb_history`, when HOME is set.
fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".waldb_history"))
}

/// Table, view and column names of the open database, for completion.
fn schema_names(sh: &Shell) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(objects) = crate::dump::schema(&sh.db) else { return names };
    for o in objects.iter().filter(|o| o.kind == "table" || o.kind == "view") {
        names.push(o.name.clone());
        if let Ok(stmt) = sh.db.prepare(&format!("SELECT * FROM {}", ident(&o.name))) {
            names.extend(stmt.column_names().iter().cloned());
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Run the prompt until `.quit` or Ctrl-D.
pub fn run(sh: &mut Shell) -> Result<(), String> {
    let mut rl: Editor<ShellHelper, DefaultHistory> = Editor::new().map_err(|e| e.to_string())?;
    let mut helper = ShellHelper { names: Vec::new(), dots: dot::names() };
    helper.names = schema_names(sh);
    rl.set_helper(Some(helper));
    let history = history_path();
    if let Some(h) = &history {
        // A missing history file is normal on the first run.
        let _ = rl.load_history(h);
    }
    println!("waldb {} — enter SQL ending in \";\", or .help", env!("CARGO_PKG_VERSION"));
    loop {
        let prompt = if sh.db.in_transaction() { "waldb*> " } else { "waldb> " };
        match rl.readline(prompt) {
            Ok(input) => {
                if input.trim().is_empty() {
                    continue;
                }
                let _ = rl.add_history_entry(input.as_str());
                if let Some(h) = &history {
                    let _ = rl.save_history(h);
                }
                let flow = sh.run_text(&input, 1);
                if let Some(helper) = rl.helper_mut() {
                    helper.names = schema_names(sh);
                }
                if flow == Flow::Stop && sh.quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(h: &ShellHelper, line: &str) -> (usize, Vec<String>) {
        let (start, v) = h.candidates(line, line.len());
        (start, v.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn completes_keywords_names_and_dot_commands() {
        let h = ShellHelper { names: vec!["people".into(), "person_id".into()], dots: dot::names() };
        assert_eq!(complete(&h, "SEL"), (0, vec!["SELECT".to_string()]));
        assert_eq!(complete(&h, "sel"), (0, vec!["select".to_string()]));
        assert_eq!(complete(&h, "SELECT * FROM pe"), (14, vec!["people".to_string(), "person_id".to_string()]));
        let (start, dots) = complete(&h, ".ta");
        assert_eq!((start, dots), (0, vec![".tables".to_string()]));
        assert!(complete(&h, ".").1.contains(&".import".to_string()));
    }
}
