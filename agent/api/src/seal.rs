//! Replies sealed to a one-time key, so a secret minted on a node (an admin token) can travel
//! through the control plane, which keeps only ciphertext it cannot open once the request that
//! asked for it is gone.
//!
//! The requester makes a [`ReplyKey`] (X25519, in memory only) and sends its public half with
//! the command; the node seals with an ephemeral X25519 key of its own: the shared secret goes
//! through HKDF-SHA256 (salted with both public keys) to an XChaCha20-Poly1305 key.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use x25519_dalek::{EphemeralSecret, PublicKey, StaticSecret};
use zeroize::Zeroizing;

const INFO: &[u8] = b"coffer reply seal v1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the reply key is not a base64 X25519 public key")]
    BadKey,
    #[error("the sealed reply is malformed")]
    Malformed,
    #[error("the sealed reply does not open with this key")]
    Open,
}

/// A sealed secret as it travels: all fields base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedReply {
    pub ephemeral_public: String,
    pub nonce: String,
    pub ciphertext: String,
}

/// The requester's one-time key pair. Never serialised; dropped (and wiped) after one use.
pub struct ReplyKey {
    secret: StaticSecret,
    public: PublicKey,
}

impl ReplyKey {
    pub fn generate() -> ReplyKey {
        let secret = StaticSecret::random_from_rng(OsRng);
        let public = PublicKey::from(&secret);
        ReplyKey { secret, public }
    }

    /// The public half, base64, for the command.
    pub fn public_b64(&self) -> String {
        B64.encode(self.public.as_bytes())
    }

    pub fn open(&self, sealed: &SealedReply) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let eph = decode_key(&sealed.ephemeral_public).map_err(|_| SealError::Malformed)?;
        let nonce = B64.decode(&sealed.nonce).map_err(|_| SealError::Malformed)?;
        let ct = B64.decode(&sealed.ciphertext).map_err(|_| SealError::Malformed)?;
        if nonce.len() != 24 {
            return Err(SealError::Malformed);
        }
        let shared = self.secret.diffie_hellman(&eph);
        let cipher = cipher(shared.as_bytes(), &eph, &self.public);
        cipher
            .decrypt(XNonce::from_slice(&nonce), ct.as_slice())
            .map(Zeroizing::new)
            .map_err(|_| SealError::Open)
    }
}

/// Seals `plaintext` to the base64 public key from a command.
pub fn seal(reply_key_b64: &str, plaintext: &[u8]) -> Result<SealedReply, SealError> {
    let recipient = decode_key(reply_key_b64)?;
    let eph = EphemeralSecret::random_from_rng(OsRng);
    let eph_public = PublicKey::from(&eph);
    let shared = eph.diffie_hellman(&recipient);
    let cipher = cipher(shared.as_bytes(), &eph_public, &recipient);
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut nonce);
    let ct = cipher.encrypt(XNonce::from_slice(&nonce), plaintext).map_err(|_| SealError::Open)?;
    Ok(SealedReply {
        ephemeral_public: B64.encode(eph_public.as_bytes()),
        nonce: B64.encode(nonce),
        ciphertext: B64.encode(ct),
    })
}

fn decode_key(b64: &str) -> Result<PublicKey, SealError> {
    let bytes = B64.decode(b64).map_err(|_| SealError::BadKey)?;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| SealError::BadKey)?;
    Ok(PublicKey::from(arr))
}

fn cipher(shared: &[u8; 32], eph: &PublicKey, recipient: &PublicKey) -> XChaCha20Poly1305 {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(eph.as_bytes());
    salt[32..].copy_from_slice(recipient.as_bytes());
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's output limit, so expand cannot fail.
    let _ = hk.expand(INFO, key.as_mut());
    XChaCha20Poly1305::new(key.as_ref().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let key = ReplyKey::generate();
        let sealed = seal(&key.public_b64(), b"hvs.admin-token").unwrap();
        assert_eq!(key.open(&sealed).unwrap().as_slice(), b"hvs.admin-token");
        assert!(!sealed.ciphertext.contains("admin-token"));

        let other = ReplyKey::generate();
        assert_eq!(other.open(&sealed).unwrap_err(), SealError::Open);

        let mut bad = sealed.clone();
        let mut ct = B64.decode(&bad.ciphertext).unwrap();
        ct[0] ^= 1;
        bad.ciphertext = B64.encode(ct);
        assert_eq!(key.open(&bad).unwrap_err(), SealError::Open);

        let check = |s: SealedReply| assert_eq!(key.open(&s).unwrap_err(), SealError::Malformed);
        check(SealedReply { nonce: "AAAA".into(), ..sealed.clone() });
        check(SealedReply { ephemeral_public: "!!".into(), ..sealed.clone() });
        assert_eq!(seal("not base64!", b"x").unwrap_err(), SealError::BadKey);
        assert_eq!(seal(&B64.encode([0u8; 31]), b"x").unwrap_err(), SealError::BadKey);
    }
}
