//! Snapshot commands: take (server -> S3), restore (S3 -> server) and delete.
//!
//! The agent only ever touches its own cluster's snapshot bucket (from the bootstrap
//! document): the control plane names bucket and key in each command, and a command naming
//! any other bucket is refused before anything is read or written, so a confused or
//! compromised control plane cannot make a node copy its data elsewhere.
//!
//! Objects are written with SSE-KMS under the cluster's key and an SHA-256 checksum that S3
//! verifies on receipt; the same hex digest goes into the `sha256` metadata and the command's
//! output, and a restore refuses an object whose content does not hash to what the control
//! plane recorded, before the server is touched.
//!
//! A snapshot is spooled to a private file while it streams from the server (hashed on the
//! way), so memory stays flat however large the store is and the upload can be retried from
//! the file. A restore holds the object in memory once: the server buffers the request body
//! whole anyway (it verifies the snapshot before replacing anything).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ServerSideEncryption};
use base64::Engine as _;
use coffer_node_api::commands::CommandOutput;
use coffer_node_api::BootstrapDocument;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::channel::failure::CommandFailure;
use crate::server::ServerLayout;
use crate::vault::VaultClient;
use crate::vault_snapshots::{SnapshotApi, SnapshotApiError};

/// The largest snapshot a restore downloads: coffer-server's own limit on a restore body.
pub const MAX_SNAPSHOT_BYTES: u64 = 1 << 30;
/// S3's limit on an object key.
const MAX_KEY_BYTES: usize = 1024;
/// How long the server may take to report itself unsealed after a restore.
const UNSEAL_TIMEOUT: Duration = Duration::from_secs(60);

/// What the snapshot commands need: the server, the agent's token, S3 and the cluster's
/// identity. Built once after provisioning; shared by every snapshot command.
pub struct SnapshotCtx {
    api: SnapshotApi,
    vault: VaultClient,
    token: SecretString,
    s3: aws_sdk_s3::Client,
    bucket: String,
    kms_key_arn: String,
    spool_dir: PathBuf,
}

impl SnapshotCtx {
    /// `server_addr`: the local server (`http://127.0.0.1:8200`); `token`: the agent's token.
    pub fn new(
        server_addr: &str,
        token: SecretString,
        s3: aws_sdk_s3::Client,
        doc: &BootstrapDocument,
        layout: &ServerLayout,
    ) -> Result<SnapshotCtx, reqwest::Error> {
        Ok(SnapshotCtx {
            api: SnapshotApi::new(server_addr)?,
            vault: VaultClient::new(server_addr)?,
            token,
            s3,
            bucket: doc.snapshot_bucket.clone(),
            kms_key_arn: doc.kms_key_arn.clone(),
            spool_dir: layout.data_dir.join("snapshot-spool"),
        })
    }

    /// Refuses a bucket that is not this cluster's snapshot bucket, or a key S3 would reject.
    fn check_target(&self, bucket: &str, key: &str) -> Result<(), CommandFailure> {
        if bucket != self.bucket {
            return Err(CommandFailure::new(
                "the bucket is not this cluster's snapshot bucket",
                format!("refused bucket {bucket:?}; this cluster's is {:?}", self.bucket),
            ));
        }
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(CommandFailure::plain("invalid snapshot object key"));
        }
        Ok(())
    }
}

/// Removes the spool file however the command ends.
struct Spool(PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0) {
            if e.kind() != std::io::ErrorKind::NotFound {
                let path = self.0.display();
                tracing::warn!(%path, error = %e, "cannot remove the snapshot spool file");
            }
        }
    }
}

fn server_failure(public: &str, e: &SnapshotApiError) -> CommandFailure {
    CommandFailure::new(public, e.to_string())
}

fn s3_failure<E, R>(public: &str, e: &SdkError<E, R>) -> CommandFailure
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    CommandFailure::new(public, DisplayErrorContext(e).to_string())
}

fn io_failure(public: &str, what: &str, path: &Path, e: &std::io::Error) -> CommandFailure {
    CommandFailure::new(public, format!("{what} {}: {e}", path.display()))
}

/// Streams a snapshot from the server into the spool file, hashing it on the way.
async fn spool_snapshot(ctx: &SnapshotCtx, path: &Path) -> Result<(u64, [u8; 32]), CommandFailure> {
    const PUBLIC: &str = "could not take the snapshot";
    crate::files::private_dir(&ctx.spool_dir)
        .map_err(|e| CommandFailure::new(PUBLIC, e.to_string()))?;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .await
        .map_err(|e| io_failure(PUBLIC, "create", path, &e))?;
    let mut stream = ctx.api.save(&ctx.token).await.map_err(|e| server_failure(PUBLIC, &e))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.chunk().await.map_err(|e| server_failure(PUBLIC, &e))? {
        let chunk = chunk.as_ref();
        hasher.update(chunk);
        size += chunk.len() as u64;
        file.write_all(chunk).await.map_err(|e| io_failure(PUBLIC, "write", path, &e))?;
    }
    file.sync_all().await.map_err(|e| io_failure(PUBLIC, "sync", path, &e))?;
    if size == 0 {
        return Err(CommandFailure::new(PUBLIC, "the server returned an empty snapshot"));
    }
    Ok((size, hasher.finalize().into()))
}

