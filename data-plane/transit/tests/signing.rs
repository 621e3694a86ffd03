//! HMAC, signing/verification, public keys, export and the read-key view.

use coffer_transit::{
    ExportKind, HashAlgorithm, Key, KeyConfigUpdate, KeyOptions, KeyType, Marshaling, SignParams,
    TransitError, VersionInfo,
};

const ALL: [KeyType; 4] =
    [KeyType::Aes256Gcm96, KeyType::ChaCha20Poly1305, KeyType::Ed25519, KeyType::EcdsaP256];

fn key(kt: KeyType) -> Key {
    Key::create("k", KeyOptions::new(kt)).expect("key creation")
}

#[test]
fn hmac_round_trip_for_every_type_and_algorithm() {
    for kt in ALL {
        let k = key(kt);
        for (alg, mac_len) in [
            (HashAlgorithm::Sha2_224, 28),
            (HashAlgorithm::Sha2_256, 32),
            (HashAlgorithm::Sha2_384, 48),
            (HashAlgorithm::Sha2_512, 64),
        ] {
            let mac = k.hmac(b"message", alg, None).unwrap();
            assert!(mac.starts_with("vault:v1:"));
            use base64::Engine;
            let raw = base64::engine::general_purpose::STANDARD.decode(&mac[9..]).unwrap();
            assert_eq!(raw.len(), mac_len);
            // Deterministic, verifies, and rejects other messages or algorithms.
            assert_eq!(k.hmac(b"message", alg, None).unwrap(), mac);
            assert!(k.verify_hmac(b"message", &mac, alg).unwrap());
            assert!(!k.verify_hmac(b"massage", &mac, alg).unwrap());
        }
        let mac256 = k.hmac(b"m", HashAlgorithm::Sha2_256, None).unwrap();
        assert!(!k.verify_hmac(b"m", &mac256, HashAlgorithm::Sha2_512).unwrap());
    }
}

#[test]
fn hmac_versions_and_malformed_input() {
    let mut k = key(KeyType::Aes256Gcm96);
    let v1 = k.hmac(b"m", HashAlgorithm::default(), None).unwrap();
    k.rotate().unwrap();
    let v2 = k.hmac(b"m", HashAlgorithm::default(), None).unwrap();
    assert!(v2.starts_with("vault:v2:"));
    assert_ne!(v1[9..], v2[9..]);
    assert!(k.verify_hmac(b"m", &v1, HashAlgorithm::default()).unwrap());
    k.configure(&KeyConfigUpdate { min_decryption_version: Some(2), ..Default::default() })
        .unwrap();
    assert_eq!(
        k.verify_hmac(b"m", &v1, HashAlgorithm::default()).unwrap_err(),
        TransitError::VersionTooOld
    );
    for (mac, expect) in [
        ("nope", TransitError::InvalidHmac("no prefix")),
        ("vault:v9:AAAA", TransitError::VersionTooNew { requested: 9, latest: 2 }),
        ("vault:v2:***", TransitError::InvalidBase64("hmac")),
    ] {
        assert_eq!(
            k.verify_hmac(b"m", mac, HashAlgorithm::default()).unwrap_err(),
            expect,
            "{mac}"
        );
    }
    assert!(!k.verify_hmac(b"m", "vault:v2:AAAA", HashAlgorithm::default()).unwrap());
    assert_eq!(
        HashAlgorithm::parse("md5").unwrap_err(),
        TransitError::UnsupportedHash("md5".into())
    );
    assert_eq!(HashAlgorithm::parse("").unwrap(), HashAlgorithm::Sha2_256);
}

