//! Encrypt/decrypt/rewrap/datakey behaviour for every symmetric key type, including derived and
//! convergent keys, version policy, tampering and malformed input.

use coffer_transit::{
    DataKeyKind, DecryptParams, EncryptParams, Key, KeyConfigUpdate, KeyOptions, KeyType,
    TransitError,
};

const SYMMETRIC: [KeyType; 2] = [KeyType::Aes256Gcm96, KeyType::ChaCha20Poly1305];

fn key(kt: KeyType) -> Key {
    Key::create("k", KeyOptions::new(kt)).expect("key creation")
}

fn derived(kt: KeyType, convergent: bool) -> Key {
    let opts =
        KeyOptions { derived: true, convergent_encryption: convergent, ..KeyOptions::new(kt) };
    Key::create("k", opts).expect("key creation")
}

fn enc(k: &Key, pt: &[u8], ctx: Option<&[u8]>) -> String {
    k.encrypt(pt, &EncryptParams { context: ctx, ..Default::default() })
        .expect("encrypt")
        .ciphertext
}

fn dec(k: &Key, ct: &str, ctx: Option<&[u8]>) -> Result<Vec<u8>, TransitError> {
    k.decrypt(ct, &DecryptParams { context: ctx, associated_data: None }).map(|p| p.to_vec())
}

#[test]
fn round_trip_every_type_and_size() {
    for kt in SYMMETRIC {
        let k = key(kt);
        for pt in [&b""[..], b"x", b"hello world", &[0u8; 4096]] {
            let ct = enc(&k, pt, None);
            assert!(ct.starts_with("vault:v1:"), "{ct}");
            assert_eq!(dec(&k, &ct, None).unwrap(), pt, "{kt}");
            // Random nonces: same plaintext, different ciphertext.
            assert_ne!(enc(&k, pt, None), ct);
        }
    }
}

#[test]
fn associated_data_is_authenticated() {
    for kt in SYMMETRIC {
        let k = key(kt);
        let p = EncryptParams { associated_data: Some(b"aad"), ..Default::default() };
        let ct = k.encrypt(b"secret", &p).unwrap().ciphertext;
        let ok = k.decrypt(&ct, &DecryptParams { context: None, associated_data: Some(b"aad") });
        assert_eq!(ok.unwrap().as_slice(), b"secret");
        let bad = k.decrypt(&ct, &DecryptParams { context: None, associated_data: Some(b"other") });
        assert_eq!(bad.unwrap_err(), TransitError::DecryptionFailed);
        assert_eq!(dec(&k, &ct, None).unwrap_err(), TransitError::DecryptionFailed);
    }
}

#[test]
fn tampering_is_detected() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    for kt in SYMMETRIC {
        let k = key(kt);
        let ct = enc(&k, b"attack at dawn", None);
        let raw = b64.decode(ct.strip_prefix("vault:v1:").unwrap()).unwrap();
        for i in [0, 11, 12, raw.len() - 17, raw.len() - 1] {
            let mut t = raw.clone();
            t[i] ^= 0x01;
            let tampered = format!("vault:v1:{}", b64.encode(&t));
            assert_eq!(
                dec(&k, &tampered, None).unwrap_err(),
                TransitError::DecryptionFailed,
                "byte {i}"
            );
        }
        // Truncation and another key's ciphertext fail too.
        let truncated = format!("vault:v1:{}", b64.encode(&raw[..raw.len() - 1]));
        assert_eq!(dec(&k, &truncated, None).unwrap_err(), TransitError::DecryptionFailed);
        let other = key(kt);
        assert_eq!(dec(&other, &ct, None).unwrap_err(), TransitError::DecryptionFailed);
    }
}

