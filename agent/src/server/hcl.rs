//! The server's HCL configuration, generated from the bootstrap document.
//!
//! Storage and the audit log live under the data directory; the seal is `awskms` with the
//! cluster's key, so the server unseals itself on every start without the agent's help. TLS is
//! disabled on the listener here because the node's listener address is loopback or behind the
//! cluster's TLS-terminating load balancer in this slice (TLS material is a later slice).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use coffer_node_api::BootstrapDocument;

use super::ServerError;

/// Where things live inside the data directory.
#[derive(Debug, Clone)]
pub struct ServerLayout {
    pub data_dir: PathBuf,
}

impl ServerLayout {
    pub fn new(data_dir: &Path) -> ServerLayout {
        ServerLayout { data_dir: data_dir.to_owned() }
    }
    pub fn config_file(&self) -> PathBuf {
        self.data_dir.join("server.hcl")
    }
    pub fn storage_dir(&self) -> PathBuf {
        self.data_dir.join("storage")
    }
    pub fn audit_file(&self) -> PathBuf {
        self.data_dir.join("audit").join("audit.log")
    }
    pub fn server_log(&self) -> PathBuf {
        self.data_dir.join("server.log")
    }
}

/// Quotes `value` as an HCL string: escapes quotes, backslashes and template openers, and
/// refuses control characters (which have no business in a path, ARN or URL).
fn quote(field: &'static str, value: &str) -> Result<String, ServerError> {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_control() => return Err(ServerError::BadValue(field)),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// Renders the server configuration.
pub fn render(
    doc: &BootstrapDocument,
    layout: &ServerLayout,
    listen: SocketAddr,
    kms_endpoint: Option<&str>,
) -> Result<String, ServerError> {
    let storage = layout.storage_dir();
    let storage = quote("storage path", &storage.to_string_lossy())?;
    let address = quote("listen", &listen.to_string())?;
    let api_addr = quote("api_addr", &format!("http://{listen}"))?;
    let region = quote("region", &doc.region)?;
    let key = quote("kms_key_arn", &doc.kms_key_arn)?;
    let cluster = quote("cluster_id", &format!("coffer-{}", doc.cluster_id))?;
    let endpoint = match kms_endpoint {
        Some(e) => format!("  endpoint   = {}\n", quote("kms endpoint", e)?),
        None => String::new(),
    };
    Ok(format!(
        "# Written by coffer-agent from the bootstrap document; regenerated on every start.\n\
         cluster_name = {cluster}\n\
         api_addr     = {api_addr}\n\
         \n\
         storage \"redb\" {{\n  path = {storage}\n}}\n\
         \n\
         listener \"tcp\" {{\n  address     = {address}\n  tls_disable = true\n}}\n\
         \n\
         seal \"awskms\" {{\n  region     = {region}\n  kms_key_id = {key}\n{endpoint}}}\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_node_api::BOOTSTRAP_VERSION;

    fn doc(key: &str) -> BootstrapDocument {
        BootstrapDocument {
            version: BOOTSTRAP_VERSION,
            cluster_id: uuid::Uuid::from_u128(1),
            org_id: uuid::Uuid::from_u128(2),
            node_index: 0,
            region: "eu-west-1".into(),
            kms_key_arn: key.into(),
            snapshot_bucket: "s".into(),
            audit_bucket: "a".into(),
            control_plane_url: "https://cp".into(),
            control_plane_ca_pem: None,
            msp_public_key: None,
            join_token: None,
        }
    }

    #[test]
    fn quoting() {
        let check = |input: &str, expect: Result<&str, ()>| {
            assert_eq!(quote("f", input).map_err(|_| ()), expect.map(str::to_owned), "{input:?}");
        };
        check("plain", Ok("\"plain\""));
        check("a\"b", Ok("\"a\\\"b\""));
        check("a\\b", Ok("\"a\\\\b\""));
        check("${x}", Ok("\"$${x}\""));
        check("%{x}", Ok("\"%%{x}\""));
        check("$x", Ok("\"$x\""));
        check("a\nb", Err(()));
    }

    #[test]
    fn renders_seal_storage_and_listener() {
        let layout = ServerLayout::new(Path::new("/var/lib/coffer"));
        let listen: SocketAddr = "127.0.0.1:8200".parse().unwrap();
        let text = render(&doc("arn:k"), &layout, listen, Some("http://127.0.0.1:5000")).unwrap();
        for want in [
            "path = \"/var/lib/coffer/storage\"",
            "address     = \"127.0.0.1:8200\"",
            "seal \"awskms\"",
            "kms_key_id = \"arn:k\"",
            "region     = \"eu-west-1\"",
            "endpoint   = \"http://127.0.0.1:5000\"",
        ] {
            assert!(text.contains(want), "{want:?} missing from\n{text}");
        }
        let without = render(&doc("arn:k"), &layout, listen, None).unwrap();
        assert!(!without.contains("endpoint"));
        assert!(render(&doc("arn\n"), &layout, listen, None).is_err());
    }
}