/// Takes a snapshot of the server and uploads it to `s3://bucket/key` (SSE-KMS, SHA-256).
pub async fn take(
    ctx: &SnapshotCtx,
    snapshot_id: Uuid,
    bucket: &str,
    key: &str,
) -> Result<CommandOutput, CommandFailure> {
    ctx.check_target(bucket, key)?;
    let spool = Spool(ctx.spool_dir.join(format!("{snapshot_id}.snap.part")));
    let (size, digest) = spool_snapshot(ctx, &spool.0).await?;
    let sha256 = hex::encode(digest);
    let body = ByteStream::from_path(&spool.0)
        .await
        .map_err(|e| CommandFailure::new("could not upload the snapshot", e.to_string()))?;
    let size_i64 = i64::try_from(size)
        .map_err(|_| CommandFailure::plain("the snapshot is too large to upload"))?;
    ctx.s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body)
        .content_length(size_i64)
        .content_type("application/octet-stream")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&ctx.kms_key_arn)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(digest))
        .metadata("sha256", &sha256)
        .metadata("snapshot-id", snapshot_id.to_string())
        .send()
        .await
        .map_err(|e| s3_failure("could not upload the snapshot", &e))?;
    tracing::info!(%snapshot_id, size, %sha256, "snapshot uploaded");
    Ok(CommandOutput::Snapshot { size_bytes: size, sha256 })
}

/// Downloads the object whole, hashing it on the way; refuses more than the server accepts.
async fn download(
    ctx: &SnapshotCtx,
    bucket: &str,
    key: &str,
) -> Result<(Vec<u8>, [u8; 32]), CommandFailure> {
    const PUBLIC: &str = "could not download the snapshot";
    let out = ctx.s3.get_object().bucket(bucket).key(key).send().await.map_err(|e| {
        if e.as_service_error().map(|s| s.is_no_such_key()).unwrap_or(false)
            || e.as_service_error().and_then(ProvideErrorMetadata::code) == Some("NoSuchKey")
        {
            CommandFailure::new(
                "the snapshot object does not exist",
                DisplayErrorContext(&e).to_string(),
            )
        } else {
            s3_failure(PUBLIC, &e)
        }
    })?;
    let declared = out.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    if declared > MAX_SNAPSHOT_BYTES {
        return Err(CommandFailure::plain("the snapshot is larger than the server accepts"));
    }
    // Bounded by the check above; usize holds 1 GiB on every target the agent runs on.
    let mut data = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
    let mut hasher = Sha256::new();
    let mut body = out.body;
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| CommandFailure::new(PUBLIC, DisplayErrorContext(&e).to_string()))?
    {
        if (data.len() + chunk.len()) as u64 > MAX_SNAPSHOT_BYTES {
            return Err(CommandFailure::plain("the snapshot is larger than the server accepts"));
        }
        hasher.update(&chunk);
        data.extend_from_slice(&chunk);
    }
    Ok((data, hasher.finalize().into()))
}

/// Parses a hex SHA-256 (either case).
fn parse_sha256(hex_digest: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_digest, &mut out).ok()?;
    Some(out)
}

/// Restores the snapshot at `s3://bucket/key`, which must hash to `sha256` (hex), then waits
/// for the server to be unsealed again (it reopens its barrier with the KMS seal).
pub async fn restore(
    ctx: &SnapshotCtx,
    snapshot_id: Uuid,
    bucket: &str,
    key: &str,
    sha256: &str,
) -> Result<CommandOutput, CommandFailure> {
    ctx.check_target(bucket, key)?;
    let want = parse_sha256(sha256)
        .ok_or_else(|| CommandFailure::plain("the expected SHA-256 is not 64 hex digits"))?;
    let (data, got) = download(ctx, bucket, key).await?;
    if got != want {
        return Err(CommandFailure::new(
            "the snapshot object failed its integrity check; nothing was restored",
            format!("snapshot {snapshot_id}: sha256 {} != expected {sha256}", hex::encode(got)),
        ));
    }
    let size = data.len();
    ctx.api
        .restore(&ctx.token, data)
        .await
        .map_err(|e| server_failure("the server refused the snapshot", &e))?;
    wait_unsealed(ctx).await?;
    tracing::info!(%snapshot_id, size, "snapshot restored");
    Ok(CommandOutput::SnapshotRestored)
}

async fn wait_unsealed(ctx: &SnapshotCtx) -> Result<(), CommandFailure> {
    let deadline = Instant::now() + UNSEAL_TIMEOUT;
    loop {
        let last = match ctx.vault.health().await {
            Ok(h) if h.initialized && !h.sealed => return Ok(()),
            Ok(h) => format!("health: {h:?}"),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(CommandFailure::new(
                "the snapshot was restored but the server did not unseal",
                last,
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Deletes `s3://bucket/key`. Idempotent: deleting a missing object succeeds.
pub async fn delete(
    ctx: &SnapshotCtx,
    snapshot_id: Uuid,
    bucket: &str,
    key: &str,
) -> Result<CommandOutput, CommandFailure> {
    ctx.check_target(bucket, key)?;
    match ctx.s3.delete_object().bucket(bucket).key(key).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error().and_then(ProvideErrorMetadata::code) == Some("NoSuchKey") => {}
        Err(e) => return Err(s3_failure("could not delete the snapshot", &e)),
    }
    tracing::info!(%snapshot_id, "snapshot deleted");
    Ok(CommandOutput::SnapshotDeleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_parsing() {
        let check =
            |input: &str, ok: bool| assert_eq!(parse_sha256(input).is_some(), ok, "{input:?}");
        check(&"ab".repeat(32), true);
        check(&"AB".repeat(32), true);
        check(&"ab".repeat(31), false);
        check(&"ab".repeat(33), false);
        check(&"zz".repeat(32), false);
        check("", false);
    }
}