#[test]
fn derived_keys_need_the_right_context() {
    for kt in SYMMETRIC {
        let k = derived(kt, false);
        assert_eq!(
            k.encrypt(b"x", &EncryptParams::default()).unwrap_err(),
            TransitError::MissingContext
        );
        let ct = enc(&k, b"payload", Some(b"tenant-a"));
        assert_eq!(dec(&k, &ct, Some(b"tenant-a")).unwrap(), b"payload");
        assert_eq!(dec(&k, &ct, Some(b"tenant-b")).unwrap_err(), TransitError::DecryptionFailed);
        assert_eq!(dec(&k, &ct, None).unwrap_err(), TransitError::MissingContext);
        assert_eq!(dec(&k, &ct, Some(b"")).unwrap_err(), TransitError::MissingContext);
    }
    // Context on a non-derived key is ignored, as in Vault.
    let k = key(KeyType::Aes256Gcm96);
    let ct = enc(&k, b"p", Some(b"ignored"));
    assert_eq!(dec(&k, &ct, None).unwrap(), b"p");
}

#[test]
fn convergent_encryption_is_deterministic_per_context() {
    for kt in SYMMETRIC {
        let k = derived(kt, true);
        let a1 = enc(&k, b"same", Some(b"ctx1"));
        let a2 = enc(&k, b"same", Some(b"ctx1"));
        let b = enc(&k, b"same", Some(b"ctx2"));
        let c = enc(&k, b"different", Some(b"ctx1"));
        assert_eq!(a1, a2, "{kt}");
        assert_ne!(a1, b);
        assert_ne!(a1, c);
        assert_eq!(dec(&k, &a1, Some(b"ctx1")).unwrap(), b"same");
        // A supplied nonce is accepted and ignored (derived instead), like Vault's v3 keys.
        let with_nonce = k
            .encrypt(
                b"same",
                &EncryptParams {
                    context: Some(b"ctx1"),
                    nonce: Some(&[7u8; 12]),
                    ..Default::default()
                },
            )
            .unwrap()
            .ciphertext;
        assert_eq!(with_nonce, a1);
    }
    // Non-convergent keys refuse a nonce.
    let k = key(KeyType::Aes256Gcm96);
    let err = k.encrypt(b"x", &EncryptParams { nonce: Some(&[0u8; 12]), ..Default::default() });
    assert!(matches!(err, Err(TransitError::InvalidNonce(_))));
}

#[test]
fn invalid_key_options_are_refused() {
    for (opts, expect) in [
        (
            KeyOptions { convergent_encryption: true, ..KeyOptions::new(KeyType::Aes256Gcm96) },
            TransitError::ConvergentNotSupported,
        ),
        (
            KeyOptions { derived: true, ..KeyOptions::new(KeyType::EcdsaP256) },
            TransitError::DerivationNotSupported(KeyType::EcdsaP256),
        ),
        (
            KeyOptions {
                derived: true,
                convergent_encryption: true,
                ..KeyOptions::new(KeyType::Ed25519)
            },
            TransitError::ConvergentNotSupported,
        ),
    ] {
        assert_eq!(Key::create("k", opts).unwrap_err(), expect, "{opts:?}");
    }
}

#[test]
fn rotation_and_min_decryption_version() {
    for kt in SYMMETRIC {
        let mut k = key(kt);
        let v1 = enc(&k, b"one", None);
        assert_eq!(k.rotate().unwrap(), 2);
        assert_eq!(k.rotate().unwrap(), 3);
        let v3 = enc(&k, b"three", None);
        assert!(v3.starts_with("vault:v3:"));
        assert_eq!(dec(&k, &v1, None).unwrap(), b"one");
        // Encrypt with an explicit older version.
        let v2 = k
            .encrypt(b"two", &EncryptParams { key_version: Some(2), ..Default::default() })
            .unwrap();
        assert_eq!((v2.key_version, v2.ciphertext.starts_with("vault:v2:")), (2, true));

        k.configure(&KeyConfigUpdate { min_decryption_version: Some(2), ..Default::default() })
            .unwrap();
        assert_eq!(dec(&k, &v1, None).unwrap_err(), TransitError::VersionTooOld);
        assert_eq!(dec(&k, &v2.ciphertext, None).unwrap(), b"two");

        // Rewrap moves a v2 ciphertext to the latest version without exposing it.
        let rewrapped = k.rewrap(&v2.ciphertext, None, None).unwrap();
        assert_eq!(rewrapped.key_version, 3);
        assert_eq!(dec(&k, &rewrapped.ciphertext, None).unwrap(), b"two");
        assert_eq!(k.rewrap(&v1, None, None).unwrap_err(), TransitError::VersionTooOld);

        // min_encryption_version bounds explicit versions.
        k.configure(&KeyConfigUpdate { min_encryption_version: Some(3), ..Default::default() })
            .unwrap();
        let err = k.encrypt(b"x", &EncryptParams { key_version: Some(2), ..Default::default() });
        assert_eq!(err.unwrap_err(), TransitError::BelowMinEncryptionVersion);
        let err = k.encrypt(b"x", &EncryptParams { key_version: Some(4), ..Default::default() });
        assert_eq!(err.unwrap_err(), TransitError::VersionTooNew { requested: 4, latest: 3 });
        assert_eq!(
            k.encrypt(b"x", &EncryptParams { key_version: Some(0), ..Default::default() })
                .unwrap()
                .key_version,
            3
        );
    }
}