#[test]
fn sign_verify_table() {
    let params = [
        SignParams::default(),
        SignParams { marshaling: Marshaling::Jws, ..Default::default() },
        SignParams { hash_algorithm: HashAlgorithm::Sha2_512, ..Default::default() },
        SignParams {
            hash_algorithm: HashAlgorithm::Sha2_384,
            marshaling: Marshaling::Jws,
            ..Default::default()
        },
    ];
    for kt in [KeyType::Ed25519, KeyType::EcdsaP256] {
        let k = key(kt);
        for p in &params {
            let sig = k.sign(b"the message", p).unwrap();
            assert!(sig.starts_with("vault:v1:"), "{sig}");
            assert!(k.verify(b"the message", &sig, p).unwrap(), "{kt} {p:?}");
            assert!(!k.verify(b"another message", &sig, p).unwrap(), "{kt} {p:?}");
            let other = key(kt);
            assert!(!other.verify(b"the message", &sig, p).unwrap());
        }
    }
    // JWS signatures for P-256 are 64 raw bytes in unpadded base64url.
    let k = key(KeyType::EcdsaP256);
    let sig = k.sign(b"m", &params[1]).unwrap();
    assert_eq!(sig.len() - "vault:v1:".len(), 86);
    assert!(!sig.contains('=') && !sig[9..].contains('+') && !sig[9..].contains('/'));
}

#[test]
fn ecdsa_prehashed_matches_hashing_ourselves() {
    use sha2::Digest;
    let k = key(KeyType::EcdsaP256);
    let digest = sha2::Sha256::digest(b"payload");
    let pre = SignParams { prehashed: true, ..Default::default() };
    let sig = k.sign(&digest, &pre).unwrap();
    // A prehashed signature verifies as a normal signature over the original message.
    assert!(k.verify(b"payload", &sig, &SignParams::default()).unwrap());
    assert!(k.verify(&digest, &sig, &pre).unwrap());
    // Too-short prehash input is an error, not a panic.
    assert!(matches!(k.sign(b"short", &pre), Err(TransitError::InvalidSignature(_))));
    let ed = key(KeyType::Ed25519);
    assert!(matches!(ed.sign(b"x", &pre), Err(TransitError::UnsupportedOperation { .. })));
}

#[test]
fn derived_ed25519_signs_per_context() {
    let opts = KeyOptions { derived: true, ..KeyOptions::new(KeyType::Ed25519) };
    let k = Key::create("k", opts).unwrap();
    assert_eq!(k.sign(b"m", &SignParams::default()).unwrap_err(), TransitError::MissingContext);
    let a = SignParams { context: Some(b"a"), ..Default::default() };
    let b = SignParams { context: Some(b"b"), ..Default::default() };
    let sig = k.sign(b"m", &a).unwrap();
    assert!(k.verify(b"m", &sig, &a).unwrap());
    assert!(!k.verify(b"m", &sig, &b).unwrap());
    assert_eq!(k.public_key(None).unwrap_err(), TransitError::MissingContext);
}

#[test]
fn malformed_signatures_never_panic() {
    for kt in [KeyType::Ed25519, KeyType::EcdsaP256] {
        let k = key(kt);
        let p = SignParams::default();
        for sig in [
            "",
            "vault:v1",
            "vault:v0:AAAA",
            "vault:v2:AAAA",
            "vault:v1:%%%",
            "vault:v1:AAAA",
            "vault:v1:",
        ] {
            assert!(k.verify(b"m", sig, &p).is_err(), "{kt} {sig:?}");
        }
    }
    let k = key(KeyType::Aes256Gcm96);
    assert_eq!(
        k.sign(b"m", &SignParams::default()).unwrap_err(),
        TransitError::UnsupportedOperation { key_type: KeyType::Aes256Gcm96, operation: "signing" }
    );
    assert_eq!(
        Marshaling::parse("der").unwrap_err(),
        TransitError::UnsupportedMarshaling("der".into())
    );
}

#[test]
fn rotation_keeps_old_signatures_verifiable() {
    let mut k = key(KeyType::EcdsaP256);
    let p = SignParams::default();
    let s1 = k.sign(b"m", &p).unwrap();
    k.rotate().unwrap();
    let s2 = k.sign(b"m", &p).unwrap();
    assert!(s2.starts_with("vault:v2:"));
    assert!(k.verify(b"m", &s1, &p).unwrap());
    assert_ne!(k.public_key(Some(1)).unwrap(), k.public_key(Some(2)).unwrap());
    k.configure(&KeyConfigUpdate { min_decryption_version: Some(2), ..Default::default() })
        .unwrap();
    assert_eq!(k.verify(b"m", &s1, &p).unwrap_err(), TransitError::VersionTooOld);
}

