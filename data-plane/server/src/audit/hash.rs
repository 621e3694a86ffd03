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
    fn structures() {
        check(json!("s"), |h| json!(h.hash("s")));
        check(json!(3), |_| json!(3));
        check(json!(null), |_| json!(null));
        check(json!(true), |_| json!(true));
        check(json!({"a": {"b": ["x", 1]}}), |h| json!({"a": {"b": [h.hash("x"), 1]}}));
    }
}
