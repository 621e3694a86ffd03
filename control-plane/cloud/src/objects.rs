//! Reading what the nodes wrote into a cluster's buckets: shipped audit logs, snapshot objects.
//!
//! A trait of its own rather than more [`Cloud`](crate::Cloud) methods: the provisioning engine
//! (and its in-memory test double) creates and deletes buckets but never reads their contents,
//! while the API's audit-log endpoints read objects but never touch infrastructure. Callers pass
//! the bucket and region they looked up in the control plane's own records; nothing here accepts
//! a bucket name from a client.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::error::CloudError;

/// A bucket in a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketLocation<'a> {
    pub region: &'a str,
    pub bucket: &'a str,
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    pub key: String,
    pub size: u64,
}

/// One page of a listing, in ascending key order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectPage {
    pub objects: Vec<ObjectSummary>,
    /// Sub-"directories" directly under the prefix, when listed with a delimiter.
    pub common_prefixes: Vec<String>,
    /// More keys follow: list again with `start_after` = the last key of this page.
    pub truncated: bool,
}

/// What a HEAD says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHead {
    pub size: u64,
    /// User metadata (`x-amz-meta-*`), keys without the prefix, lowercase.
    pub metadata: HashMap<String, String>,
}

/// A listing request. `start_after` is exclusive and need not be an existing key, which is
/// what lets a caller seek to a time partition in a time-ordered key layout.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListQuery<'a> {
    pub prefix: &'a str,
    pub start_after: Option<&'a str>,
    /// Group keys at this delimiter into `common_prefixes` (e.g. `/`).
    pub delimiter: Option<&'a str>,
    /// At most this many keys (1..=1000); `None`: the provider's maximum.
    pub max_keys: Option<i32>,
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// One page of keys matching `q`.
    async fn list_objects(
        &self,
        at: BucketLocation<'_>,
        q: ListQuery<'_>,
    ) -> Result<ObjectPage, CloudError>;

    /// Size and user metadata of one object; `ErrorKind::NotFound` when it does not exist.
    async fn head_object(
        &self,
        at: BucketLocation<'_>,
        key: &str,
    ) -> Result<ObjectHead, CloudError>;

    /// The whole object, refusing (code `ObjectTooLarge`, permanent) one larger than
    /// `max_bytes` before or while reading it, so a huge object cannot exhaust memory.
    async fn get_object(
        &self,
        at: BucketLocation<'_>,
        key: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, CloudError>;
}

/// The error for an object over the caller's size limit.
pub fn too_large(operation: &'static str, key: &str, max_bytes: u64) -> CloudError {
    CloudError::new(
        crate::error::ErrorKind::Permanent,
        operation,
        Some(TOO_LARGE_CODE.to_owned()),
        format!("object {key} is larger than {max_bytes} bytes"),
    )
}

/// `CloudError::code()` of [`too_large`].
pub const TOO_LARGE_CODE: &str = "ObjectTooLarge";
