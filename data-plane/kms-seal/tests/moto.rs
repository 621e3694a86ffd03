//! `KmsSeal` against a real KMS API: moto's server.
//!
//! Uses `COFFER_TEST_MOTO_URL` when set (`./dev test` provides it); otherwise starts its own
//! `moto_server` on a free port if one can be found. Skips, loudly, only when neither exists.

use coffer_barrier::RootKey;
use coffer_kms_seal::{KmsSeal, KmsSealConfig, KmsSealError, Purpose};
use coffer_test_support::net::free_port;
use secrecy::SecretString;

/// The moto endpoint, or `None` (said loudly) when there is none to use.
async fn moto() -> Option<String> {
    let url = coffer_test_support::moto::try_url().await;
    if url.is_none() {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! SKIPPING coffer-kms-seal moto tests: COFFER_TEST_MOTO_URL is unset and  !!!\n\
             !!! no moto_server binary was found (run ./dev test, or install moto).     !!!\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
    }
    url
}

fn config(moto: &str, key_id: &str) -> KmsSealConfig {
    let mut cfg = KmsSealConfig::new("us-east-1", key_id);
    cfg.endpoint = Some(moto.to_owned());
    // moto accepts any credentials; explicit ones keep the test independent of the environment.
    cfg.access_key = Some("test".into());
    cfg.secret_key = Some(SecretString::from("test"));
    cfg
}

async fn create_key(moto: &str) -> String {
    let admin = config(moto, "unused").client().await.expect("kms client");
    let out =
        admin.create_key().description("coffer-kms-seal test").send().await.expect("CreateKey");
    out.key_metadata.expect("CreateKey metadata").key_id
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[tokio::test]
async fn root_key_round_trip_and_bindings() {
    let Some(moto) = moto().await else { return };
    let key_a = create_key(&moto).await;
    let key_b = create_key(&moto).await;
    let seal_a = KmsSeal::new(config(&moto, &key_a)).await.unwrap();
    let seal_b = KmsSeal::new(config(&moto, &key_b)).await.unwrap();
    assert_eq!(seal_a.key_id(), key_a);

    let root = RootKey::generate();
    let blob = seal_a.wrap(&root).await.unwrap();
    assert_eq!(blob[0], 1, "format byte");
    assert!(!blob.windows(32).any(|w| w == root.expose()), "root key in the clear");
    let back = seal_a.unwrap(&blob).await.unwrap();
    assert_eq!(back.expose(), root.expose());

    // A second seal object for the same key (a restarted server) unwraps it too.
    let restarted = KmsSeal::new(config(&moto, &key_a)).await.unwrap();
    assert_eq!(restarted.unwrap(&blob).await.unwrap().expose(), root.expose());

    // Another key cannot unwrap it.
    let err = seal_b.unwrap(&blob).await.unwrap_err();
    assert!(matches!(err, KmsSealError::Kms { operation: "Decrypt", .. }), "{err:?}");

    // The purpose is bound: a recovery-key blob is not a root-key blob and vice versa.
    let recovery = b"recovery key bytes: 32 of them!!";
    let rblob = seal_a.wrap_bytes(Purpose::RecoveryKey, recovery).await.unwrap();
    let rback = seal_a.unwrap_bytes(Purpose::RecoveryKey, &rblob).await.unwrap();
    assert_eq!(rback.as_slice(), recovery);
    let err = seal_a.unwrap(&rblob).await.unwrap_err();
    assert!(matches!(err, KmsSealError::Kms { .. }), "recovery blob unwrapped as root: {err:?}");
    let err = seal_a.unwrap_bytes(Purpose::RecoveryKey, &blob).await.unwrap_err();
    assert!(matches!(err, KmsSealError::Kms { .. }), "root blob unwrapped as recovery: {err:?}");

    // Tampering with the KMS ciphertext is detected by KMS.
    let mut tampered = blob.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 0x01;
    assert!(seal_a.unwrap(&tampered).await.is_err(), "tampered blob accepted");

    // Blobs that are not ours are rejected before any call.
    for bad in [&[][..], &[1][..], &[2, 1, 2, 3][..], &[0, 9, 9][..]] {
        let err = seal_a.unwrap(bad).await.unwrap_err();
        assert!(matches!(err, KmsSealError::BadBlob), "{bad:?}: {err:?}");
    }

    // Wrapped material of the wrong size is not accepted as a root key.
    let short = seal_a.wrap_bytes(Purpose::RootKey, &[7u8; 16]).await.unwrap();
    let err = seal_a.unwrap(&short).await.unwrap_err();
    assert!(matches!(err, KmsSealError::BadRootKey(_)), "{err:?}");
}

#[tokio::test]
async fn aliases_and_unknown_keys() {
    let Some(moto) = moto().await else { return };
    let key = create_key(&moto).await;
    let admin = config(&moto, &key).client().await.unwrap();

    // An alias works as the configured key id.
    let alias = unique("alias/coffer-test");
    admin.create_alias().alias_name(&alias).target_key_id(&key).send().await.unwrap();
    let by_alias = KmsSeal::new(config(&moto, &alias)).await.unwrap();
    let root = RootKey::generate();
    let blob = by_alias.wrap(&root).await.unwrap();
    let by_id = KmsSeal::new(config(&moto, &key)).await.unwrap();
    assert_eq!(by_id.unwrap(&blob).await.unwrap().expose(), root.expose());

    // (moto 5.2.5 does not refuse Decrypt under a disabled key, so that gate is not asserted.)

    // An unknown key is reported with KMS's error code.
    let missing = KmsSeal::new(config(&moto, &unique("alias/missing"))).await.unwrap();
    let err = missing.wrap(&root).await.unwrap_err();
    assert_eq!(err.code(), Some("NotFoundException"), "{err:?}");
    assert!(!err.to_string().contains(&format!("{:?}", root.expose())));
}

#[tokio::test]
async fn unreachable_endpoint_fails_cleanly() {
    let port = free_port();
    let mut cfg = KmsSealConfig::new("us-east-1", "alias/anything");
    cfg.endpoint = Some(format!("http://127.0.0.1:{port}"));
    cfg.access_key = Some("test".into());
    cfg.secret_key = Some(SecretString::from("test"));
    let seal = KmsSeal::new(cfg).await.unwrap();
    let err = seal.wrap(&RootKey::generate()).await.unwrap_err();
    assert!(matches!(err, KmsSealError::Kms { operation: "Encrypt", code: None, .. }), "{err:?}");
}

#[tokio::test]
async fn invalid_config_is_rejected_before_any_call() {
    let err = KmsSeal::new(KmsSealConfig::new("", "k")).await.unwrap_err();
    assert!(matches!(err, KmsSealError::Config("region is empty")), "{err:?}");
}
