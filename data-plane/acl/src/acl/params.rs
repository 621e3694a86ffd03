//! Request-parameter constraints (`allowed_parameters`, `denied_parameters`,
//! `required_parameters`) evaluated against a request body, with Vault's semantics.
//!
//! Value lists hold policy literals; strings in them are globs (`*` prefix and/or suffix). An
//! empty list means "any value". A request string value is also read as a comma-separated list,
//! as Vault does, because many fields are comma-string slices.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::Denial;
use crate::policy::Permissions;

pub(crate) fn check(perms: &Permissions, data: &Map<String, Value>) -> Result<(), Denial> {
    for required in &perms.required_parameters {
        if !data.contains_key(required.as_str()) {
            return Err(Denial::MissingRequiredParameter(required.clone()));
        }
    }
    if data.is_empty() {
        return Ok(());
    }
    if !perms.denied_parameters.is_empty() {
        if perms.denied_parameters.contains_key("*") {
            return Err(Denial::ParameterDenied("*".to_owned()));
        }
        for (name, value) in data {
            if let Some(list) = perms.denied_parameters.get(lower(name).as_ref()) {
                if value_in_denied_list(value, list) {
                    return Err(Denial::ParameterDenied(name.clone()));
                }
            }
        }
    }
    if perms.allowed_parameters.is_empty() {
        return Ok(());
    }
    let allowed_all = perms.allowed_parameters.contains_key("*");
    if allowed_all && perms.allowed_parameters.len() == 1 {
        return Ok(());
    }
    for (name, value) in data {
        match perms.allowed_parameters.get(lower(name).as_ref()) {
            None if !allowed_all => return Err(Denial::ParameterNotAllowed(name.clone())),
            Some(list) if !value_in_allowed_list(value, list) => {
                return Err(Denial::ParameterNotAllowed(name.clone()))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Lower-cases without allocating in the common already-lower-case case.
fn lower(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) || !name.is_ascii() {
        Cow::Owned(name.to_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

fn value_in_allowed_list(value: &Value, list: &[Value]) -> bool {
    if list.is_empty() || value_in_list(value, list) {
        return true;
    }
    match value {
        Value::Array(items) => items.iter().all(|v| value_in_list(v, list)),
        Value::String(s) => comma_items(s).all(|item| str_in_list(item, list)),
        _ => false,
    }
}

fn value_in_denied_list(value: &Value, list: &[Value]) -> bool {
    if list.is_empty() || value_in_list(value, list) {
        return true;
    }
    match value {
        Value::Array(items) => items.iter().any(|v| value_in_list(v, list)),
        Value::String(s) => comma_items(s).any(|item| str_in_list(item, list)),
        _ => false,
    }
}

fn comma_items(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim)
}

fn value_in_list(value: &Value, list: &[Value]) -> bool {
    list.iter().any(|el| match (el, value) {
        (Value::String(pattern), Value::String(v)) => glob_match(pattern, v),
        (Value::String(_), _) => false,
        (Value::Number(a), Value::Number(b)) => a == b || a.as_f64() == b.as_f64(),
        _ => el == value,
    })
}

fn str_in_list(value: &str, list: &[Value]) -> bool {
    list.iter().any(|el| matches!(el, Value::String(p) if glob_match(p, value)))
}

/// Vault's `GlobbedStringsMatch`: `*x*` contains, `*x` suffix, `x*` prefix, else equality.
pub(crate) fn glob_match(pattern: &str, value: &str) -> bool {
    if pattern.len() < 2 {
        return pattern == value;
    }
    let starts = pattern.starts_with('*');
    let ends = pattern.ends_with('*');
    match (starts, ends) {
        (true, true) => value.contains(&pattern[1..pattern.len() - 1]),
        (true, false) => value.ends_with(&pattern[1..]),
        (false, true) => value.starts_with(&pattern[..pattern.len() - 1]),
        (false, false) => pattern == value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_table() {
        for (pattern, value, expect) in [
            ("*", "*", true),
            ("*", "anything", false),
            ("foo", "foo", true),
            ("foo", "foobar", false),
            ("foo*", "foobar", true),
            ("foo*", "barfoo", false),
            ("*bar", "foobar", true),
            ("*bar", "barfoo", false),
            ("*oo*", "foobar", true),
            ("*zz*", "foobar", false),
            ("", "", true),
        ] {
            assert_eq!(glob_match(pattern, value), expect, "{pattern} vs {value}");
        }
    }
}
