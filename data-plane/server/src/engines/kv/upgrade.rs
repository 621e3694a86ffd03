//! KV v1 → v2 upgrade (tuning a mount's `options.version` to 2), as Vault does: every v1 key
//! becomes a v2 secret whose version 1 holds the old data. New records are written before the
//! mount switches to v2 and the old keys are removed only after, so a crash midway loses
//! nothing (at worst unreachable v1 leftovers remain).

use super::v2_record::{now_nanos, MountConfig, Record};
use crate::core::error::CoreResult;
use crate::core::storage::View;
use serde_json::{Map, Value};

/// All leaf keys of a v1 mount, depth first.
fn v1_keys(view: &View<'_>) -> CoreResult<Vec<String>> {
    let mut out = Vec::new();
    let mut dirs = vec![String::new()];
    while let Some(dir) = dirs.pop() {
        for k in view.list(&dir)? {
            let full = format!("{dir}{k}");
            if k.ends_with('/') {
                dirs.push(full);
            } else {
                out.push(full);
            }
        }
    }
    Ok(out)
}

/// Writes a v2 record for every v1 key; returns the v1 keys to delete after the switch.
pub fn migrate(view: &View<'_>) -> CoreResult<Vec<String>> {
    let keys = v1_keys(view)?;
    let cfg = MountConfig::default();
    let now = now_nanos();
    for key in &keys {
        let Some(bytes) = view.get(key)? else { continue };
        let data: Map<String, Value> = serde_json::from_slice(&bytes)?;
        let mut rec = Record::default();
        rec.push(data, &cfg, now);
        view.put_json(&format!("k/{key}"), &rec)?;
    }
    Ok(keys)
}

/// Removes the migrated v1 keys.
pub fn cleanup(view: &View<'_>, keys: &[String]) -> CoreResult<()> {
    for k in keys {
        view.delete(k)?;
    }
    Ok(())
}
