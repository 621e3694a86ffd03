//! Typed, lenient access to request fields. Vault clients send JSON null for unset fields and
//! query strings carry everything as text, so each getter accepts null (= unset), the native
//! JSON type, and a string rendering of it. A present value of the wrong type is a 400.

use crate::core::error::{CoreError, CoreResult};
use serde_json::{Map, Value};

fn wrong(name: &str, want: &str) -> CoreError {
    CoreError::bad(format!("error parsing field {name:?}: expected {want}"))
}

fn field<'a>(data: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    data.get(name).filter(|v| !v.is_null())
}

pub fn opt_str<'a>(data: &'a Map<String, Value>, name: &str) -> CoreResult<Option<&'a str>> {
    match field(data, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(wrong(name, "a string")),
    }
}

pub fn opt_u64(data: &Map<String, Value>, name: &str) -> CoreResult<Option<u64>> {
    match field(data, name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            n.as_u64().map(Some).ok_or_else(|| wrong(name, "a non-negative integer"))
        }
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => {
            s.trim().parse().map(Some).map_err(|_| wrong(name, "a non-negative integer"))
        }
        Some(_) => Err(wrong(name, "a non-negative integer")),
    }
}

pub fn opt_i64(data: &Map<String, Value>, name: &str) -> CoreResult<Option<i64>> {
    match field(data, name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| wrong(name, "an integer")),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| wrong(name, "an integer")),
        Some(_) => Err(wrong(name, "an integer")),
    }
}

pub fn opt_bool(data: &Map<String, Value>, name: &str) -> CoreResult<Option<bool>> {
    match field(data, name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.as_str() {
            "" => Ok(None),
            "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(Some(true)),
            "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok(Some(false)),
            _ => Err(wrong(name, "a boolean")),
        },
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(Some(false)),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(Some(true)),
        Some(_) => Err(wrong(name, "a boolean")),
    }
}

/// A duration in seconds (integer or Go duration string).
pub fn opt_duration(data: &Map<String, Value>, name: &str) -> CoreResult<Option<u64>> {
    match field(data, name) {
        None => Ok(None),
        Some(v) => crate::util::duration::parse_value(v)
            .map_err(|e| CoreError::bad(format!("error parsing field {name:?}: {e}"))),
    }
}

/// A list of strings: a JSON array of strings or a comma-separated string.
pub fn opt_str_list(data: &Map<String, Value>, name: &str) -> CoreResult<Option<Vec<String>>> {
    match field(data, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(
            s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect(),
        )),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.trim().to_owned()),
                _ => Err(wrong(name, "a list of strings")),
            })
            .filter(|r| r.as_ref().map(|s| !s.is_empty()).unwrap_or(true))
            .collect::<CoreResult<Vec<_>>>()
            .map(Some),
        Some(_) => Err(wrong(name, "a list of strings")),
    }
}

/// A map of string to string (token metadata, custom_metadata).
pub fn opt_str_map(
    data: &Map<String, Value>,
    name: &str,
) -> CoreResult<Option<std::collections::BTreeMap<String, String>>> {
    match field(data, name) {
        None => Ok(None),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                // Vault decodes these weakly: `{"version": 2}` means "2".
                Value::Number(n) => Ok((k.clone(), n.to_string())),
                Value::Bool(b) => Ok((k.clone(), b.to_string())),
                _ => Err(wrong(name, "a map of strings")),
            })
            .collect::<CoreResult<_>>()
            .map(Some),
        Some(_) => Err(wrong(name, "a map of strings")),
    }
}

/// A JSON object field (e.g. KV `data`, `options`).
pub fn opt_object<'a>(
    data: &'a Map<String, Value>,
    name: &str,
) -> CoreResult<Option<&'a Map<String, Value>>> {
    match field(data, name) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(wrong(name, "a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn lenient_getters() {
        let d =
            data(json!({"n": 3, "s": "4", "null": null, "b": "true", "bad": [1], "l": "a, b,,c"}));
        assert_eq!(opt_u64(&d, "n").unwrap(), Some(3));
        assert_eq!(opt_u64(&d, "s").unwrap(), Some(4));
        assert_eq!(opt_u64(&d, "null").unwrap(), None);
        assert_eq!(opt_u64(&d, "missing").unwrap(), None);
        assert!(opt_u64(&d, "bad").is_err());
        assert_eq!(opt_bool(&d, "b").unwrap(), Some(true));
        assert!(opt_bool(&d, "bad").is_err());
        assert_eq!(opt_str_list(&d, "l").unwrap().unwrap(), vec!["a", "b", "c"]);
        assert!(opt_str(&d, "n").is_err());
    }
}
