//! Token-level rewriting before sqlparser's parser runs: hexadecimal
//! integers, `ISNULL`, PRAGMA arguments, and the size checks of the
//! module doc's depth limits.

use super::*;

// ---------------------------------------------------------------------------
// Token rewriting
// ---------------------------------------------------------------------------

/// Check the token-run limit and rewrite the SQLite-isms sqlparser does not
/// know: `ISNULL` → `IS NULL`, `0x1F` / `0X1F` → `31`. Also returns the
/// deepest nesting of open parentheses, open `CASE`s and `NOT`s in a row.
pub(super) fn prepare_tokens(sql: &str, tokens: Vec<TokenWithSpan>) -> Result<(Vec<TokenWithSpan>, usize)> {
    let mut out = Vec::with_capacity(tokens.len());
    // Tokens seen at each open parenthesis level since its last comma.
    let mut runs: Vec<usize> = vec![0];
    // Open `CASE`s, `NOT`s in a row, and the deepest nesting seen.
    let (mut cases, mut nots, mut nesting) = (0usize, 0usize, 0usize);
    let mut tokens = tokens.into_iter().peekable();
    while let Some(t) = tokens.next() {
        match &t.token {
            Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::NOT => nots += 1,
            Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::CASE => (cases, nots) = (cases + 1, 0),
            Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::END => {
                (cases, nots) = (cases.saturating_sub(1), 0);
            }
            Token::Whitespace(_) => {}
            _ => nots = 0,
        }
        nesting = nesting.max(runs.len() - 1 + cases + nots);
        match &t.token {
            Token::Whitespace(_) => {
                out.push(t);
                continue;
            }
            Token::LParen => runs.push(0),
            Token::RParen if runs.len() > 1 => {
                runs.pop();
            }
            Token::Comma | Token::SemiColon => {
                if let Some(run) = runs.last_mut() {
                    *run = 0;
                }
            }
            _ => {}
        }
        if let Some(run) = runs.last_mut() {
            *run += 1;
            if *run > MAX_TERM_TOKENS {
                return Err(not_supported(format!(
                    "expression too long (more than {MAX_TERM_TOKENS} tokens without a comma at one level of parentheses)"
                )));
            }
        }
        let TokenWithSpan { token, span } = t;
        match token {
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("isnull") => {
                out.push(TokenWithSpan { token: Token::make_keyword("IS"), span });
                out.push(TokenWithSpan { token: Token::make_keyword("NULL"), span });
            }
            // sqlparser reads `0x1F` as the blob X'1F'…
            Token::HexStringLiteral(digits) if source_at(sql, span.start).is_some_and(|s| s.starts_with('0')) => {
                out.push(TokenWithSpan { token: Token::Number(hex_integer(&digits)?.to_string(), false), span });
            }
            // …and `0X1F` as `0 AS X1F`.
            Token::Number(zero, false) if zero == "0" && tokens.peek().is_some_and(|next| is_hex_word(next, span)) => {
                if let Some(TokenWithSpan { token: Token::Word(w), span: next }) = tokens.next() {
                    let digits = w.value.get(1..).unwrap_or_default();
                    let token = Token::Number(hex_integer(digits)?.to_string(), false);
                    out.push(TokenWithSpan { token, span: Span::new(span.start, next.end) });
                }
            }
            // `WITH c AS [NOT] MATERIALIZED (…)`: a planner hint SQLite
            // accepts and sqlparser's SQLite dialect does not; it changes
            // no result, so it is dropped.
            Token::Word(w)
                if w.quote_style.is_none()
                    && w.value.eq_ignore_ascii_case("materialized")
                    && source_at(sql, span.start)
                        .and_then(|rest| rest.get("materialized".len()..))
                        .is_some_and(|rest| rest.trim_start().starts_with('('))
                    && drop_cte_hint(&mut out) => {}
            token => out.push(TokenWithSpan { token, span }),
        }
    }
    Ok((out, nesting))
}

