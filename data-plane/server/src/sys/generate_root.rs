//! `sys/generate-root/attempt` and `sys/generate-root/update`: mint a new root token from a
//! quorum of unseal key shares, Vault's OTP flow (1.10+). The caller starts an attempt (getting
//! a nonce and, unless it brought its own, a one-time password as long as a token), key
//! holders submit shares with the nonce, and the last share returns
//! `encoded_token = base64(token XOR otp)` — so the token never crosses the wire in the clear
//! and only the OTP holder can decode it (`vault operator generate-root -decode`).
//!
//! No token is needed (possession of the shares is the authority), but the server must be
//! unsealed. Under an auto-seal (KMS) the shares are recovery-key shares, checked against the
//! recovery key kept inside the barrier; otherwise unseal-key shares, checked against the root
//! key held in memory while unsealed. Shares and the OTP are zeroized; a wrong combination
//! cancels the attempt.

use super::expect_op;
use crate::auth::token::store::NewToken;
use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Operation, Request, Response};
use crate::core::seal::decode_key;
use crate::core::Core;
use crate::util::fields;
use base64::Engine as _;
use coffer_barrier::shamir;
use serde_json::{json, Value};
use std::sync::{Mutex, MutexGuard, PoisonError};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Length of our service tokens (`hvs.` + 24), which the OTP must match for the XOR.
pub const OTP_LENGTH: usize = 28;

struct Attempt {
    nonce: String,
    otp: Zeroizing<String>,
    shares: Vec<Zeroizing<Vec<u8>>>,
}

/// The in-progress attempt (at most one, as in Vault). Forgotten on seal.
#[derive(Default)]
pub struct GenerateRoot {
    attempt: Mutex<Option<Attempt>>,
}

impl GenerateRoot {
    fn lock(&self) -> MutexGuard<'_, Option<Attempt>> {
        self.attempt.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn reset(&self) {
        *self.lock() = None;
    }
}

/// XORs the token with the OTP and encodes it as Vault does (unpadded standard base64).
pub fn encode_token(token: &str, otp: &str) -> CoreResult<String> {
    if token.len() != otp.len() {
        return Err(CoreError::internal("token and OTP lengths differ"));
    }
    let x: Zeroizing<Vec<u8>> =
        Zeroizing::new(token.bytes().zip(otp.bytes()).map(|(a, b)| a ^ b).collect());
    Ok(base64::engine::general_purpose::STANDARD_NO_PAD.encode(&*x))
}

/// The inverse of [`encode_token`] (what `vault operator generate-root -decode` does).
pub fn decode_token(encoded: &str, otp: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .ok()?;
    if raw.len() != otp.len() {
        return None;
    }
    String::from_utf8(raw.iter().zip(otp.bytes()).map(|(a, b)| a ^ b).collect()).ok()
}

/// Which shares authorise root generation: unseal keys (Shamir seal) or, when the server is
/// auto-unsealed (KMS), recovery keys — as in Vault.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shares {
    Unseal,
    Recovery,
}

fn required(core: &Core) -> CoreResult<(u8, Shares)> {
    let cfg = core
        .seal
        .config(&core.barrier)?
        .ok_or_else(|| CoreError::bad("Vault is not initialized"))?;
    if cfg.is_auto() {
        Ok((cfg.recovery_threshold, Shares::Recovery))
    } else {
        Ok((cfg.secret_threshold, Shares::Unseal))
    }
}

fn status(attempt: Option<&Attempt>, required: u8) -> Value {
    json!({
        "started": attempt.is_some(),
        "nonce": attempt.map(|a| a.nonce.as_str()).unwrap_or(""),
        "progress": attempt.map(|a| a.shares.len()).unwrap_or(0),
        "required": required,
        "encoded_token": "",
        "encoded_root_token": "",
        "pgp_fingerprint": "",
        "otp_length": OTP_LENGTH,
        "complete": false,
    })
}

fn set(body: &mut Value, key: &str, v: Value) {
    if let Some(o) = body.as_object_mut() {
        o.insert(key.to_owned(), v);
    }
}

fn nonempty<'a>(req: &'a Request, name: &str) -> CoreResult<Option<&'a str>> {
    Ok(fields::opt_str(&req.data, name)?.map(str::trim).filter(|s| !s.is_empty()))
}

/// `sys/generate-root/attempt`: GET status, PUT/POST start, DELETE cancel.
pub fn attempt(core: &Core, req: &Request) -> CoreResult<Response> {
    if core.is_sealed() {
        return Err(CoreError::Sealed);
    }
    let (required, _) = required(core)?;
    let state = &core.generate_root;
    match req.op {
        Operation::Read => Ok(Response::raw(200, Some(status(state.lock().as_ref(), required)))),
        Operation::Delete => {
            state.reset();
            Ok(Response::empty())
        }
        Operation::Update | Operation::Create => {
            if nonempty(req, "pgp_key")?.is_some() {
                return Err(CoreError::bad("pgp_key is not supported by this server; use an OTP"));
            }
            let given = nonempty(req, "otp")?;
            if given.is_some_and(|o| o.len() != OTP_LENGTH) {
                return Err(CoreError::bad(format!(
                    "OTP string is wrong length; expected {OTP_LENGTH} characters"
                )));
            }
            let mut guard = state.lock();
            if guard.is_some() {
                return Err(CoreError::bad("root generation already in progress"));
            }
            let generated = given.is_none();
            let otp = Zeroizing::new(match given {
                Some(o) => o.to_owned(),
                None => crate::util::ids::random_alnum(OTP_LENGTH),
            });
            let attempt =
                Attempt { nonce: crate::util::ids::uuid(), otp: otp.clone(), shares: Vec::new() };
            let mut body = status(Some(&attempt), required);
            if generated {
                set(&mut body, "otp", Value::String(otp.to_string()));
            }
            *guard = Some(attempt);
            Ok(Response::raw(200, Some(body)))
        }
        _ => Err(CoreError::UnsupportedOperation),
    }
}

