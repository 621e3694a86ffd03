//! The KV secrets engine: version 1 (plain key/value) and version 2 (versioned, with metadata,
//! check-and-set, soft delete and destroy). Both store under the mount's UUID prefix.

pub mod locks;
pub mod upgrade;
pub mod v1;
pub mod v2;
pub mod v2_memo;
mod v2_read;
mod v2_record;

use crate::core::error::{CoreError, CoreResult};

/// Validates a secret key path (relative to the mount or the v2 sub-path).
pub(crate) fn check_key(key: &str) -> CoreResult<()> {
    if key.is_empty() || key.ends_with('/') {
        return Err(CoreError::bad("missing or invalid secret path"));
    }
    Ok(())
}

/// `{"keys": [...]}` or 404 when there is nothing (Vault's list semantics).
pub(crate) fn list_response(keys: Vec<String>) -> CoreResult<crate::core::request::Response> {
    if keys.is_empty() {
        return Err(CoreError::NotFound(None));
    }
    Ok(crate::core::request::Response::data(crate::obj! { "keys" => keys }))
}
