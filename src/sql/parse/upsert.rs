//! Upsert clauses: `INSERT … ON CONFLICT [(columns) [WHERE …]] DO NOTHING |
//! DO UPDATE SET … [WHERE …]`, sqlparser's `OnInsert` to [`Upsert`]; the
//! token-level split that lets an INSERT have several clauses (sqlparser
//! takes one); and the `SET` lists an upsert shares with `UPDATE`.

use super::*;

impl Converter {
    /// One `ON CONFLICT …` clause.
    pub(super) fn upsert(&mut self, on: sp::OnInsert) -> Result<Upsert> {
        let sp::OnInsert::OnConflict(sp::OnConflict { conflict_target, action }) = on else {
            return Err(not_supported("ON DUPLICATE KEY UPDATE"));
        };
        let (target, target_filter) = match conflict_target {
            None => (None, None),
            Some(sp::ConflictTarget::Columns { columns, predicate }) => {
                let columns = columns.into_iter().map(|c| c.value).collect();
                (Some(columns), predicate.map(|e| self.expr(e)).transpose()?)
            }
            Some(sp::ConflictTarget::OnConstraint(_)) => return Err(not_supported("ON CONFLICT ON CONSTRAINT")),
        };
        let (assignments, filter) = match action {
            sp::OnConflictAction::DoNothing => (Vec::new(), None),
            sp::OnConflictAction::DoUpdate(sp::DoUpdate { assignments, selection }) => {
                (self.assignments(assignments)?, selection.map(|e| self.expr(e)).transpose()?)
            }
        };
        Ok(Upsert { target, target_filter, assignments, filter })
    }

    /// `SET col = expr, …` of an UPDATE or an upsert's `DO UPDATE` (a
    /// qualified target `t.col` names `col`).
    pub(super) fn assignments(&mut self, assignments: Vec<sp::Assignment>) -> Result<Vec<(String, Expr)>> {
        assignments
            .into_iter()
            .map(|a| {
                let sp::Assignment { target, value } = a;
                let column = match target {
                    sp::AssignmentTarget::ColumnName(name) => {
                        let shown = name.to_string();
                        match name.0.into_iter().next_back() {
                            Some(sp::ObjectNamePart::Identifier(ident)) => ident.value,
                            _ => return Err(not_supported(format!("the assignment target `{shown}`"))),
                        }
                    }
                    sp::AssignmentTarget::Tuple(_) => {
                        return Err(not_supported("row-value assignments (SET (a, b) = …)"));
                    }
                };
                Ok((column, self.expr(value)?))
            })
            .collect()
    }
}

/// sqlparser reads one `ON CONFLICT` clause per INSERT; SQLite takes
/// several. The second and later clauses of each statement (those at the
/// top level of parentheses) are cut out of the tokens here, each up to the
/// next clause, `RETURNING`, `;` or the end, and parsed on their own by
/// [`parse_extra_upsert`]. Returns the remaining tokens and, per clause
/// cut, the index of its statement (as sqlparser counts them: empty
/// statements are skipped) and its tokens.
pub(super) fn split_upserts(tokens: Vec<TokenWithSpan>) -> (Vec<TokenWithSpan>, Vec<(usize, Vec<TokenWithSpan>)>) {
    let is = |t: &TokenWithSpan, k: Keyword| matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.keyword == k);
    let mut out = Vec::with_capacity(tokens.len());
    let mut extras = Vec::new();
    let mut cutting: Option<Vec<TokenWithSpan>> = None;
    let (mut depth, mut statement, mut started, mut clauses) = (0usize, 0usize, false, 0usize);
    let mut i = 0;
    while let Some(t) = tokens.get(i) {
        let t = t.clone();
        i += 1;
        if matches!(t.token, Token::Whitespace(_)) {
            cutting.as_mut().unwrap_or(&mut out).push(t);
            continue;
        }
        let top = depth == 0;
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        let ends_clause = top && (matches!(t.token, Token::SemiColon) || is(&t, Keyword::RETURNING));
        let starts_clause = top
            && is(&t, Keyword::ON)
            && tokens[i..].iter().find(|n| !matches!(n.token, Token::Whitespace(_))).is_some_and(|n| is(n, Keyword::CONFLICT));
        if starts_clause {
            clauses += 1;
        }
        if (ends_clause || (starts_clause && clauses > 1))
            && let Some(clause) = cutting.take()
        {
            extras.push((statement, clause));
        }
        if starts_clause && clauses > 1 {
            cutting = Some(vec![t]);
            continue;
        }
        if top && matches!(t.token, Token::SemiColon) {
            if started {
                statement += 1;
            }
            (started, clauses) = (false, 0);
            out.push(t);
            continue;
        }
        if !matches!(t.token, Token::EOF) {
            started = true;
        }
        cutting.as_mut().unwrap_or(&mut out).push(t);
    }
    if let Some(clause) = cutting {
        extras.push((statement, clause));
    }
    (out, extras)
}

/// Parse one clause cut by [`split_upserts`], behind a stand-in INSERT.
pub(super) fn parse_extra_upsert(sql: &str, clause: Vec<TokenWithSpan>) -> Result<sp::OnInsert> {
    let dialect = SQLiteDialect {};
    let mut tokens = Tokenizer::new(&dialect, "INSERT INTO t DEFAULT VALUES ")
        .tokenize_with_location()
        .map_err(tokenizer_error)?;
    tokens.extend(clause);
    let mut statements = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| parser_error(sql, e))?;
    match (statements.pop(), statements.is_empty()) {
        (Some(sp::Statement::Insert(sp::Insert { on: Some(on), .. })), true) => Ok(on),
        _ => Err(Error::Sql("malformed ON CONFLICT clause".into())),
    }
}