#[test]
fn public_keys_and_export() {
    let ed = key(KeyType::Ed25519);
    let pk = ed.public_key(None).unwrap();
    use base64::Engine;
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(&pk).unwrap().len(), 32);
    let p256 = key(KeyType::EcdsaP256);
    assert!(p256.public_key(None).unwrap().starts_with("-----BEGIN PUBLIC KEY-----"));
    // Public keys are always exportable; private material needs `exportable`.
    assert_eq!(p256.export(ExportKind::PublicKey, None).unwrap().len(), 1);
    assert_eq!(p256.export(ExportKind::SigningKey, None).unwrap_err(), TransitError::NotExportable);

    for (kt, kind, check) in [
        (KeyType::Aes256Gcm96, ExportKind::EncryptionKey, "b64:32"),
        (KeyType::ChaCha20Poly1305, ExportKind::EncryptionKey, "b64:32"),
        (KeyType::Aes256Gcm96, ExportKind::HmacKey, "b64:32"),
        (KeyType::Ed25519, ExportKind::SigningKey, "b64:64"),
        (KeyType::EcdsaP256, ExportKind::SigningKey, "-----BEGIN EC PRIVATE KEY-----"),
    ] {
        let mut k =
            Key::create("k", KeyOptions { exportable: true, ..KeyOptions::new(kt) }).unwrap();
        k.rotate().unwrap();
        let all = k.export(kind, None).unwrap();
        assert_eq!(all.keys().copied().collect::<Vec<_>>(), [1, 2]);
        let one = k.export(kind, Some(2)).unwrap();
        let text = one[&2].as_str();
        match check.strip_prefix("b64:") {
            Some(len) => assert_eq!(
                base64::engine::general_purpose::STANDARD.decode(text).unwrap().len(),
                len.parse::<usize>().unwrap()
            ),
            None => assert!(text.starts_with(check), "{text}"),
        }
        assert_eq!(k.export(kind, Some(3)).unwrap_err(), TransitError::InvalidVersion(3));
    }
    let aes =
        Key::create("k", KeyOptions { exportable: true, ..KeyOptions::new(KeyType::Aes256Gcm96) })
            .unwrap();
    assert_eq!(
        aes.export(ExportKind::SigningKey, None).unwrap_err(),
        TransitError::InvalidExportType("signing-key", KeyType::Aes256Gcm96)
    );
    assert_eq!(ExportKind::parse("hmac-key"), Some(ExportKind::HmacKey));
    assert_eq!(ExportKind::parse("nope"), None);
}

#[test]
fn info_matches_vault_shape() {
    let mut k = key(KeyType::Aes256Gcm96);
    k.rotate().unwrap();
    let info = serde_json::to_value(k.info()).unwrap();
    assert_eq!(info["type"], "aes256-gcm96");
    assert_eq!(info["latest_version"], 2);
    assert_eq!(info["min_decryption_version"], 1);
    assert_eq!(info["supports_encryption"], true);
    assert_eq!(info["supports_signing"], false);
    assert!(info["keys"]["1"].is_u64() && info["keys"]["2"].is_u64());
    assert!(info.get("kdf").is_none());

    let ed = key(KeyType::Ed25519);
    let info = ed.info();
    match &info.keys["1"] {
        VersionInfo::Asymmetric { creation_time, name, public_key } => {
            assert!(creation_time.ends_with('Z') && creation_time.len() == 20, "{creation_time}");
            assert_eq!(*name, "ed25519");
            assert_eq!(public_key, &ed.public_key(None).unwrap());
        }
        other => panic!("unexpected {other:?}"),
    }
    // No secret material in the view.
    let json = serde_json::to_string(&key(KeyType::ChaCha20Poly1305)).unwrap();
    let secret: serde_json::Value = serde_json::from_str(&json).unwrap();
    let material = secret["versions"]["1"]["key"].as_str().unwrap().to_owned();
    let view = serde_json::to_string(&key(KeyType::ChaCha20Poly1305).info()).unwrap();
    assert!(!view.contains(&material));
}

#[test]
fn key_type_names() {
    for kt in ALL {
        assert_eq!(kt.as_str().parse::<KeyType>().unwrap(), kt);
        assert_eq!(serde_json::to_value(kt).unwrap(), kt.as_str());
    }
    assert_eq!(
        "rsa-2048".parse::<KeyType>().unwrap_err(),
        TransitError::UnknownKeyType("rsa-2048".into())
    );
}
