//! Batch helpers: Vault-shaped items in, per-item results out; one bad item never fails the
//! batch.

use coffer_transit::{
    DecryptItem, EncryptItem, HashAlgorithm, InputItem, Key, KeyOptions, KeyType, SignParams,
};
use serde_json::json;

fn items<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Vec<T> {
    serde_json::from_value(v).expect("batch items deserialise")
}

#[test]
fn encrypt_decrypt_batch_with_per_item_errors() {
    let opts = KeyOptions { derived: true, ..KeyOptions::new(KeyType::Aes256Gcm96) };
    let k = Key::create("k", opts).unwrap();
    let input: Vec<EncryptItem> = items(json!([
        {"plaintext": "aGVsbG8=", "context": "Y3R4", "reference": "a"},
        {"plaintext": "aGVsbG8=", "context": null, "reference": "b"},
        {"plaintext": "%%%", "context": "Y3R4"},
        {"plaintext": "d29ybGQ=", "context": "b3RoZXI=", "key_version": null, "nonce": null},
        {"plaintext": null, "context": "Y3R4"},
    ]));
    let out = k.encrypt_batch(&input);
    assert_eq!(out.len(), 5);
    assert_eq!(out[4].error.as_deref(), Some("missing plaintext"));
    assert!(out[0].ciphertext.is_some() && out[0].error.is_none());
    assert_eq!(out[0].reference.as_deref(), Some("a"));
    assert_eq!(out[0].key_version, Some(1));
    assert!(out[1].error.as_deref().unwrap().contains("missing 'context'"));
    assert_eq!(out[1].reference.as_deref(), Some("b"));
    assert_eq!(out[2].error.as_deref(), Some("failed to base64-decode plaintext"));
    assert!(out[3].ciphertext.is_some());

    let dec: Vec<DecryptItem> = items(json!([
        {"ciphertext": out[0].ciphertext, "context": "Y3R4", "reference": "a"},
        {"ciphertext": out[3].ciphertext, "context": "Y3R4"},
        {"ciphertext": "vault:v1:garbage", "context": "Y3R4"},
        {"ciphertext": out[3].ciphertext, "context": "b3RoZXI="},
    ]));
    let back = k.decrypt_batch(&dec);
    assert_eq!(back[0].plaintext.as_deref().map(|s| s.as_str()), Some("aGVsbG8="));
    assert_eq!(back[0].reference.as_deref(), Some("a"));
    assert_eq!(back[1].error.as_deref(), Some("cipher: message authentication failed"));
    assert!(back[2].error.is_some());
    assert_eq!(back[3].plaintext.as_deref().map(|s| s.as_str()), Some("d29ybGQ="));

    // Serialised results omit unset fields, like Vault.
    let v = serde_json::to_value(&back[0]).unwrap();
    assert_eq!(v, json!({"plaintext": "aGVsbG8=", "reference": "a"}));
}

#[test]
fn rewrap_batch_moves_to_latest() {
    let mut k = Key::create("k", KeyOptions::new(KeyType::ChaCha20Poly1305)).unwrap();
    let ct = k
        .encrypt_item(&EncryptItem { plaintext: Some("eA==".into()), ..Default::default() })
        .unwrap();
    k.rotate().unwrap();
    let out = k.rewrap_batch(&[
        DecryptItem { ciphertext: Some(ct.ciphertext.clone()), ..Default::default() },
        DecryptItem::default(),
    ]);
    assert_eq!(out[0].key_version, Some(2));
    assert!(out[0].ciphertext.as_deref().unwrap().starts_with("vault:v2:"));
    assert_eq!(out[1].error.as_deref(), Some("missing ciphertext"));
}

