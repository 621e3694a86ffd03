//! Turns the HTTP request's pieces into core inputs: the validated logical path, the operation
//! (incl. the `LIST` verb and `?list=true`), the client token, and the request data (JSON body
//! object or query parameters).

use serde_json::{Map, Value};

/// Percent-decodes and validates a path below `/v1/`. Rejects traversal (`.`/`..` segments),
/// empty interior segments (`//`), NUL and control characters, and invalid UTF-8.
pub fn logical_path(raw: &str) -> Result<String, &'static str> {
    let decoded = percent_decode(raw).ok_or("invalid percent-encoding in path")?;
    if has_control(&decoded) {
        return Err("invalid character in path");
    }
    if decoded.starts_with('/') {
        return Err("invalid path: empty segment");
    }
    let body = decoded.strip_suffix('/').unwrap_or(&decoded);
    if !body.is_empty() && body.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Err("invalid path: empty or relative segment");
    }
    Ok(decoded)
}

/// `s.chars().any(char::is_control)` on bytes (this runs on every request): the control
/// characters are U+0000..=U+001F, U+007F (one byte each) and U+0080..=U+009F, which UTF-8
/// encodes as 0xC2 followed by 0x80..=0x9F.
fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c < 0x20
            || c == 0x7f
            || (c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
    })
}

fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Query parameters as string values (what Vault puts in `data` for GET/LIST/DELETE).
pub fn query_map(q: Option<&str>) -> Result<Map<String, Value>, &'static str> {
    let mut m = Map::new();
    let Some(q) = q else { return Ok(m) };
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(&k.replace('+', " ")).ok_or("invalid query string")?;
        let v = percent_decode(&v.replace('+', " ")).ok_or("invalid query string")?;
        m.insert(k, Value::String(v));
    }
    Ok(m)
}

/// Parses a request body: empty or `null` means no fields; anything but a JSON object is 400.
pub fn body_map(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err("request body must be a JSON object".to_owned()),
        Err(e) => Err(format!("failed to parse JSON input: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expect: Result<&str, ()>) {
        assert_eq!(logical_path(raw).map_err(|_| ()), expect.map(str::to_owned), "path {raw:?}");
    }

    #[test]
    fn paths() {
        check("secret/data/a", Ok("secret/data/a"));
        check("secret/metadata/", Ok("secret/metadata/"));
        check("a%20b", Ok("a b"));
        check("sys/health", Ok("sys/health"));
        check("secret/../sys", Err(()));
        check("secret/%2e%2e/sys", Err(()));
        check("secret//x", Err(()));
        check("/secret", Err(()));
        check("secret/./x", Err(()));
        check("secret/a%00b", Err(()));
        check("secret/%zz", Err(()));
        check("secret/%ff", Err(()));
        check("secret/a%7Fb", Err(()));
        check("secret/a%C2%85b", Err(()));
        check("secret/a%C2%A0b", Ok("secret/a\u{a0}b"));
        check("secret/caf%C3%A9", Ok("secret/caf\u{e9}"));
    }

    #[test]
    fn control_detection_matches_char_is_control() {
        for cp in 0u32..0x800 {
            let Some(c) = char::from_u32(cp) else { continue };
            let s = format!("a{c}b");
            assert_eq!(has_control(&s), s.chars().any(char::is_control), "U+{cp:04X}");
        }
    }

    #[test]
    fn bodies() {
        assert!(body_map(b"").unwrap().is_empty());
        assert!(body_map(b"null").unwrap().is_empty());
        assert_eq!(body_map(br#"{"a":1}"#).unwrap().len(), 1);
        assert!(body_map(b"[1]").is_err());
        assert!(body_map(b"{bad").is_err());
        assert!(body_map(b"\"s\"").is_err());
    }

    #[test]
    fn queries() {
        let q = query_map(Some("list=true&version=2&x=a%2Fb")).unwrap();
        assert_eq!(q["list"], "true");
        assert_eq!(q["x"], "a/b");
    }
}