/// `sys/generate-root/update` {key, nonce}: adds a share; the last one mints the token.
pub fn update(core: &Core, req: &Request) -> CoreResult<Response> {
    expect_op(req, &[Operation::Update])?;
    if core.is_sealed() {
        return Err(CoreError::Sealed);
    }
    let (required, kind) = required(core)?;
    let key = nonempty(req, "key")?.ok_or_else(|| CoreError::bad("missing key"))?;
    let key = decode_key(key)?;
    let nonce = nonempty(req, "nonce")?.ok_or_else(|| CoreError::bad("missing nonce"))?;
    let mut guard = core.generate_root.lock();
    let attempt = guard.as_mut().ok_or_else(|| CoreError::bad("no root generation in progress"))?;
    if attempt.nonce != nonce {
        return Err(CoreError::bad(format!(
            "incorrect nonce supplied; nonce for this root generation operation is {}",
            attempt.nonce
        )));
    }
    if attempt.shares.iter().any(|s| **s == *key) {
        return Err(CoreError::bad(
            "given key share is already part of the root generation process",
        ));
    }
    attempt.shares.push(key);
    if attempt.shares.len() < usize::from(required) {
        return Ok(Response::raw(200, Some(status(Some(attempt), required))));
    }
    // Threshold reached: whatever happens next, this attempt is over.
    let Some(done) = guard.take() else { return Err(CoreError::internal("attempt vanished")) };
    drop(guard);
    verify(core, kind, &combine(&done.shares, required)?)?;
    let (token, _) = core.tokens.create(
        &core.barrier,
        NewToken {
            policies: vec!["root".into()],
            display_name: "root".into(),
            path: "auth/token/root".into(),
            ..Default::default()
        },
    )?;
    let token = Zeroizing::new(token);
    let encoded = encode_token(&token, &done.otp)?;
    tracing::info!("root token generated through sys/generate-root");
    let mut body = status(Some(&done), required);
    set(&mut body, "started", Value::Bool(false));
    set(&mut body, "nonce", Value::String(String::new()));
    set(&mut body, "complete", Value::Bool(true));
    set(&mut body, "encoded_token", Value::String(encoded.clone()));
    set(&mut body, "encoded_root_token", Value::String(encoded));
    Ok(Response::raw(200, Some(body)))
}

const MISMATCH: &str = "root generation failed: the key shares do not match this Vault";

/// Proves the recombined key is this server's root key (unseal shares) or recovery key.
fn verify(core: &Core, kind: Shares, secret: &[u8]) -> CoreResult<()> {
    match kind {
        // Compared with the root key held while unsealed, never by re-opening the barrier:
        // that could race a concurrent seal and silently unseal again.
        Shares::Unseal if core.seal.is_root_key(secret) => Ok(()),
        Shares::Unseal => Err(CoreError::bad(MISMATCH)),
        Shares::Recovery => {
            let stored =
                Zeroizing::new(core.barrier.get(crate::core::RECOVERY_KEY)?.ok_or_else(|| {
                    CoreError::internal("recovery key missing under an auto-seal")
                })?);
            if stored.len() == secret.len() && bool::from(stored.as_slice().ct_eq(secret)) {
                Ok(())
            } else {
                Err(CoreError::bad(MISMATCH))
            }
        }
    }
}

/// Recombines the shares exactly as unsealing does (one share is the key itself).
fn combine(shares: &[Zeroizing<Vec<u8>>], required: u8) -> CoreResult<Zeroizing<Vec<u8>>> {
    let secret: Zeroizing<Vec<u8>> = if required == 1 {
        Zeroizing::new(shares.first().map(|s| s.to_vec()).unwrap_or_default())
    } else {
        let raw: Vec<Vec<u8>> = shares.iter().map(|s| s.to_vec()).collect();
        let combined = shamir::combine(&raw);
        for mut r in raw {
            zeroize::Zeroize::zeroize(&mut r);
        }
        Zeroizing::new(combined.map_err(|_| CoreError::bad("invalid key shares"))?)
    };
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_roundtrip() {
        let token = "hvs.ABCDEFGHIJKLMNOPQRSTUVWX";
        let otp = "0123456789abcdefghijklmnopqr";
        assert_eq!(token.len(), OTP_LENGTH);
        let enc = encode_token(token, otp).unwrap();
        assert!(!enc.contains('='));
        assert_eq!(decode_token(&enc, otp).as_deref(), Some(token));
        assert_ne!(decode_token(&enc, "1123456789abcdefghijklmnopqr").as_deref(), Some(token));
        assert!(encode_token(token, "short").is_err());
        assert!(decode_token("!!", otp).is_none());
    }
}
