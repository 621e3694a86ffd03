//! Vault's duration syntax: an integer number of seconds, or a Go duration string like
//! `"1h30m"`, `"768h"`, `"45s"`, plus `d` for days as Vault's parseutil accepts.

use serde_json::Value;

/// Parses a duration field to whole seconds. `None` for JSON null / empty string.
pub fn parse_value(v: &Value) -> Result<Option<u64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| format!("invalid duration {n}")),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => parse_str(s).map(Some),
        other => Err(format!("invalid duration {other}")),
    }
}

/// Parses `"90"`, `"90s"`, `"1h30m"`, `"1.5h"`, `"2d"` to seconds.
pub fn parse_str(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    let bad = || format!("invalid duration {s:?}");
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let num: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return Err(bad()),
        };
        total += num * scale;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total < 0.0 {
        return Err(bad());
    }
    Ok(total as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: Option<u64>) {
        assert_eq!(parse_str(input).ok(), expect, "input {input:?}");
    }

    #[test]
    fn durations() {
        check("0", Some(0));
        check("90", Some(90));
        check("90s", Some(90));
        check("1m", Some(60));
        check("1h30m", Some(5400));
        check("768h", Some(768 * 3600));
        check("1.5h", Some(5400));
        check("2d", Some(172_800));
        check("500ms", Some(0));
        check("", None);
        check("h", None);
        check("10x", None);
        check("-5s", None);
        check("1h 2m", None);
    }

    #[test]
    fn values() {
        assert_eq!(parse_value(&serde_json::json!(null)), Ok(None));
        assert_eq!(parse_value(&serde_json::json!(30)), Ok(Some(30)));
        assert_eq!(parse_value(&serde_json::json!("1m")), Ok(Some(60)));
        assert!(parse_value(&serde_json::json!([1])).is_err());
        assert!(parse_value(&serde_json::json!(-3)).is_err());
    }
}
