//! Splitting shell input into complete pieces: SQL statements (ending in
//! `;`, respecting quotes `'..'`, `".."`, `[..]`, backticks, `--` and
//! `/* */` comments) and dot-commands (a line starting with `.`), each with
//! the line it starts on. The REPL's validator and the script runner both
//! use it, so they agree on where a statement ends.

/// One complete piece of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A SQL statement, with its terminating `;` (if it had one).
    Sql { line: usize, text: String },
    /// A dot-command line, without the trailing newline.
    Dot { line: usize, text: String },
}

/// The result of splitting a text.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// Complete pieces, in order.
    pub pieces: Vec<Piece>,
    /// An unfinished statement at the end (no `;` yet), with its line.
    pub rest: Option<(usize, String)>,
}

/// Split `text`, whose first line is line `first_line`.
pub fn split(text: &str, first_line: usize) -> Split {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Split::default();
    let mut line = first_line;
    let mut i = 0;
    // Start of the current statement: (byte offset, line).
    let mut start: Option<(usize, usize)> = None;
    let mut at_line_start = true;
    while i < chars.len() {
        let (off, c) = chars[i];
        if start.is_none() && at_line_start && c == '.' {
            // A dot-command: up to the end of the line.
            let end = text[off..].find('\n').map_or(text.len(), |n| off + n);
            out.pieces.push(Piece::Dot { line, text: text[off..end].trim_end().to_string() });
            // Continue after the newline (if any).
            while i < chars.len() && chars[i].0 < end {
                i += 1;
            }
            continue;
        }
        match c {
            '\n' => {
                line += 1;
                at_line_start = true;
                i += 1;
                continue;
            }
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            _ => {}
        }
        at_line_start = false;
        // Comments do not start a statement.
        if c == '-' && chars.get(i + 1).is_some_and(|&(_, n)| n == '-') {
            while i < chars.len() && chars[i].1 != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && chars.get(i + 1).is_some_and(|&(_, n)| n == '*') {
            i += 2;
            while i < chars.len() && !(chars[i].1 == '*' && chars.get(i + 1).is_some_and(|&(_, n)| n == '/')) {
                if chars[i].1 == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 2;
            continue;
        }
        if start.is_none() {
            start = Some((off, line));
        }
        let close = match c {
            '\'' => Some('\''),
            '"' => Some('"'),
            '`' => Some('`'),
            '[' => Some(']'),
            _ => None,
        };
        if let Some(close) = close {
            i += 1;
            while i < chars.len() && chars[i].1 != close {
                if chars[i].1 == '\n' {
                    line += 1;
                }
                i += 1;
            }
            // Past the closing quote (a doubled quote just reopens).
            i += 1;
            continue;
        }
        if c == ';' {
            if let Some((s, l)) = start.take() {
                out.pieces.push(Piece::Sql { line: l, text: text[s..off + 1].to_string() });
            }
            i += 1;
            continue;
        }
        i += 1;
    }
    if let Some((s, l)) = start {
        out.rest = Some((l, text[s..].trim_end().to_string()));
    }
    out
}

/// Whether `text` ends on a piece boundary: no unfinished statement (an
/// unclosed quote or comment counts as unfinished).
pub fn is_complete(text: &str) -> bool {
    if text.trim().is_empty() {
        return true;
    }
    split(text, 1).rest.is_none() && !in_open_comment(text)
}

/// Whether `text` ends inside an unclosed `/* */` comment outside quotes.
fn in_open_comment(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        match b[i] {
            b'\n' => line_start = true,
            b'.' if line_start => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => match text[i + 2..].find("*/") {
                Some(n) => {
                    i += n + 4;
                    line_start = false;
                    continue;
                }
                None => return true,
            },
            q @ (b'\'' | b'"' | b'`' | b'[') => {
                let close = if q == b'[' { b']' } else { q };
                i += 1;
                while i < b.len() && b[i] != close {
                    i += 1;
                }
            }
            c if c.is_ascii_whitespace() => {}
            _ => line_start = false,
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(line: usize, text: &str) -> Piece {
        Piece::Sql { line, text: text.into() }
    }

    #[test]
    fn statements_with_lines() {
        let s = split("SELECT 1;\n\nSELECT\n 2; SELECT 3", 1);
        assert_eq!(s.pieces, vec![sql(1, "SELECT 1;"), sql(3, "SELECT\n 2;")]);
        assert_eq!(s.rest, Some((4, "SELECT 3".into())));
    }

    #[test]
    fn semicolons_in_quotes_and_comments_do_not_split() {
        let text = "SELECT 'a;b', \"c;\", [d;], `e;` -- f;\n /* g; */ FROM t;";
        let s = split(text, 1);
        assert_eq!(s.pieces, vec![sql(1, text)]);
        assert!(s.rest.is_none());
        assert!(!is_complete("SELECT 'a;"));
        assert!(!is_complete("SELECT 1 /* ;"));
        assert!(!is_complete("SELECT 1 -- ;"));
        assert!(is_complete("SELECT 'it''s';"));
    }

    #[test]
    fn dot_commands_are_lines_and_comments_are_skipped() {
        let s = split("-- hi\n.tables\n  .mode csv\nSELECT 1;\n/* x\n y */\n", 1);
        assert_eq!(
            s.pieces,
            vec![
                Piece::Dot { line: 2, text: ".tables".into() },
                Piece::Dot { line: 3, text: ".mode csv".into() },
                sql(4, "SELECT 1;")
            ]
        );
        assert!(s.rest.is_none());
        assert!(is_complete(".tables"));
    }
}
