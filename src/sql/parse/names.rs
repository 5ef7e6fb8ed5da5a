//! Names (qualified, simple, type names) and literals (numbers, blobs,
//! placeholders) as waldb's AST wants them.

use super::*;

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/// A possibly schema-qualified name: `(schema, name)`.
pub(super) fn qualified_name(name: sp::ObjectName) -> Result<(Option<String>, String)> {
    let shown = name.to_string();
    let mut parts = Vec::with_capacity(name.0.len());
    for part in name.0 {
        match part {
            sp::ObjectNamePart::Identifier(ident) => parts.push(ident.value),
            sp::ObjectNamePart::Function(_) => return Err(not_supported(format!("the name `{shown}`"))),
        }
    }
    let mut parts = parts.into_iter();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(name), None, None) => Ok((None, name)),
        (Some(schema), Some(name), None) => {
            if schema.eq_ignore_ascii_case("main") || schema.eq_ignore_ascii_case("temp") {
                Ok((Some(schema), name))
            } else {
                Err(not_supported(format!("the schema `{schema}` in `{shown}` (only main and temp)")))
            }
        }
        _ => Err(not_supported(format!("the name `{shown}`"))),
    }
}

/// A table, index or view name, with an optional `main.`/`temp.` dropped.
pub(super) fn object_name(name: sp::ObjectName) -> Result<String> {
    Ok(qualified_name(name)?.1)
}

/// An unqualified name (a column in a list).
pub(super) fn simple_name(name: sp::ObjectName) -> Result<String> {
    let shown = name.to_string();
    let mut parts = name.0.into_iter();
    match (parts.next(), parts.next()) {
        (Some(sp::ObjectNamePart::Identifier(ident)), None) => Ok(ident.value),
        _ => Err(not_supported(format!("the qualified column name `{shown}` here"))),
    }
}

/// A declared type name, upper-cased (`None` when no type was written).
pub(super) fn type_name(data_type: &sp::DataType) -> Option<String> {
    match data_type {
        sp::DataType::Unspecified => None,
        sp::DataType::Custom(name, modifiers) => {
            let mut text = name
                .0
                .iter()
                .map(|part| match part {
                    sp::ObjectNamePart::Identifier(ident) => ident.value.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".");
            if !modifiers.is_empty() {
                let modifiers: Vec<String> = modifiers.iter().map(|m| m.to_string()).collect();
                let _ = write!(text, "({})", modifiers.join(","));
            }
            Some(text.to_uppercase())
        }
        other => Some(other.to_string().to_uppercase()),
    }
}

/// The kind of an unsupported statement, for the error message.
pub(super) fn statement_kind(statement: &sp::Statement) -> String {
    if let sp::Statement::Drop { object_type, .. } = statement {
        return format!("DROP {object_type}");
    }
    variant_kind(statement)
}

/// The name of an enum variant of sqlparser's tree spelled as SQL
/// (`CreateTrigger` → `CREATE TRIGGER`), from its `Debug` rendering.
pub(super) fn variant_kind(value: &impl fmt::Debug) -> String {
    /// Collects the leading identifier of a `Debug` rendering and stops
    /// formatting there, so the rest of the statement is never formatted.
    struct VariantName(String);
    impl fmt::Write for VariantName {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for c in s.chars() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    self.0.push(c);
                } else {
                    return Err(fmt::Error);
                }
            }
            Ok(())
        }
    }
    let mut name = VariantName(String::new());
    let _ = write!(name, "{value:?}");
    let mut kind = String::new();
    let mut previous_lower = false;
    for c in name.0.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            kind.push(' ');
        }
        previous_lower = c.is_ascii_lowercase();
        kind.push(c.to_ascii_uppercase());
    }
    if kind.is_empty() { "this kind of".into() } else { kind }
}

// ---------------------------------------------------------------------------
// Literals
// ---------------------------------------------------------------------------

/// A numeric literal: an integer when it fits `i64`, else a real.
pub(super) fn number(text: &str, long: bool) -> Result<Value> {
    if long {
        return Err(not_supported(format!("the numeric literal `{text}L`")));
    }
    let clean: Cow<str> = if text.contains('_') { text.replace('_', "").into() } else { text.into() };
    if let Ok(i) = clean.parse::<i64>() {
        return Ok(Value::Integer(i));
    }
    clean.parse::<f64>().map(Value::real).map_err(|_| Error::Sql(format!("malformed numeric literal `{text}`")))
}

/// `-<numeric literal>`, folded: `-9223372036854775808` is `i64::MIN`.
pub(super) fn negative_number(text: &str, long: bool) -> Result<Value> {
    let clean: Cow<str> = if text.contains('_') { text.replace('_', "").into() } else { text.into() };
    if !long
        && !clean.is_empty()
        && clean.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = clean.parse::<u128>()
        && n <= 1u128 << 63
    {
        return Ok(Value::Integer((n as i128).wrapping_neg() as i64));
    }
    Ok(match number(text, long)? {
        Value::Integer(i) => i.checked_neg().map_or(Value::Real(-(i as f64)), Value::Integer),
        Value::Real(r) => Value::real(-r),
        other => other,
    })
}

/// `X'…'`: an even number of hex digits.
pub(super) fn blob(hex: &str) -> Result<Value> {
    pub(super) fn digit(b: u8) -> Option<u8> {
        char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    if !hex.len().is_multiple_of(2) {
        return Err(Error::Sql(format!("malformed blob literal X'{hex}': odd number of hex digits")));
    }
    let mut bytes = Vec::with_capacity(hex.len() / 2);
    for pair in hex.as_bytes().chunks_exact(2) {
        match (pair.first().copied().and_then(digit), pair.get(1).copied().and_then(digit)) {
            (Some(hi), Some(lo)) => bytes.push(hi << 4 | lo),
            _ => return Err(Error::Sql(format!("malformed blob literal X'{hex}'"))),
        }
    }
    Ok(Value::Blob(bytes))
}

/// `?` or `?N`.
pub(super) fn placeholder(p: &str) -> Result<Expr> {
    if p == "?" {
        return Ok(Expr::Param(None));
    }
    match p.strip_prefix('?') {
        Some(digits) => match digits.parse::<usize>() {
            Ok(n) if (1..=MAX_PARAM_NUMBER).contains(&n) => Ok(Expr::Param(Some(n))),
            _ => Err(Error::Sql(format!("variable number must be between ?1 and ?{MAX_PARAM_NUMBER} (got {p})"))),
        },
        None => Err(not_supported(format!("named parameters ({p}); use ? or ?N"))),
    }
}

pub(super) fn literal(value: sp::Value) -> Result<Expr> {
    Ok(Expr::Literal(match value {
        sp::Value::Number(text, long) => number(&text, long)?,
        sp::Value::SingleQuotedString(s) => Value::Text(s),
        sp::Value::HexStringLiteral(hex) => blob(&hex)?,
        sp::Value::Boolean(b) => Value::Integer(i64::from(b)),
        sp::Value::Null => Value::Null,
        sp::Value::Placeholder(p) => return placeholder(&p),
        other => return Err(not_supported(format!("the literal {other}"))),
    }))
}