#[test]
fn configure_validation() {
    let mut k = key(KeyType::Aes256Gcm96);
    k.rotate().unwrap();
    let table: Vec<(KeyConfigUpdate, bool)> = vec![
        (KeyConfigUpdate { min_decryption_version: Some(3), ..Default::default() }, false),
        (KeyConfigUpdate { min_encryption_version: Some(3), ..Default::default() }, false),
        (KeyConfigUpdate { min_decryption_version: Some(0), ..Default::default() }, true),
        (
            KeyConfigUpdate {
                min_decryption_version: Some(2),
                min_encryption_version: Some(1),
                ..Default::default()
            },
            false,
        ),
        (
            KeyConfigUpdate {
                min_decryption_version: Some(2),
                min_encryption_version: Some(2),
                ..Default::default()
            },
            true,
        ),
        (
            KeyConfigUpdate {
                exportable: Some(true),
                deletion_allowed: Some(true),
                ..Default::default()
            },
            true,
        ),
        (KeyConfigUpdate { exportable: Some(false), ..Default::default() }, false),
    ];
    for (update, ok) in table {
        let before = format!("{:?}", k.info());
        let res = k.configure(&update);
        assert_eq!(res.is_ok(), ok, "{update:?}: {res:?}");
        if !ok {
            assert_eq!(format!("{:?}", k.info()), before, "failed update must not change the key");
        }
    }
    assert_eq!(k.min_decryption_version(), 2);
    assert!(k.exportable() && k.deletion_allowed());
}

#[test]
fn malformed_ciphertexts_never_panic() {
    let mut k = key(KeyType::Aes256Gcm96);
    k.rotate().unwrap();
    let table: Vec<(&str, TransitError)> = vec![
        ("", TransitError::InvalidCiphertext("no prefix")),
        ("garbage", TransitError::InvalidCiphertext("no prefix")),
        ("vault:v1", TransitError::InvalidCiphertext("wrong number of fields")),
        ("vault:vx:AAAA", TransitError::InvalidCiphertext("invalid version")),
        ("vault:v0:AAAA", TransitError::InvalidVersion(0)),
        ("vault:v3:AAAA", TransitError::VersionTooNew { requested: 3, latest: 2 }),
        ("vault:v1:!!!not-base64", TransitError::InvalidBase64("ciphertext")),
        ("vault:v1:", TransitError::InvalidCiphertext("too short")),
        ("vault:v1:AAAA", TransitError::InvalidCiphertext("too short")),
        ("vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", TransitError::DecryptionFailed),
    ];
    for (input, expect) in table {
        assert_eq!(dec(&k, input, None).unwrap_err(), expect, "{input:?}");
    }
}

