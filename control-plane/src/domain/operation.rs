//! Long-running operations and the workflow planned for each kind.
//!
//! An operation is persisted with its full step plan when it is requested, before anything
//! runs, so clients can see what will happen and the provisioning engine (a later component)
//! can resume from the stored plan after a crash. Nothing in the control plane executes the
//! steps today; operations stay `pending` until the engine picks them up.

use super::ValidationError;

macro_rules! string_enum {
    ($name:ident, $field:literal { $($variant:ident => $s:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            pub fn parse(raw: &str) -> Result<$name, ValidationError> {
                Self::ALL.iter().copied().find(|v| v.as_str() == raw).ok_or_else(|| {
                    ValidationError::new(format!("unknown {} {raw:?}", $field))
                })
            }
        }
    };
}

string_enum!(OperationKind, "operation kind" { Create => "create", Update => "update", Delete => "delete" });
string_enum!(OperationState, "operation state" {
    Pending => "pending",
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
});
string_enum!(StepState, "step state" {
    Pending => "pending",
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Skipped => "skipped",
});

impl OperationState {
    /// Terminal operations never change again; `wait` returns as soon as one is reached.
    pub fn is_terminal(self) -> bool {
        matches!(self, OperationState::Succeeded | OperationState::Failed)
    }
}

/// Which parts of a cluster's spec an update touches; decides the update step plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpdatePlan {
    pub network: bool,
    pub version: bool,
}

impl OperationKind {
    /// Steps for a create, in execution order: key material and storage first so instances
    /// can boot straight into an initialised, auto-unsealed barrier.
    pub const CREATE_STEPS: &'static [&'static str] = &[
        "create_kms_key",
        "create_buckets",
        "create_iam_role",
        "create_security_group",
        "launch_instances",
        "wait_for_nodes",
    ];

    /// Teardown is the reverse of create; the KMS key is scheduled for deletion last so
    /// snapshots stay decryptable until everything else is gone.
    pub const DELETE_STEPS: &'static [&'static str] = &[
        "terminate_instances",
        "delete_security_group",
        "delete_iam_role",
        "delete_buckets",
        "schedule_kms_key_deletion",
    ];

    /// Step names for this kind. Updates only include the steps their changes need.
    pub fn steps(self, update: UpdatePlan) -> Vec<&'static str> {
        match self {
            OperationKind::Create => Self::CREATE_STEPS.to_vec(),
            OperationKind::Delete => Self::DELETE_STEPS.to_vec(),
            OperationKind::Update => {
                let mut steps = Vec::with_capacity(3);
                if update.network {
                    steps.push("update_security_group");
                }
                if update.version {
                    // One node at a time, standbys first, so the cluster keeps quorum.
                    steps.push("rolling_upgrade");
                }
                steps.push("wait_for_nodes");
                steps
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans() {
        let table: [(OperationKind, UpdatePlan, &[&str]); 5] = [
            (OperationKind::Create, UpdatePlan::default(), OperationKind::CREATE_STEPS),
            (OperationKind::Delete, UpdatePlan::default(), OperationKind::DELETE_STEPS),
            (
                OperationKind::Update,
                UpdatePlan { network: true, version: false },
                &["update_security_group", "wait_for_nodes"],
            ),
            (
                OperationKind::Update,
                UpdatePlan { network: false, version: true },
                &["rolling_upgrade", "wait_for_nodes"],
            ),
            (
                OperationKind::Update,
                UpdatePlan { network: true, version: true },
                &["update_security_group", "rolling_upgrade", "wait_for_nodes"],
            ),
        ];
        for (kind, plan, expect) in table {
            assert_eq!(kind.steps(plan), expect, "{kind:?} {plan:?}");
        }
    }

    #[test]
    fn terminal_states() {
        let got: Vec<bool> = OperationState::ALL.iter().map(|s| s.is_terminal()).collect();
        assert_eq!(got, [false, false, true, true]);
    }
}
