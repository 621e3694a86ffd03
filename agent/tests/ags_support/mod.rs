//! A provisioned node plus S3 buckets in moto, for the snapshot and audit-shipping tests.
//!
//! Builds on `support` (moto, the real `coffer-server`, the agent's `Node`). The node is
//! provisioned exactly as in production, so the tests run with the real agent token and policy;
//! a root token is regenerated from the KMS-held recovery shares (the break-glass path) to play
//! the customer writing secrets.
#![allow(dead_code)]

use base64::Engine as _;
use coffer_agent::provision::{self, StatePaths};
use coffer_agent::run::Node;
use coffer_agent::AgentConfig;
use coffer_node_api::BootstrapDocument;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::support;

pub struct Cluster {
    pub node: Node,
    pub doc: BootstrapDocument,
    pub cfg: AgentConfig,
    /// The agent's own token, as provisioned.
    pub agent_token: SecretString,
    /// A root token regenerated from the recovery shares.
    pub root: String,
    /// An S3 client on moto (the agent's own construction).
    pub s3: aws_sdk_s3::Client,
    /// A bucket in the same account that is not this cluster's.
    pub other_bucket: String,
    http: reqwest::Client,
    // Dropped last: the server's files and moto outlive the node.
    pub dir: tempfile::TempDir,
    pub moto: support::Moto,
}

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

impl Cluster {
    /// moto + key + buckets (versioned, so overwrites are observable) + a provisioned node.
    pub async fn start() -> Cluster {
        let moto = support::moto().await;
        let key = support::create_key(&moto).await;
        let dir = tempfile::tempdir().unwrap();
        let mut doc = support::document(&key, "http://127.0.0.1:9", None); // tidy: not-a-port
        let id = short_id();
        doc.snapshot_bucket = format!("coffer-snap-{id}");
        doc.audit_bucket = format!("coffer-audit-{id}");
        let other_bucket = format!("coffer-other-{id}");
        let cfg = support::config(dir.path(), &moto, &doc);
        let s3 =
            coffer_agent::s3::client(&doc.region, Some(&moto.url), Some(&support::credentials()))
                .await;
        for b in [&doc.snapshot_bucket, &doc.audit_bucket, &other_bucket] {
            s3.create_bucket().bucket(b).send().await.expect("CreateBucket");
            s3.put_bucket_versioning()
                .bucket(b)
                .versioning_configuration(
                    aws_sdk_s3::types::VersioningConfiguration::builder()
                        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .expect("PutBucketVersioning");
        }
        let node = Node::start(&cfg).await.expect("server starts");
        node.provision().await.expect("provision");
        let paths = StatePaths::new(&node.layout);
        let agent_token = SecretString::from(std::fs::read_to_string(&paths.agent_token).unwrap());
        let mut c = Cluster {
            node,
            doc,
            cfg,
            agent_token,
            root: String::new(),
            s3,
            other_bucket,
            http: reqwest::Client::new(),
            dir,
            moto,
        };
        let shares = provision::recovery_shares(&c.node.seal, &c.node.layout).await.unwrap();
        c.root = c.generate_root(&shares[..usize::from(provision::RECOVERY_THRESHOLD)]).await;
        c
    }

    pub fn addr(&self) -> String {
        format!("http://{}", self.cfg.listen)
    }

    /// One raw Vault API call: (status, body or Null).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req =
            self.http.request(method.parse().unwrap(), format!("{}/v1/{path}", self.addr()));
        if let Some(t) = token {
            req = req.header("X-Vault-Token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Mints a root token from `shares` through generate-root's OTP flow.
    async fn generate_root(&self, shares: &[String]) -> String {
        let (st, started) =
            self.call("PUT", "sys/generate-root/attempt", None, Some(json!({}))).await;
        assert_eq!(st, StatusCode::OK, "{started}");
        let otp = started["otp"].as_str().unwrap().to_owned();
        let nonce = started["nonce"].as_str().unwrap().to_owned();
        let mut done = Value::Null;
        for share in shares {
            let body = json!({ "key": share, "nonce": nonce });
            let (st, v) = self.call("PUT", "sys/generate-root/update", None, Some(body)).await;
            assert_eq!(st, StatusCode::OK, "{v}");
            done = v;
        }
        let encoded = done["encoded_token"].as_str().expect("complete attempt");
        let raw = base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded).unwrap();
        String::from_utf8(raw.iter().zip(otp.bytes()).map(|(a, b)| a ^ b).collect()).unwrap()
    }

    /// Mounts KV v2 at `secret/`.
    pub async fn mount_kv(&self) {
        let (st, v) = self
            .call("POST", "sys/mounts/secret", Some(&self.root), Some(json!({"type": "kv-v2"})))
            .await;
        assert!(st.is_success(), "{st}: {v}");
    }

    pub async fn put_secret(&self, name: &str, value: &str) {
        let body = json!({"data": {"value": value}});
        let (st, v) =
            self.call("POST", &format!("secret/data/{name}"), Some(&self.root), Some(body)).await;
        assert!(st.is_success(), "{st}: {v}");
    }

    /// The secret's value, `None` when it does not exist.
    pub async fn get_secret(&self, name: &str) -> Option<String> {
        let (st, v) =
            self.call("GET", &format!("secret/data/{name}"), Some(&self.root), None).await;
        match st {
            StatusCode::OK => Some(v["data"]["data"]["value"].as_str().unwrap().to_owned()),
            StatusCode::NOT_FOUND => None,
            other => panic!("read {name}: {other}: {v}"),
        }
    }

    /// Deletes the secret and all its versions.
    pub async fn delete_secret(&self, name: &str) {
        let (st, v) =
            self.call("DELETE", &format!("secret/metadata/{name}"), Some(&self.root), None).await;
        assert!(st.is_success(), "{st}: {v}");
    }

    /// Whether the server reports itself initialised and unsealed.
    pub async fn unsealed(&self) -> bool {
        matches!(self.node.vault.health().await, Ok(h) if h.initialized && !h.sealed)
    }

    /// Every object key in `bucket` (one page is plenty in tests).
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let out = self.s3.list_objects_v2().bucket(bucket).send().await.expect("ListObjectsV2");
        out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
    }

    /// How many versions of `key` exist (the buckets are versioned).
    pub async fn versions(&self, bucket: &str, key: &str) -> usize {
        let out = self
            .s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(key)
            .send()
            .await
            .expect("ListObjectVersions");
        out.versions().iter().filter(|v| v.key() == Some(key)).count()
    }

    /// The object's bytes.
    pub async fn object(&self, bucket: &str, key: &str) -> Vec<u8> {
        let out = self.s3.get_object().bucket(bucket).key(key).send().await.expect("GetObject");
        out.body.collect().await.expect("object body").into_bytes().to_vec()
    }

    pub async fn shutdown(self) {
        self.node.shutdown().await;
    }
}
