//! The per-device HMAC that keeps secrets out of audit logs while keeping them correlatable:
//! the same input always hashes to the same `hmac-sha256:<hex>` under one device's salt, and
//! `sys/audit-hash` lets an operator with the plaintext find it in the log.
//!
//! The HMAC state is keyed once per device and cloned per value, so hashing a string costs
//! one SHA-256 compression pass over the input, not a re-keying.

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// Prefix Vault writes in front of every hashed value.
pub const PREFIX: &str = "hmac-sha256:";

#[derive(Clone)]
pub struct Hasher {
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hasher(<redacted>)")
    }
}

impl Hasher {
    /// `None` only if the salt is empty (HMAC accepts any other key length).
    pub fn new(salt: &[u8]) -> Option<Hasher> {
        if salt.is_empty() {
            return None;
        }
        <Hmac<Sha256> as Mac>::new_from_slice(salt).ok().map(|keyed| Hasher { keyed })
    }

    pub fn hash(&self, input: &str) -> String {
        let digest = self.keyed.clone().chain_update(input.as_bytes()).finalize().into_bytes();
        let mut out = String::with_capacity(PREFIX.len() + digest.len() * 2);
        out.push_str(PREFIX);
        out.push_str(&hex::encode(digest));
        out
    }

    /// Replaces every string inside `v` (recursively through objects and arrays) with its
    /// hash; keys, numbers, booleans and nulls stay, as in Vault.
    pub fn hash_value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.hash(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.hash_value(i)).collect()),
            Value::Object(m) => Value::Object(self.hash_map(m)),
            other => other.clone(),
        }
    }

    pub fn hash_map(&self, m: &Map<String, Value>) -> Map<String, Value> {
        m.iter().map(|(k, v)| (k.clone(), self.hash_value(v))).collect()
    }
}

/// Serialises a JSON value with every string hashed on the fly (or verbatim when `hasher` is
/// `None`, i.e. `log_raw`), so audit entries never build a hashed copy of the data tree.
pub struct Hashed<'a> {
    pub value: HashedSrc<'a>,
    pub hasher: Option<&'a Hasher>,
}

#[derive(Clone, Copy)]
pub enum HashedSrc<'a> {
    Value(&'a Value),
    Map(&'a Map<String, Value>),
}

impl Hasher {
    /// The hash of `input` written into `buf` (no allocation).
    fn hash_into<'b>(&self, input: &str, buf: &'b mut [u8; HASHED_LEN]) -> &'b str {
        let digest = self.keyed.clone().chain_update(input.as_bytes()).finalize().into_bytes();
        buf[..PREFIX.len()].copy_from_slice(PREFIX.as_bytes());
        // 32 digest bytes always fit the 64 hex characters after the prefix.
        let _ = hex::encode_to_slice(digest, &mut buf[PREFIX.len()..]);
        std::str::from_utf8(buf).unwrap_or_default()
    }
}

/// Length of `hmac-sha256:` + 64 hex digits.
const HASHED_LEN: usize = 12 + 64;

impl serde::Serialize for Hashed<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let Some(h) = self.hasher else {
            return match self.value {
                HashedSrc::Value(v) => v.serialize(s),
                HashedSrc::Map(m) => m.serialize(s),
            };
        };
        let map = |m: &Map<String, Value>, s: S| {
            let mut out = s.serialize_map(Some(m.len()))?;
            for (k, v) in m {
                out.serialize_entry(k, &Hashed { value: HashedSrc::Value(v), hasher: Some(h) })?;
            }
            out.end()
        };
        match self.value {
            HashedSrc::Map(m) => map(m, s),
            HashedSrc::Value(Value::Object(m)) => map(m, s),
            HashedSrc::Value(Value::String(v)) => {
                let mut buf = [0u8; HASHED_LEN];
                s.serialize_str(h.hash_into(v, &mut buf))
            }
            HashedSrc::Value(Value::Array(items)) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    out.serialize_element(&Hashed { value: HashedSrc::Value(i), hasher: Some(h) })?;
                }
                out.end()
            }
            HashedSrc::Value(other) => other.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let h = Hasher::new(b"Jefe").unwrap();
        assert_eq!(
            h.hash("what do ya want for nothing?"),
            "hmac-sha256:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn deterministic_and_salt_dependent() {
        let a = Hasher::new(b"salt-a").unwrap();
        let b = Hasher::new(b"salt-b").unwrap();
        assert_eq!(a.hash("x"), a.hash("x"));
        assert_ne!(a.hash("x"), b.hash("x"));
        assert_ne!(a.hash("x"), a.hash("y"));
        assert!(Hasher::new(b"").is_none());
    }

    fn check(input: Value, expect: impl Fn(&Hasher) -> Value) {
        let h = Hasher::new(b"k").unwrap();
        assert_eq!(h.hash_value(&input), expect(&h), "input {input}");
    }

    #[test]
    fn streaming_matches_tree_hashing() {
        let h = Hasher::new(b"k").unwrap();
        let v = json!({"a": {"b": ["x", 1, null, {"c": "y"}]}, "n": 2.5, "t": true});
        let streamed =
            serde_json::to_value(Hashed { value: HashedSrc::Value(&v), hasher: Some(&h) });
        assert_eq!(streamed.unwrap(), h.hash_value(&v));
        let raw = serde_json::to_value(Hashed { value: HashedSrc::Value(&v), hasher: None });
        assert_eq!(raw.unwrap(), v);
        let m = v.as_object().unwrap();
        let streamed = serde_json::to_value(Hashed { value: HashedSrc::Map(m), hasher: Some(&h) });
        assert_eq!(streamed.unwrap(), h.hash_value(&v));
    }

    #[test]
    fn structures() {
        check(json!("s"), |h| json!(h.hash("s")));
        check(json!(3), |_| json!(3));
        check(json!(null), |_| json!(null));
        check(json!(true), |_| json!(true));
        check(json!({"a": {"b": ["x", 1]}}), |h| json!({"a": {"b": [h.hash("x"), 1]}}));
    }
}
