//! Test-only fault hook: `COFFER_FAULT_EXIT_AFTER_STEP=<step name>` makes the process exit
//! with status 137 (as if SIGKILLed) right after that step's result is committed.
//!
//! Crash tests use it to stop a replica at an exact point and check that another one resumes
//! without redoing or losing work. It is compiled into every build so the binary under test is
//! the binary we ship; the variable is read once, when the engine is built, and logged loudly.

use std::sync::Arc;

/// The environment variable naming the step.
pub const ENV: &str = "COFFER_FAULT_EXIT_AFTER_STEP";

/// What to do when the named step commits.
#[derive(Clone)]
pub enum FaultAction {
    /// Exit the process with status 137.
    Exit,
    /// Call back instead (engine tests in this crate simulate a crash without exiting).
    Call(Arc<dyn Fn() + Send + Sync>),
}

#[derive(Clone, Default)]
pub struct FaultHook {
    step: Option<(String, FaultAction)>,
}

impl std::fmt::Debug for FaultHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultHook").field("step", &self.step.as_ref().map(|s| &s.0)).finish()
    }
}

impl FaultHook {
    /// Reads [`ENV`] once.
    pub fn from_env() -> FaultHook {
        match std::env::var(ENV) {
            Ok(step) if !step.is_empty() => {
                tracing::warn!(step = %step, "fault hook armed: the process exits after this step");
                FaultHook { step: Some((step, FaultAction::Exit)) }
            }
            _ => FaultHook::default(),
        }
    }

    pub fn after_step(step: impl Into<String>, action: FaultAction) -> FaultHook {
        FaultHook { step: Some((step.into(), action)) }
    }

    /// Called right after `step`'s result is committed. Returns true when the hook fired and
    /// the caller must stop as if it had crashed.
    pub fn fire(&self, step: &str) -> bool {
        match &self.step {
            Some((name, action)) if name == step => match action {
                FaultAction::Exit => {
                    tracing::error!(step, "fault hook: exiting after step");
                    std::process::exit(137);
                }
                FaultAction::Call(f) => {
                    f();
                    true
                }
            },
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn fires_only_for_its_step() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let hook = FaultHook::after_step(
            "create_buckets",
            FaultAction::Call(Arc::new(move || {
                c.fetch_add(1, Ordering::SeqCst);
            })),
        );
        assert!(!hook.fire("create_kms_key"));
        assert!(hook.fire("create_buckets"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(!FaultHook::default().fire("create_buckets"));
    }
}
