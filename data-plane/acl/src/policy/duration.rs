//! Duration values as Vault accepts them in policies (`min_wrapping_ttl = "1h"` or `= 3600`).
//!
//! Mirrors Vault's `ParseDurationSecond`: a bare integer is seconds; otherwise a sequence of
//! `<number><unit>` with Go's units plus `d`. Resolution is whole seconds, as in Vault.

use serde_json::Value;

/// Parses a TTL value into whole seconds; `None` when it is not a valid non-negative duration.
pub(crate) fn parse_seconds(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => parse_str(s.trim()),
        _ => None,
    }
}

fn parse_str(s: &str) -> Option<u64> {
    if s.is_empty() {
        return Some(0);
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Some(secs);
    }
    let mut total_nanos: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if num_len == 0 {
            return None;
        }
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let nanos_per_unit: f64 = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86400e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        let nanos = number * nanos_per_unit;
        if !nanos.is_finite() || nanos > u128::MAX as f64 / 2.0 {
            return None;
        }
        total_nanos = total_nanos.checked_add(nanos as u128)?;
    }
    u64::try_from(total_nanos / 1_000_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(input: Value, expect: Option<u64>) {
        assert_eq!(parse_seconds(&input), expect, "input {input}");
    }

    #[test]
    fn table() {
        check(json!(300), Some(300));
        check(json!("300"), Some(300));
        check(json!("5m"), Some(300));
        check(json!("1h30m"), Some(5400));
        check(json!("1.5h"), Some(5400));
        check(json!("2d"), Some(172_800));
        check(json!("1500ms"), Some(1));
        check(json!(""), Some(0));
        check(json!("-5s"), None);
        check(json!("5x"), None);
        check(json!("h"), None);
        check(json!(-1), None);
        check(json!(true), None);
        check(json!([1]), None);
    }
}
