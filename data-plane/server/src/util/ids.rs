//! Random identifiers: tokens, accessors, UUIDs. Tokens come from the OS RNG and carry Vault's
//! `hvs.` prefix so clients and scanners recognise them.

use rand::{distributions::Alphanumeric, rngs::OsRng, Rng};

pub fn random_alnum(len: usize) -> String {
    OsRng.sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// A new service token id: `hvs.` + 24 random alphanumerics (~142 bits).
pub fn new_token() -> String {
    let mut s = String::with_capacity(28);
    s.push_str("hvs.");
    s.push_str(&random_alnum(24));
    s
}

pub fn new_accessor() -> String {
    random_alnum(24)
}

pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A v4 UUID from the thread-local CSPRNG: for request ids, which are unique labels rather than
/// secrets, so they skip the per-call OS random syscall.
pub fn request_id() -> String {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid().to_string()
}
