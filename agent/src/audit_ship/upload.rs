//! Writing one batch to the audit bucket: the contract's metadata, SSE-KMS under the cluster
//! key, and the compressed body's SHA-256 for S3 to verify.

use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ServerSideEncryption};
use base64::Engine as _;

use super::batch::{rfc3339, Batch};

/// Where the node's audit objects go.
#[derive(Debug, Clone)]
pub struct Target {
    pub bucket: String,
    pub kms_key_arn: String,
}

/// Uploads `batch` to `key` (one attempt at this level; the SDK retries transient errors).
pub async fn put(
    s3: &aws_sdk_s3::Client,
    target: &Target,
    key: &str,
    batch: &Batch,
) -> Result<(), String> {
    let mut req = s3
        .put_object()
        .bucket(&target.bucket)
        .key(key)
        // A copy per attempt: the compressed body is small next to the upload itself.
        .body(ByteStream::from(batch.gz.clone()))
        .content_type("application/gzip")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&target.kms_key_arn)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(batch.gz_sha256))
        .metadata("lines", batch.lines.to_string());
    if let Some(t) = batch.first_time {
        req = req.metadata("first-time", rfc3339(t));
    }
    if let Some(t) = batch.last_time {
        req = req.metadata("last-time", rfc3339(t));
    }
    req.send().await.map(|_| ()).map_err(|e: SdkError<_, _>| DisplayErrorContext(e).to_string())
}
