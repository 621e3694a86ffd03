//! Automatic key rotation (`auto_rotate_period`): the transit library records the period, the
//! server schedules it. A background task calls [`rotate_due`] periodically; a key whose
//! newest version is older than its period gets a new version.

use super::cache::KeyCache;
use super::Ctx;
use crate::core::error::CoreResult;
use crate::core::mounts::MountEntry;
use crate::core::storage::View;
use coffer_barrier::Barrier;
use coffer_transit::{Key, VersionInfo};

/// Unix creation time of the key's latest version.
fn latest_created(key: &Key) -> Option<i64> {
    let info = key.info();
    match info.keys.get(&info.latest_version.to_string())? {
        VersionInfo::Created(t) => i64::try_from(*t).ok(),
        VersionInfo::Asymmetric { creation_time, .. } => time::OffsetDateTime::parse(
            creation_time,
            &time::format_description::well_known::Rfc3339,
        )
        .ok()
        .map(|t| t.unix_timestamp()),
    }
}

/// Rotates every due key in the transit mounts given; returns how many were rotated.
pub fn rotate_due(
    barrier: &Barrier,
    cache: &KeyCache,
    mounts: &[MountEntry],
    now: i64,
) -> CoreResult<usize> {
    let mut rotated = 0;
    for mount in mounts.iter().filter(|m| m.kind == "transit") {
        let ctx =
            Ctx { view: View::new(barrier, format!("logical/{}/", mount.uuid)), cache, mount };
        for name in ctx.view.list("policy/")? {
            if name.ends_with('/') {
                continue;
            }
            let Some(shared) = cache.get(&ctx, &name)? else { continue };
            let due = match shared.read() {
                Ok(k) => {
                    let period = crate::util::secs(k.auto_rotate_period());
                    period > 0
                        && latest_created(&k).is_some_and(|t| now.saturating_sub(t) >= period)
                }
                Err(_) => false,
            };
            if due {
                cache.update(&ctx, &name, |k| k.rotate())?;
                tracing::info!(mount = %mount.path, key = %name, "transit key auto-rotated");
                rotated += 1;
            }
        }
    }
    Ok(rotated)
}
