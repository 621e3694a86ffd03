//! Reading the bootstrap document.
//!
//! On EC2 it arrives as user data: raw JSON from the instance metadata service, or base64 when
//! an operator copied it out of `DescribeInstanceAttribute`. Both are accepted, and a document
//! of a schema version this agent does not know is refused rather than half-understood.

use std::path::Path;

use base64::Engine as _;
use coffer_node_api::{BootstrapDocument, BOOTSTRAP_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("cannot read the bootstrap document {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the bootstrap document is not valid JSON (nor base64 of it): {0}")]
    Parse(#[source] serde_json::Error),
    #[error(
        "bootstrap document version {0} is not supported (this agent reads {BOOTSTRAP_VERSION})"
    )]
    Version(u32),
    #[error("bootstrap document field {0} is empty")]
    Empty(&'static str),
}

/// Loads and checks the document at `path`.
pub fn load(path: &Path) -> Result<BootstrapDocument, BootstrapError> {
    let bytes = std::fs::read(path)
        .map_err(|source| BootstrapError::Read { path: path.display().to_string(), source })?;
    parse(&bytes)
}

/// Parses user data bytes (JSON, or base64 of JSON) and checks the version and required fields.
pub fn parse(bytes: &[u8]) -> Result<BootstrapDocument, BootstrapError> {
    let doc = match BootstrapDocument::from_user_data(bytes) {
        Ok(doc) => doc,
        Err(json_err) => {
            let trimmed = bytes.trim_ascii();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(trimmed)
                .map_err(|_| BootstrapError::Parse(json_err))?;
            BootstrapDocument::from_user_data(&decoded).map_err(BootstrapError::Parse)?
        }
    };
    if doc.version != BOOTSTRAP_VERSION {
        return Err(BootstrapError::Version(doc.version));
    }
    for (name, value) in [
        ("region", &doc.region),
        ("kms_key_arn", &doc.kms_key_arn),
        ("control_plane_url", &doc.control_plane_url),
    ] {
        if value.trim().is_empty() {
            return Err(BootstrapError::Empty(name));
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(version: u32, region: &str) -> String {
        format!(
            r#"{{"version":{version},"cluster_id":"00000000-0000-0000-0000-000000000001",
            "org_id":"00000000-0000-0000-0000-000000000002","node_index":0,"region":"{region}",
            "kms_key_arn":"arn:aws:kms:eu-west-1:1:key/k","snapshot_bucket":"s","audit_bucket":"a",
            "control_plane_url":"https://cp","join_token":"jt"}}"#
        )
    }

    fn check(input: &[u8], expect: Result<&str, &str>) {
        let got = parse(input).map(|d| d.region).map_err(|e| e.to_string());
        match (got, expect) {
            (Ok(region), Ok(want)) => assert_eq!(region, want),
            (Err(e), Err(want)) => assert!(e.contains(want), "{e:?} should contain {want:?}"),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn parsing() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(json(1, "eu-west-1"));
        check(json(1, "eu-west-1").as_bytes(), Ok("eu-west-1"));
        check(format!("{b64}\n").as_bytes(), Ok("eu-west-1"));
        check(json(2, "eu-west-1").as_bytes(), Err("version 2 is not supported"));
        check(json(1, " ").as_bytes(), Err("field region is empty"));
        check(b"not json", Err("not valid JSON"));
        check(b"", Err("not valid JSON"));
    }

    #[test]
    fn load_reports_the_path() {
        let e = load(Path::new("/nonexistent/coffer-bootstrap.json")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/coffer-bootstrap.json"), "{e}");
    }
}
