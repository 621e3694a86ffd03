//! The bootstrap document: what a node learns at first boot, delivered as EC2 user data.
//!
//! User data is readable by anything on the instance and by anyone allowed
//! `ec2:DescribeInstanceAttribute`, so it carries only identifiers and, at most, a one-time join
//! token that the control plane invalidates on first use. The token is redacted from `Debug`.

use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// EC2's limit on user data before base64 encoding.
pub const MAX_USER_DATA_BYTES: usize = 16 * 1024;

pub const BOOTSTRAP_VERSION: u32 = 1;

/// Why a document cannot become user data.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("cannot serialise the bootstrap document: {0}")]
    Serialise(#[source] serde_json::Error),
    #[error("{0} bytes exceeds EC2's user data limit of {MAX_USER_DATA_BYTES}")]
    TooLarge(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapDocument {
    /// Schema version, so an older agent can refuse a document it does not understand.
    pub version: u32,
    pub cluster_id: Uuid,
    pub org_id: Uuid,
    pub node_index: u32,
    pub region: String,
    pub kms_key_arn: String,
    pub snapshot_bucket: String,
    pub audit_bucket: String,
    /// Where the agent registers and pulls from.
    pub control_plane_url: String,
    /// PEM CA bundle the agent trusts for `control_plane_url` in addition to the system roots
    /// (a control plane behind a private CA). Public material only. Absent: system roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane_ca_pem: Option<String>,
    /// Base64 Ed25519 key that signs operator-policy bundles (see `msp`); absent on documents
    /// written before bundles existed, in which case the node applies none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msp_public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_token: Option<JoinToken>,
}

impl BootstrapDocument {
    /// Serialises to the bytes placed in user data, refusing documents EC2 would reject.
    pub fn to_user_data(&self) -> Result<Vec<u8>, BootstrapError> {
        let json = serde_json::to_vec(self).map_err(BootstrapError::Serialise)?;
        if json.len() > MAX_USER_DATA_BYTES {
            return Err(BootstrapError::TooLarge(json.len()));
        }
        Ok(json)
    }

    /// The base64 form RunInstances expects.
    pub fn to_user_data_base64(&self) -> Result<String, BootstrapError> {
        Ok(base64::engine::general_purpose::STANDARD.encode(self.to_user_data()?))
    }

    /// Parses user data as the agent reads it from the instance metadata service.
    pub fn from_user_data(bytes: &[u8]) -> Result<BootstrapDocument, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// A one-time secret: serialised as a plain string, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JoinToken(String);

impl JoinToken {
    pub fn new(token: String) -> Self {
        JoinToken(token)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JoinToken(<redacted>)")
    }
}

impl Drop for JoinToken {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(token: Option<&str>) -> BootstrapDocument {
        BootstrapDocument {
            version: BOOTSTRAP_VERSION,
            cluster_id: Uuid::from_u128(1),
            org_id: Uuid::from_u128(2),
            node_index: 1,
            region: "eu-west-1".into(),
            kms_key_arn: "arn:aws:kms:eu-west-1:123456789012:key/k".into(),
            snapshot_bucket: "s".into(),
            audit_bucket: "a".into(),
            control_plane_url: "https://cp.example".into(),
            control_plane_ca_pem: None,
            msp_public_key: Some("AAAA".into()),
            join_token: token.map(|t| JoinToken::new(t.into())),
        }
    }

    #[test]
    fn user_data_round_trips() {
        for d in [doc(None), doc(Some("one-time"))] {
            let bytes = d.to_user_data().unwrap();
            assert_eq!(BootstrapDocument::from_user_data(&bytes).unwrap(), d);
            let b64 = d.to_user_data_base64().unwrap();
            let decoded = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
            assert_eq!(decoded, bytes);
        }
    }

    #[test]
    fn ca_bundle_is_optional_on_the_wire() {
        let plain = doc(None);
        let json = String::from_utf8(plain.to_user_data().unwrap()).unwrap();
        assert!(!json.contains("control_plane_ca_pem"), "absent, not null: older agents");
        let mut with_ca = doc(None);
        with_ca.control_plane_ca_pem = Some("-----BEGIN CERTIFICATE-----\n".into());
        let bytes = with_ca.to_user_data().unwrap();
        assert_eq!(BootstrapDocument::from_user_data(&bytes).unwrap(), with_ca);
    }

    #[test]
    fn token_is_redacted_from_debug_but_serialised() {
        let d = doc(Some("very-secret-token"));
        assert!(!format!("{d:?}").contains("very-secret-token"));
        assert!(String::from_utf8(d.to_user_data().unwrap())
            .unwrap()
            .contains("very-secret-token"));
    }

    #[test]
    fn oversized_document_is_refused() {
        let mut d = doc(None);
        d.control_plane_url = "x".repeat(MAX_USER_DATA_BYTES);
        let e = d.to_user_data().unwrap_err();
        assert!(matches!(e, BootstrapError::TooLarge(n) if n > MAX_USER_DATA_BYTES), "{e}");
    }
}
