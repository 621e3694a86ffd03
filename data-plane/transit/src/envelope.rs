//! The `vault:v<N>:<base64>` text envelope used for ciphertexts, signatures and HMACs.
//!
//! Written once per operation, so formatting sizes the output up front and base64-encodes
//! straight into it (one allocation).

use std::fmt::Write;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const PREFIX: &str = "vault:v";

/// Formats `vault:v{version}:{base64(payload)}` with the given base64 engine.
pub(crate) fn format(version: u32, payload: &[u8], engine: &impl Engine) -> String {
    let mut out = String::with_capacity(PREFIX.len() + 11 + payload.len().div_ceil(3) * 4);
    out.push_str(PREFIX);
    // Writing to a String cannot fail.
    let _ = write!(out, "{version}:");
    engine.encode_string(payload, &mut out);
    out
}

/// Standard-alphabet variant, the common case.
pub(crate) fn format_std(version: u32, payload: &[u8]) -> String {
    format(version, payload, &STANDARD)
}

/// Splits an envelope into its version and (still encoded) payload. The error is a short
/// reason the caller wraps in the right error kind (ciphertext, signature, hmac).
pub(crate) fn parse(text: &str) -> Result<(u32, &str), &'static str> {
    let rest = text.strip_prefix(PREFIX).ok_or("no prefix")?;
    let (version, payload) = rest.split_once(':').ok_or("wrong number of fields")?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid version");
    }
    let version: u32 = version.parse().map_err(|_| "invalid version")?;
    Ok((version, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        for (input, expect) in [
            ("vault:v1:abc", Ok((1, "abc"))),
            ("vault:v12:", Ok((12, ""))),
            ("vault:v0:abc", Ok((0, "abc"))),
            ("vault:v1:a:b", Ok((1, "a:b"))),
            ("vault:1:abc", Err("no prefix")),
            ("abc", Err("no prefix")),
            ("vault:v1", Err("wrong number of fields")),
            ("vault:v:abc", Err("invalid version")),
            ("vault:v-1:abc", Err("invalid version")),
            ("vault:v+1:abc", Err("invalid version")),
            ("vault:v99999999999:abc", Err("invalid version")),
        ] {
            assert_eq!(parse(input), expect, "{input}");
        }
    }

    #[test]
    fn format_round_trips() {
        let s = format_std(7, b"hello");
        assert_eq!(s, "vault:v7:aGVsbG8=");
        let (v, payload) = parse(&s).unwrap();
        assert_eq!((v, STANDARD.decode(payload).unwrap()), (7, b"hello".to_vec()));
    }
}
