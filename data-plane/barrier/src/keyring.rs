//! The keyring: every data-encryption key the barrier has ever used, by term number.
//!
//! Entries are labelled with the term that encrypted them, so `rotate` only appends a new term
//! and makes it active; old entries stay readable without a rewrite. The whole keyring is
//! serialised, encrypted under the root key and stored in the metadata area. In memory each
//! term keeps its initialised AES-GCM cipher, so reads never re-parse keys or redo key
//! expansion. Key bytes are zeroized on drop and never printed.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use aes_gcm::{Aes256Gcm, KeyInit};
use rand::{rngs::OsRng, RngCore};
use zeroize::Zeroizing;

use crate::{
    entry,
    error::BarrierError,
    key::{RootKey, KEY_LEN},
};

/// Storage path (in the metadata area) of the sealed keyring; also its AEAD associated data.
pub(crate) const KEYRING_PATH: &str = "core/keyring";
/// Term label used for the keyring blob itself, which is encrypted by the root key, not a term.
const ROOT_TERM: u32 = 0;
/// Serialisation format version of the keyring plaintext.
const FORMAT: u8 = 1;
/// Bytes per serialised term: term u32, install seconds u64, install nanos u32, key.
const TERM_RECORD: usize = 4 + 8 + 4 + KEY_LEN;

/// The active encryption key as reported by `sys/key-status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyStatus {
    /// Term number of the key new writes use (starts at 1, +1 per rotation).
    pub term: u32,
    /// When that key was installed.
    pub install_time: SystemTime,
    /// Entries encrypted with that key by this process since unseal (not persisted; Vault
    /// reports the same figure in `sys/key-status`, and it tells when to rotate: random 96-bit
    /// nonces should stay well below 2^32 encryptions per key).
    pub encryptions: u64,
}

/// One data-encryption key.
#[derive(Clone)]
pub(crate) struct TermKey {
    pub(crate) term: u32,
    key: Zeroizing<[u8; KEY_LEN]>,
    pub(crate) cipher: Aes256Gcm,
    installed: SystemTime,
}

impl TermKey {
    fn new(term: u32, key: Zeroizing<[u8; KEY_LEN]>, installed: SystemTime) -> TermKey {
        let cipher = Aes256Gcm::new(aes_gcm::Key::<Aes256Gcm>::from_slice(&key[..]));
        TermKey { term, key, cipher, installed }
    }

    fn generate(term: u32) -> TermKey {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(&mut key[..]);
        TermKey::new(term, key, SystemTime::now())
    }
}

/// All terms, the active one, and the root key that seals the keyring.
pub(crate) struct Keyring {
    root_cipher: Aes256Gcm,
    /// `terms[i].term == i + 1`: terms are dense, so lookup is an index.
    terms: Vec<TermKey>,
    /// Encryptions with the active term since this keyring was loaded.
    encryptions: AtomicU64,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("terms", &self.terms.len()).finish_non_exhaustive()
    }
}

fn root_cipher(root: &RootKey) -> Aes256Gcm {
    Aes256Gcm::new(aes_gcm::Key::<Aes256Gcm>::from_slice(root.expose()))
}

impl Keyring {
    /// A new keyring with a single fresh key at term 1.
    pub(crate) fn new(root: &RootKey) -> Keyring {
        Keyring {
            root_cipher: root_cipher(root),
            terms: vec![TermKey::generate(1)],
            encryptions: AtomicU64::new(0),
        }
    }

    /// The key for a new write, counted as one encryption.
    pub(crate) fn for_encryption(&self) -> &TermKey {
        self.encryptions.fetch_add(1, Ordering::Relaxed);
        self.active()
    }

    /// The key new writes use (always the highest term).
    pub(crate) fn active(&self) -> &TermKey {
        // Invariant: a keyring has at least one term (constructors and decode guarantee it).
        &self.terms[self.terms.len() - 1]
    }

    /// The key for `term`, if this keyring has it.
    pub(crate) fn term(&self, term: u32) -> Option<&TermKey> {
        let index = usize::try_from(term).ok()?.checked_sub(1)?;
        self.terms.get(index)
    }

    pub(crate) fn status(&self) -> KeyStatus {
        let active = self.active();
        KeyStatus {
            term: active.term,
            install_time: active.installed,
            encryptions: self.encryptions.load(Ordering::Relaxed),
        }
    }

    /// A copy of this keyring with one more term, which becomes active.
    pub(crate) fn rotated(&self) -> Result<Keyring, BarrierError> {
        let next = self.active().term.checked_add(1).ok_or(BarrierError::TermsExhausted)?;
        let mut terms = Vec::with_capacity(self.terms.len() + 1);
        terms.extend(self.terms.iter().cloned());
        terms.push(TermKey::generate(next));
        Ok(Keyring { root_cipher: self.root_cipher.clone(), terms, encryptions: AtomicU64::new(0) })
    }

