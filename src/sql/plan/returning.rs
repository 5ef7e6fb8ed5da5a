//! `RETURNING` of INSERT, UPDATE and DELETE: its items compiled over the
//! changed row (the table's columns, then its rowid), `*` expanded to the
//! table's columns, with the output column names SQLite gives them.
//! Aggregates are refused, as in SQLite; subqueries may read the row.

use super::*;

impl Planner<'_> {
    /// The expressions and column names of `items` over rows of `t`
    /// (empty when there is no RETURNING).
    pub fn plan_returning(&mut self, t: &Table, items: &[ast::SelectItem]) -> Result<(Vec<CExpr>, Vec<String>)> {
        if items.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let scope = Scope::of_table(t);
        let items = self.expand_items(items, &scope)?;
        let mut exprs = Vec::with_capacity(items.len());
        let mut names = Vec::with_capacity(items.len());
        for (e, alias) in &items {
            if contains_agg(e) {
                return Err(Error::Sql("misuse of aggregate function in RETURNING".into()));
            }
            exprs.push(self.compile(e, &scope, None)?);
            names.push(match (e, alias) {
                // The rowid is named after its alias column, if any.
                (ast::Expr::Column { name, table }, None) => scope
                    .resolve(table.as_deref(), name)?
                    .map(|(_, i, _)| if i == t.columns.len() { t.rowid_alias.unwrap_or(i) } else { i })
                    .and_then(|i| scope.cols.get(i))
                    .map_or(name.clone(), |c| c.display.clone()),
                _ => column_name(e, alias),
            });
        }
        Ok((exprs, names))
    }
}
