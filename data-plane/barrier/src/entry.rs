//! The on-disk format of one encrypted entry:
//! `[version u8][term u32 BE][nonce 12 bytes][ciphertext][tag 16 bytes]`.
//!
//! The term says which keyring key encrypted the entry, so rotation never has to rewrite old
//! data. The storage path is the AEAD associated data: a ciphertext copied to another path (by
//! someone with write access to the raw file) fails authentication instead of silently serving
//! one secret under another name.

use aes_gcm::{aead::AeadInPlace, Aes256Gcm, Nonce, Tag};
use rand::RngCore;

use crate::error::BarrierError;

/// Format version of entries written by this build.
pub(crate) const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// Encrypts `plaintext` for `path` under `cipher`, labelling it with `term`.
///
/// One allocation: the header, the ciphertext (encrypted in place) and the tag share a buffer.
pub(crate) fn seal(
    cipher: &Aes256Gcm,
    term: u32,
    path: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, BarrierError> {
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.push(VERSION);
    out.extend_from_slice(&term.to_be_bytes());
    let mut nonce = [0u8; NONCE_LEN];
    // thread_rng is a CSPRNG seeded from the OS; random 96-bit nonces are Vault's scheme too.
    rand::thread_rng().fill_bytes(&mut nonce);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_in_place_detached(
            Nonce::from_slice(&nonce),
            path.as_bytes(),
            &mut out[HEADER_LEN..],
        )
        .map_err(|_| BarrierError::TooLarge)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// The key term an entry claims, or `None` if the header is not one this build writes.
pub(crate) fn term_of(blob: &[u8]) -> Option<u32> {
    if blob.len() < HEADER_LEN + TAG_LEN || blob[0] != VERSION {
        return None;
    }
    let mut term = [0u8; 4];
    term.copy_from_slice(&blob[1..5]);
    Some(u32::from_be_bytes(term))
}

/// Decrypts an entry written by [`seal`] for the same `path`; `None` on any mismatch.
pub(crate) fn open(cipher: &Aes256Gcm, path: &str, blob: &[u8]) -> Option<Vec<u8>> {
    term_of(blob)?;
    let (body, tag) = blob.split_at(blob.len() - TAG_LEN);
    let nonce = Nonce::from_slice(&body[1 + 4..HEADER_LEN]);
    let mut plain = body[HEADER_LEN..].to_vec();
    cipher
        .decrypt_in_place_detached(nonce, path.as_bytes(), &mut plain, Tag::from_slice(tag))
        .ok()?;
    Some(plain)
}

#[cfg(test)]
mod tests {
    use aes_gcm::KeyInit;

    use super::*;

    fn cipher(byte: u8) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(&[byte; 32]).unwrap()
    }

    #[test]
    fn layout_and_round_trip() {
        let c = cipher(1);
        for (term, plain) in [(1u32, &b""[..]), (7, b"x"), (u32::MAX, &[0u8; 4096][..])] {
            let blob = seal(&c, term, "p/q", plain).unwrap();
            assert_eq!(blob.len(), HEADER_LEN + plain.len() + TAG_LEN);
            assert_eq!(blob[0], VERSION);
            assert_eq!(term_of(&blob), Some(term));
            assert_eq!(open(&c, "p/q", &blob).as_deref(), Some(plain));
        }
    }

    #[test]
    fn nonces_differ_per_write() {
        let c = cipher(1);
        let a = seal(&c, 1, "k", b"same").unwrap();
        let b = seal(&c, 1, "k", b"same").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn every_mismatch_fails_closed() {
        let c = cipher(1);
        let blob = seal(&c, 1, "k", b"secret value").unwrap();
        assert_eq!(open(&cipher(2), "k", &blob), None, "wrong key");
        assert_eq!(open(&c, "k2", &blob), None, "wrong path (AAD)");
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x01;
            // Flipping the term byte changes only the label, which the caller resolves to a key;
            // with the same key the AEAD still authenticates, so skip the 4 term bytes here.
            if (1..5).contains(&i) {
                continue;
            }
            assert_eq!(open(&c, "k", &bad), None, "flipped byte {i}");
        }
        for len in 0..blob.len() {
            assert_eq!(open(&c, "k", &blob[..len]), None, "truncated to {len}");
        }
    }
}