/// Whether the tokens before a `MATERIALIZED` end in `AS` or `AS NOT` (a
/// common table expression's hint); the `NOT` is dropped.
fn drop_cte_hint(out: &mut Vec<TokenWithSpan>) -> bool {
    let is = |t: &TokenWithSpan, k: Keyword| matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.keyword == k);
    let words: Vec<usize> =
        out.iter().enumerate().rev().filter(|(_, t)| !matches!(t.token, Token::Whitespace(_))).map(|(i, _)| i).take(2).collect();
    match words.as_slice() {
        [last, ..] if out.get(*last).is_some_and(|t| is(t, Keyword::AS)) => true,
        [last, before] if out.get(*last).is_some_and(|t| is(t, Keyword::NOT)) && out.get(*before).is_some_and(|t| is(t, Keyword::AS)) => {
            out.truncate(*last);
            true
        }
        _ => false,
    }
}

/// SQLite's PRAGMA takes a bare word (`PRAGMA table_info(t)`,
/// `PRAGMA journal_mode = WAL`) or a signed number as its value; sqlparser
/// takes only strings and unsigned numbers. Rewrite the word into a string
/// and fold the sign into the number.
pub(super) fn pragma_tokens(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    // Significant tokens seen since the start of the statement, when it is a PRAGMA.
    let mut seen: Option<usize> = Some(0);
    let mut pragma = false;
    let mut at_value = false;
    let mut tokens = tokens.into_iter().peekable();
    while let Some(t) = tokens.next() {
        if matches!(t.token, Token::Whitespace(_)) {
            out.push(t);
            continue;
        }
        if matches!(t.token, Token::SemiColon) {
            (seen, pragma, at_value) = (Some(0), false, false);
            out.push(t);
            continue;
        }
        let first = seen == Some(0);
        seen = seen.map(|n| n + 1);
        if first {
            pragma = matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::PRAGMA);
            out.push(t);
            continue;
        }
        if !pragma {
            out.push(t);
            continue;
        }
        if std::mem::take(&mut at_value) {
            match t.token {
                Token::Word(w) => {
                    out.push(TokenWithSpan { token: Token::SingleQuotedString(w.value), span: t.span });
                    continue;
                }
                Token::Minus | Token::Plus
                    if tokens.peek().is_some_and(|n| matches!(n.token, Token::Number(_, false))) =>
                {
                    let minus = matches!(t.token, Token::Minus);
                    if let Some(TokenWithSpan { token: Token::Number(n, false), span }) = tokens.next() {
                        let n = if minus { format!("-{n}") } else { n };
                        out.push(TokenWithSpan {
                            token: Token::Number(n, false),
                            span: Span::new(t.span.start, span.end),
                        });
                    }
                    continue;
                }
                token => {
                    out.push(TokenWithSpan { token, span: t.span });
                    continue;
                }
            }
        }
        at_value = matches!(t.token, Token::Eq | Token::LParen);
        out.push(t);
    }
    out
}

/// `X1F` directly after a `0` token ending at `number`.
pub(super) fn is_hex_word(next: &TokenWithSpan, number: Span) -> bool {
    let Token::Word(w) = &next.token else { return false };
    let mut chars = w.value.chars();
    w.quote_style.is_none()
        && next.span.start == number.end
        && matches!(chars.next(), Some('x' | 'X'))
        && w.value.len() > 1
        && chars.all(|c| c.is_ascii_hexdigit() || c == '_')
}

/// The source text from a token's start location (lines split at `\n`,
/// columns counted in characters, both 1-based, as sqlparser counts them).
pub(super) fn source_at(sql: &str, loc: Location) -> Option<&str> {
    let line = sql.split('\n').nth(usize::try_from(loc.line).ok()?.checked_sub(1)?)?;
    let column = usize::try_from(loc.column).ok()?.checked_sub(1)?;
    let (offset, _) = line.char_indices().nth(column)?;
    line.get(offset..)
}

/// The value of a hexadecimal integer literal's digits: up to 16 digits, read
/// as a 64-bit two's complement number, as SQLite does.
pub(super) fn hex_integer(digits: &str) -> Result<i64> {
    let digits: Cow<str> = if digits.contains('_') { digits.replace('_', "").into() } else { digits.into() };
    if digits.is_empty() {
        return Err(Error::Sql("malformed hex literal: no digits after 0x".into()));
    }
    if digits.len() > 16 {
        return Err(Error::Sql(format!("hex literal too big: 0x{digits}")));
    }
    let value =
        u64::from_str_radix(&digits, 16).map_err(|_| Error::Sql(format!("malformed hex literal 0x{digits}")))?;
    Ok(value as i64)
}