    /// The keyring serialised and encrypted under the root key, ready to store.
    pub(crate) fn seal(&self) -> Result<Vec<u8>, BarrierError> {
        let mut plain = Zeroizing::new(Vec::with_capacity(1 + 4 + self.terms.len() * TERM_RECORD));
        plain.push(FORMAT);
        let count = u32::try_from(self.terms.len()).map_err(|_| BarrierError::TermsExhausted)?;
        plain.extend_from_slice(&count.to_be_bytes());
        for t in &self.terms {
            let since = t.installed.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
            plain.extend_from_slice(&t.term.to_be_bytes());
            plain.extend_from_slice(&since.as_secs().to_be_bytes());
            plain.extend_from_slice(&since.subsec_nanos().to_be_bytes());
            plain.extend_from_slice(&t.key[..]);
        }
        entry::seal(&self.root_cipher, ROOT_TERM, KEYRING_PATH, &plain)
    }

    /// Decrypts a blob produced by [`Keyring::seal`]. A wrong root key is
    /// [`BarrierError::InvalidKey`]; a right key over malformed contents is `KeyringCorrupt`.
    pub(crate) fn unseal(root: &RootKey, blob: &[u8]) -> Result<Keyring, BarrierError> {
        let root_cipher = root_cipher(root);
        let plain = Zeroizing::new(
            entry::open(&root_cipher, KEYRING_PATH, blob).ok_or(BarrierError::InvalidKey)?,
        );
        let terms = decode_terms(&plain).ok_or(BarrierError::KeyringCorrupt)?;
        Ok(Keyring { root_cipher, terms, encryptions: AtomicU64::new(0) })
    }
}

/// Parses the serialised term list; `None` if it is malformed or terms are not exactly 1..=n.
fn decode_terms(plain: &[u8]) -> Option<Vec<TermKey>> {
    let (&format, rest) = plain.split_first()?;
    if format != FORMAT || rest.len() < 4 {
        return None;
    }
    let (count, mut rest) = rest.split_at(4);
    let count = usize::try_from(u32::from_be_bytes(count.try_into().ok()?)).ok()?;
    if count == 0 || rest.len() != count.checked_mul(TERM_RECORD)? {
        return None;
    }
    let mut terms = Vec::with_capacity(count);
    for expected in 1..=count {
        let (record, tail) = rest.split_at(TERM_RECORD);
        rest = tail;
        let term = u32::from_be_bytes(record[0..4].try_into().ok()?);
        if usize::try_from(term).ok()? != expected {
            return None;
        }
        let secs = u64::from_be_bytes(record[4..12].try_into().ok()?);
        let nanos = u32::from_be_bytes(record[12..16].try_into().ok()?);
        let installed = UNIX_EPOCH
            .checked_add(Duration::from_secs(secs))?
            .checked_add(Duration::from_nanos(u64::from(nanos).min(999_999_999)))?;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(&record[16..]);
        terms.push(TermKey::new(term, key, installed));
    }
    Some(terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_unseal_round_trip_keeps_all_terms() {
        let root = RootKey::generate();
        let ring = Keyring::new(&root).rotated().unwrap().rotated().unwrap();
        let blob = ring.seal().unwrap();
        let back = Keyring::unseal(&root, &blob).unwrap();
        assert_eq!(back.status(), ring.status());
        assert_eq!(back.status().term, 3);
        for term in 1..=3 {
            assert_eq!(back.term(term).unwrap().key[..], ring.term(term).unwrap().key[..]);
        }
        assert!(back.term(0).is_none());
        assert!(back.term(4).is_none());
    }

    #[test]
    fn wrong_root_key_is_invalid_key() {
        let blob = Keyring::new(&RootKey::generate()).seal().unwrap();
        let err = Keyring::unseal(&RootKey::generate(), &blob).unwrap_err();
        assert!(matches!(err, BarrierError::InvalidKey), "{err:?}");
    }

    #[test]
    fn malformed_plaintext_is_rejected() {
        let root = RootKey::generate();
        let good = {
            let ring = Keyring::new(&root).rotated().unwrap();
            let blob = ring.seal().unwrap();
            entry::open(&root_cipher(&root), KEYRING_PATH, &blob).unwrap()
        };
        assert!(decode_terms(&good).is_some());
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("bad format", [&[9u8][..], &good[1..]].concat()),
            ("zero terms", vec![FORMAT, 0, 0, 0, 0]),
            ("truncated", good[..good.len() - 1].to_vec()),
            ("trailing", [&good[..], &[0u8][..]].concat()),
        ];
        let mut gap = good.clone();
        gap[5 + TERM_RECORD + 3] = 5; // second record claims term 5
        cases.push(("non-dense terms", gap));
        for (name, bytes) in cases {
            assert!(decode_terms(&bytes).is_none(), "{name}");
        }
    }

    #[test]
    fn debug_hides_keys() {
        let ring = Keyring::new(&RootKey::generate());
        assert_eq!(format!("{ring:?}"), "Keyring { terms: 1, .. }");
    }
}