#[test]
fn hmac_and_sign_batches() {
    let k = Key::create("k", KeyOptions::new(KeyType::Ed25519)).unwrap();
    let input: Vec<InputItem> =
        items(json!([{"input": "YQ=="}, {"input": "Yg=="}, {"input": "?"}]));
    let macs = k.hmac_batch(&input, HashAlgorithm::Sha2_256, None);
    assert!(macs[0].hmac.is_some() && macs[1].hmac.is_some() && macs[2].error.is_some());
    let verify: Vec<InputItem> = items(json!([
        {"input": "YQ==", "hmac": macs[0].hmac},
        {"input": "YQ==", "hmac": macs[1].hmac},
        {"input": "YQ=="},
    ]));
    let v = k.verify_hmac_batch(&verify, HashAlgorithm::Sha2_256);
    assert_eq!((v[0].valid, v[1].valid), (Some(true), Some(false)));
    assert!(v[2].error.is_some());

    let sigs = k.sign_batch(&input, &SignParams::default());
    assert_eq!(sigs[0].key_version, Some(1));
    let verify: Vec<InputItem> = items(json!([
        {"input": "YQ==", "signature": sigs[0].signature},
        {"input": "YQ==", "signature": sigs[1].signature},
    ]));
    let v = k.verify_batch(&verify, &SignParams::default());
    assert_eq!((v[0].valid, v[1].valid), (Some(true), Some(false)));
}

#[test]
fn key_requests_deserialise_from_vault_json() {
    use coffer_transit::{CreateKeyRequest, KeyConfigUpdate, TransitError};
    type Expect = Result<(KeyType, bool, u64), TransitError>;
    let table: Vec<(serde_json::Value, Expect)> = vec![
        (json!({}), Ok((KeyType::Aes256Gcm96, false, 0))),
        (json!({"type": null, "derived": null}), Ok((KeyType::Aes256Gcm96, false, 0))),
        (json!({"type": "ed25519", "derived": true}), Ok((KeyType::Ed25519, true, 0))),
        (
            json!({"type": "ecdsa-p256", "auto_rotate_period": "24h"}),
            Ok((KeyType::EcdsaP256, false, 86_400)),
        ),
        (json!({"auto_rotate_period": 7200}), Ok((KeyType::Aes256Gcm96, false, 7200))),
        (json!({"type": "rot13"}), Err(TransitError::UnknownKeyType("rot13".into()))),
    ];
    for (body, expect) in table {
        let req: CreateKeyRequest = serde_json::from_value(body.clone()).unwrap();
        let got = req.options().map(|o| (o.key_type, o.derived, o.auto_rotate_period));
        assert_eq!(got, expect, "{body}");
    }
    assert!(
        serde_json::from_value::<CreateKeyRequest>(json!({"auto_rotate_period": "soon"})).is_err()
    );

    // Too-short rotation periods are refused at creation and in config.
    let req: CreateKeyRequest =
        serde_json::from_value(json!({"auto_rotate_period": "10m"})).unwrap();
    assert!(matches!(
        Key::create("k", req.options().unwrap()),
        Err(TransitError::InvalidConfig(_))
    ));
    let mut k = Key::create("k", KeyOptions::new(KeyType::Aes256Gcm96)).unwrap();
    let update: KeyConfigUpdate = serde_json::from_value(
        json!({"auto_rotate_period": "30m", "min_decryption_version": null}),
    )
    .unwrap();
    assert!(matches!(k.configure(&update), Err(TransitError::InvalidConfig(_))));
    let update: KeyConfigUpdate =
        serde_json::from_value(json!({"auto_rotate_period": "2h"})).unwrap();
    k.configure(&update).unwrap();
    assert_eq!(k.auto_rotate_period(), 7200);
}

#[test]
fn debug_output_redacts_plaintexts() {
    let k = Key::create("k", KeyOptions::new(KeyType::Aes256Gcm96)).unwrap();
    let item = EncryptItem { plaintext: Some("c2VjcmV0LXZhbHVl".into()), ..Default::default() };
    assert!(!format!("{item:?}").contains("c2VjcmV0LXZhbHVl"));
    let ct = k.encrypt_item(&item).unwrap();
    let out =
        k.decrypt_batch(&[DecryptItem { ciphertext: Some(ct.ciphertext), ..Default::default() }]);
    assert_eq!(out[0].plaintext.as_deref().map(|s| s.as_str()), Some("c2VjcmV0LXZhbHVl"));
    assert!(!format!("{:?}", out[0]).contains("c2VjcmV0LXZhbHVl"));
}