#[test]
fn wrong_key_type_for_operation() {
    for kt in [KeyType::Ed25519, KeyType::EcdsaP256] {
        let k = key(kt);
        let expect = TransitError::UnsupportedOperation { key_type: kt, operation: "encryption" };
        assert_eq!(k.encrypt(b"x", &EncryptParams::default()).unwrap_err(), expect);
        assert_eq!(dec(&k, "vault:v1:AAAA", None).unwrap_err(), expect);
        assert_eq!(
            k.datakey(DataKeyKind::Plaintext, 256, &EncryptParams::default()).unwrap_err(),
            expect
        );
    }
}

#[test]
fn datakeys_unwrap_with_the_key() {
    for kt in SYMMETRIC {
        let k = key(kt);
        for bits in [128u32, 256, 512] {
            let dk = k.datakey(DataKeyKind::Plaintext, bits, &EncryptParams::default()).unwrap();
            let plain = dk.plaintext.clone().unwrap();
            assert_eq!(plain.len() as u32 * 8, bits);
            assert_eq!(dec(&k, &dk.ciphertext, None).unwrap(), plain.as_slice());
            assert!(!format!("{dk:?}").contains(&format!("{:?}", plain.as_slice())));
        }
        let wrapped = k.datakey(DataKeyKind::Wrapped, 256, &EncryptParams::default()).unwrap();
        assert!(wrapped.plaintext.is_none());
        assert_eq!(dec(&k, &wrapped.ciphertext, None).unwrap().len(), 32);
        assert_eq!(
            k.datakey(DataKeyKind::Wrapped, 64, &EncryptParams::default()).unwrap_err(),
            TransitError::InvalidBits(64)
        );
    }
}

#[test]
fn persisted_key_still_decrypts() {
    for kt in SYMMETRIC {
        let mut k = derived(kt, true);
        k.rotate().unwrap();
        let ct = enc(&k, b"durable", Some(b"c"));
        let json = serde_json::to_string(&k).unwrap();
        let back: Key = serde_json::from_str(&json).unwrap();
        assert_eq!(dec(&back, &ct, Some(b"c")).unwrap(), b"durable");
        // Convergence survives the round trip.
        assert_eq!(enc(&back, b"durable", Some(b"c")), ct);
        assert_eq!(back.latest_version(), 2);
    }
    // Debug output never contains key material.
    let k = key(KeyType::Aes256Gcm96);
    let json = serde_json::to_value(&k).unwrap();
    let secret = json["versions"]["1"]["key"].as_str().unwrap().to_owned();
    assert!(!format!("{k:?}").contains(&secret));
}

#[test]
fn trim_removes_old_versions_within_policy() {
    let mut k = key(KeyType::Aes256Gcm96);
    let v1 = enc(&k, b"old", None);
    k.rotate().unwrap();
    k.rotate().unwrap();
    for (min_available, ok) in [(0, false), (2, false)] {
        assert_eq!(k.trim(min_available).is_ok(), ok, "{min_available}");
    }
    k.configure(&KeyConfigUpdate {
        min_decryption_version: Some(3),
        min_encryption_version: Some(3),
        ..Default::default()
    })
    .unwrap();
    k.trim(2).unwrap();
    assert_eq!(k.min_available_version(), 2);
    assert!(k.trim(1).is_err(), "cannot decrement");
    assert!(k.trim(4).is_err(), "cannot pass min_decryption_version");
    assert_eq!(k.info().keys.keys().collect::<Vec<_>>(), ["2", "3"]);
    // Even if policy were relaxed, trimmed material is gone.
    k.configure(&KeyConfigUpdate {
        min_decryption_version: Some(1),
        min_encryption_version: Some(0),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(dec(&k, &v1, None).unwrap_err(), TransitError::InvalidVersion(1));
}

#[test]
fn keys_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Key>();
    let k = std::sync::Arc::new(key(KeyType::Aes256Gcm96));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let k = k.clone();
            std::thread::spawn(move || {
                let msg = format!("thread {i}");
                let ct = enc(&k, msg.as_bytes(), None);
                dec(&k, &ct, None).unwrap() == msg.as_bytes()
            })
        })
        .collect();
    assert!(handles.into_iter().all(|h| h.join().unwrap()));
}
