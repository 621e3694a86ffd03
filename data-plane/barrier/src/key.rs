//! The root key: the 256-bit key that encrypts the keyring.
//!
//! It is what Shamir shares or a KMS seal protect. The bytes are zeroized on drop and never
//! appear in `Debug` output, so a stray `{:?}` in a log line cannot leak it.

use rand::{rngs::OsRng, RngCore};
use zeroize::Zeroizing;

use crate::error::BarrierError;

/// Length of every key in this crate (AES-256).
pub const KEY_LEN: usize = 32;

/// 32-byte root key; zeroized on drop, redacted in `Debug`.
#[derive(Clone)]
pub struct RootKey(Zeroizing<[u8; KEY_LEN]>);

impl RootKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> RootKey {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(&mut key[..]);
        RootKey(key)
    }

    /// Wraps existing key material (e.g. combined Shamir shares); must be exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<RootKey, BarrierError> {
        if bytes.len() != KEY_LEN {
            return Err(BarrierError::KeyLength(bytes.len()));
        }
        // Copy straight into the zeroizing buffer: no unprotected temporary array on the stack.
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(bytes);
        Ok(RootKey(key))
    }

    /// The raw key bytes, for splitting into shares or wrapping with a KMS.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_bytes_checks_length() {
        for len in [0usize, 1, 16, 31, 33, 64] {
            let err = RootKey::from_bytes(&vec![7u8; len]).unwrap_err();
            assert!(matches!(err, BarrierError::KeyLength(l) if l == len), "len {len}");
        }
        let key = RootKey::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(key.expose(), &[7u8; 32]);
    }

    #[test]
    fn generate_is_random_and_debug_is_redacted() {
        let a = RootKey::generate();
        let b = RootKey::generate();
        assert_ne!(a.expose(), b.expose());
        let shown = format!("{a:?}");
        assert_eq!(shown, "RootKey(<redacted>)");
    }
}
