//! Operator-policy (MSP) bundles: platform operators publish the reserved `coffer-*` policies
//! once, the control plane signs them as the next version and queues them to every cluster.
//!
//! Why signed and versioned: the node applies a bundle with an ephemeral root token, so it
//! must be sure the bundle came from us (signature, checked against the key in its bootstrap
//! document) and is not an older one replayed (version). The exact signed bytes are stored so
//! a node that registers later receives the same bundle (`service::nodes` queues the latest
//! one on registration). Status is read back from the commands' results, never tracked
//! separately, so it cannot drift from what the nodes reported.

use std::collections::BTreeMap;

use coffer_node_api::commands::{CommandOutput, CommandResult};
use coffer_node_api::msp::{MspBundle, MspError};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{OperatorId, Platform, PlatformError};
use crate::service::node_channel::queue_bundle;
use crate::store::{msp, node_commands, node_health};

/// The answer to a publish.
#[derive(Debug, Clone, Copy)]
pub struct PublishedBundle {
    pub version: u64,
    /// Clusters the bundle was queued to.
    pub clusters: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterBundleState {
    Pending,
    Applied,
    Failed,
}

impl ClusterBundleState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterBundleState::Pending => "pending",
            ClusterBundleState::Applied => "applied",
            ClusterBundleState::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClusterBundleStatus {
    pub cluster_id: Uuid,
    pub state: ClusterBundleState,
    /// Why it failed, as the node reported it (customer-safe), or that it never answered.
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct BundleStatus {
    pub version: u64,
    pub published_at: OffsetDateTime,
    pub published_by: Uuid,
    pub clusters: Vec<ClusterBundleStatus>,
}

impl Platform {
    /// Signs `policies` as the next bundle version and queues it to the API node of every
    /// cluster that has one. Refuses non-reserved policy names and empty or oversized bundles.
    pub async fn publish_msp_bundle(
        &self,
        operator: OperatorId,
        policies: BTreeMap<String, String>,
    ) -> Result<PublishedBundle, PlatformError> {
        let signer = self
            .msp
            .as_ref()
            .ok_or_else(|| PlatformError::Internal("no MSP signing key in this process".into()))?;
        let mut bundle = MspBundle {
            version: 0,
            issued_at: OffsetDateTime::now_utc().unix_timestamp(),
            policies,
        };
        bundle.validate().map_err(invalid)?;

        let mut tx = self.pool.begin().await?;
        msp::lock_versions(&mut tx).await?;
        let version = msp::max_version(&mut *tx).await? + 1;
        bundle.version = u64::try_from(version)
            .map_err(|_| PlatformError::Internal("negative bundle version stored".into()))?;
        let signed = signer.sign(&bundle).map_err(invalid)?;
        msp::insert(&mut *tx, version, &signed.payload, &signed.signature, operator.0).await?;
        let row = msp::get(&mut *tx, version)
            .await?
            .ok_or_else(|| PlatformError::Internal("bundle vanished after insert".into()))?;
        let targets = node_health::clusters_with_api_node(&mut *tx).await?;
        for cluster_id in &targets {
            queue_bundle(&mut tx, *cluster_id, 0, &row)
                .await
                .map_err(|e| PlatformError::Internal(e.to_string()))?;
        }
        tx.commit().await?;
        let clusters = u32::try_from(targets.len()).unwrap_or(u32::MAX);
        tracing::info!(operator_id = %operator.0, version, clusters, "MSP bundle published");
        Ok(PublishedBundle { version: bundle.version, clusters })
    }

    /// Per-cluster state of bundle `version`, from the results its commands got.
    pub async fn msp_bundle_status(&self, version: u64) -> Result<BundleStatus, PlatformError> {
        let v = i64::try_from(version).map_err(|_| PlatformError::NotFound("bundle"))?;
        let bundle = msp::get(&self.pool, v).await?.ok_or(PlatformError::NotFound("bundle"))?;
        let rows = node_commands::msp_commands(&self.pool, v).await?;
        let mut by_cluster: BTreeMap<Uuid, ClusterBundleStatus> = BTreeMap::new();
        // Rows come oldest first per cluster: a later command (a node re-registered) replaces
        // an earlier state, except that an applied bundle stays applied.
        for row in rows {
            let (state, error) = command_state(row.result, row.expired)?;
            let entry = by_cluster.entry(row.cluster_id).or_insert(ClusterBundleStatus {
                cluster_id: row.cluster_id,
                state,
                error: error.clone(),
            });
            if entry.state != ClusterBundleState::Applied {
                entry.state = state;
                entry.error = error;
            }
        }
        Ok(BundleStatus {
            version,
            published_at: bundle.created_at,
            published_by: bundle.published_by,
            clusters: by_cluster.into_values().collect(),
        })
    }
}

fn command_state(
    result: Option<serde_json::Value>,
    expired: bool,
) -> Result<(ClusterBundleState, Option<String>), PlatformError> {
    let Some(result) = result else {
        return Ok(if expired {
            (
                ClusterBundleState::Failed,
                Some("the cluster did not answer before the bundle expired".into()),
            )
        } else {
            (ClusterBundleState::Pending, None)
        });
    };
    let result: CommandResult = serde_json::from_value(result)
        .map_err(|e| PlatformError::Internal(format!("stored command result unreadable: {e}")))?;
    Ok(match result {
        CommandResult::Succeeded { output: CommandOutput::MspBundleApplied { .. } } => {
            (ClusterBundleState::Applied, None)
        }
        CommandResult::Succeeded { .. } => {
            (ClusterBundleState::Failed, Some("the node answered with an unexpected output".into()))
        }
        CommandResult::Failed { error } => (ClusterBundleState::Failed, Some(error)),
    })
}

fn invalid(e: MspError) -> PlatformError {
    match e {
        MspError::NotReserved(name) => PlatformError::Invalid(format!(
            "policy {name:?} is not a reserved policy: names must be coffer- followed by a-z, 0-9 or -"
        )),
        MspError::Size => PlatformError::Invalid(
            "policies must hold 1 to 32 policies of at most 64 KiB each".into(),
        ),
        other => PlatformError::Internal(format!("signing the bundle: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_from_results() {
        let check = |result: Option<serde_json::Value>, expired: bool, want: ClusterBundleState| {
            let (got, _) = command_state(result.clone(), expired).unwrap();
            assert_eq!(got, want, "{result:?} expired={expired}");
        };
        let applied =
            json!({"status": "succeeded", "output": {"type": "msp_bundle_applied", "version": 2}});
        let failed = json!({"status": "failed", "error": "signature does not verify"});
        let odd = json!({"status": "succeeded", "output": {"type": "snapshot_deleted"}});
        check(None, false, ClusterBundleState::Pending);
        check(None, true, ClusterBundleState::Failed);
        check(Some(applied.clone()), true, ClusterBundleState::Applied);
        check(Some(failed.clone()), false, ClusterBundleState::Failed);
        check(Some(odd), false, ClusterBundleState::Failed);
        assert_eq!(
            command_state(Some(failed), false).unwrap().1.as_deref(),
            Some("signature does not verify")
        );
        assert!(command_state(Some(json!({"status": "weird"})), false).is_err());
    }
}
