//! Retention of node commands: settled and expired commands are deleted once they are older
//! than `nodes.retention.max_age_secs`, so `node_commands` stays the size of a few days'
//! traffic instead of growing forever.
//!
//! A command is kept while it can still matter: pending or in flight (not settled and not yet
//! expired), referenced by a snapshot that is still being reconciled from it (its result is
//! read when the snapshot is next read, which may be days later for a scheduled one), or
//! carrying the newest MSP bundle (the bundle status view is derived from those commands).

use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;

use crate::service::{ControlPlane, ServiceError};
use crate::store::node_commands;

/// The `[nodes.retention]` configuration section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Runs the periodic pruning task in this process. Every replica may run it.
    pub enabled: bool,
    /// Commands settled (answered) or expired longer ago than this are deleted.
    pub max_age_secs: u64,
    /// How often to prune.
    pub interval_secs: u64,
    /// Rows per DELETE statement, so one pass never holds many row locks at once.
    pub batch_size: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self { enabled: true, max_age_secs: 7 * 24 * 3600, interval_secs: 3600, batch_size: 1000 }
    }
}

impl RetentionSettings {
    pub fn max_age(&self) -> Duration {
        Duration::from_secs(self.max_age_secs)
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs)
    }

    /// Range checks; `None` when valid, else what is wrong.
    pub fn problem(&self) -> Option<&'static str> {
        let day = 24 * 3600;
        if !(3600..=365 * day).contains(&self.max_age_secs) {
            return Some("nodes.retention.max_age_secs must be between 3600 and 365 days");
        }
        if !(1..=day).contains(&self.interval_secs) {
            return Some("nodes.retention.interval_secs must be between 1 and 86400");
        }
        if !(1..=100_000).contains(&self.batch_size) {
            return Some("nodes.retention.batch_size must be between 1 and 100000");
        }
        None
    }
}

impl ControlPlane {
    /// Deletes, in batches of `batch_size`, every command settled or expired before
    /// `now - max_age` that nothing still needs; returns how many were deleted.
    pub async fn prune_node_commands(
        &self,
        now: OffsetDateTime,
        settings: &RetentionSettings,
    ) -> Result<u64, ServiceError> {
        let cutoff = now - settings.max_age();
        let batch = i64::from(settings.batch_size);
        let mut deleted = 0;
        loop {
            let n = node_commands::prune(&self.pool, cutoff, batch).await?;
            deleted += n;
            if n < settings.batch_size.into() {
                return Ok(deleted);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let check = |change: fn(&mut RetentionSettings), ok: bool| {
            let mut s = RetentionSettings::default();
            change(&mut s);
            assert_eq!(s.problem().is_none(), ok);
        };
        check(|_| {}, true);
        check(|s| s.max_age_secs = 60, false);
        check(|s| s.interval_secs = 0, false);
        check(|s| s.batch_size = 0, false);
        assert_eq!(RetentionSettings::default().max_age(), Duration::from_secs(604_800));
    }
}
