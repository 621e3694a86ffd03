//! [`ObjectStore`] on S3: ListObjectsV2, HeadObject and GetObject with a size cap.

use async_trait::async_trait;

use super::sdk_error::SdkResultExt;
use super::AwsCloud;
use crate::error::{CloudError, ErrorKind};
use crate::objects::{
    too_large, BucketLocation, ListQuery, ObjectHead, ObjectPage, ObjectStore, ObjectSummary,
};

#[async_trait]
impl ObjectStore for AwsCloud {
    async fn list_objects(
        &self,
        at: BucketLocation<'_>,
        q: ListQuery<'_>,
    ) -> Result<ObjectPage, CloudError> {
        let s3 = self.clients(at.region)?.s3;
        let out = s3
            .list_objects_v2()
            .bucket(at.bucket)
            .prefix(q.prefix)
            .set_start_after(q.start_after.map(str::to_owned))
            .set_delimiter(q.delimiter.map(str::to_owned))
            .set_max_keys(q.max_keys)
            .send()
            .await
            .op("s3:ListObjectsV2")?;
        let mut objects = Vec::with_capacity(out.contents().len());
        for o in out.contents() {
            let Some(key) = o.key() else { continue };
            let size = o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0);
            objects.push(ObjectSummary { key: key.to_owned(), size });
        }
        let common_prefixes =
            out.common_prefixes().iter().filter_map(|p| p.prefix().map(str::to_owned)).collect();
        Ok(ObjectPage { objects, common_prefixes, truncated: out.is_truncated() == Some(true) })
    }

    async fn head_object(
        &self,
        at: BucketLocation<'_>,
        key: &str,
    ) -> Result<ObjectHead, CloudError> {
        let s3 = self.clients(at.region)?.s3;
        let out = s3.head_object().bucket(at.bucket).key(key).send().await.op("s3:HeadObject")?;
        let size = out.content_length().and_then(|s| u64::try_from(s).ok()).unwrap_or(0);
        let metadata = out
            .metadata()
            .map(|m| m.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect())
            .unwrap_or_default();
        Ok(ObjectHead { size, metadata })
    }

    async fn get_object(
        &self,
        at: BucketLocation<'_>,
        key: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, CloudError> {
        const OP: &str = "s3:GetObject";
        let s3 = self.clients(at.region)?.s3;
        let out = s3.get_object().bucket(at.bucket).key(key).send().await.op(OP)?;
        let declared = out.content_length().and_then(|s| u64::try_from(s).ok());
        if declared.is_some_and(|n| n > max_bytes) {
            return Err(too_large(OP, key, max_bytes));
        }
        let capacity = declared.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
        let mut buf = Vec::with_capacity(capacity);
        let mut body = out.body;
        // Chunk by chunk, so a missing or lying Content-Length cannot make us buffer more.
        loop {
            let chunk = body.try_next().await.map_err(|e| {
                CloudError::new(
                    ErrorKind::Transient,
                    OP,
                    Some("BodyRead".to_owned()),
                    e.to_string(),
                )
            })?;
            let Some(chunk) = chunk else { break };
            if (buf.len() + chunk.len()) as u64 > max_bytes {
                return Err(too_large(OP, key, max_bytes));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf)
    }
}
