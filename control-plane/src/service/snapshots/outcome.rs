//! What a snapshot command's answer (or its silence) means for the snapshot.
//!
//! A take that fails leaves no usable object, so the snapshot fails. A restore is different:
//! the object in the bucket is unchanged by a node that was busy, sealed or timed out, so the
//! snapshot goes back to `available` and the reason is kept as its last restore. Only a
//! failure that proves the object itself bad marks the snapshot `failed`.

use coffer_node_api::commands::{CommandOutput, CommandResult};
use uuid::Uuid;

use crate::store::snapshots::{state, Settle};

/// Shown when a command expired without an answer.
pub const NODE_DID_NOT_ANSWER: &str = "the cluster's node did not answer in time";
/// Agent messages are customer-safe by contract; still, keep what we store bounded.
const MAX_ERROR_LEN: usize = 500;

/// Starts of the agent's public restore failures that are about the object, not the node
/// (agent/src/snapshots.rs `download` and `restore`). The wire carries only the message, so
/// this list follows the agent's wording; a reworded message degrades to "snapshot kept
/// available", never to a good snapshot condemned.
const OBJECT_IS_BAD: [&str; 2] =
    ["the snapshot object failed its integrity check", "the snapshot object does not exist"];

/// The settlement for an in-flight snapshot in `from` (creating or restoring) given the
/// command's stored result; `None` while the command is unanswered and not yet `expired`.
pub(super) fn outcome(
    snapshot: Uuid,
    from: &str,
    result: Option<CommandResult>,
    expired: bool,
) -> Option<Settle> {
    let restoring = from == state::RESTORING;
    // A failure of the attempt, not of the object: restores keep the snapshot available.
    let attempt_failed = |error: String| {
        if restoring {
            Settle::RestoreFailed { error }
        } else {
            Settle::Failed { error }
        }
    };
    let settle = match result {
        Some(CommandResult::Succeeded { output }) => match (restoring, output) {
            (false, CommandOutput::Snapshot { size_bytes, sha256 }) => {
                match (i64::try_from(size_bytes), is_sha256_hex(&sha256)) {
                    (Ok(size_bytes), true) => {
                        Settle::Taken { size_bytes, sha256: sha256.to_ascii_lowercase() }
                    }
                    _ => {
                        tracing::warn!(
                            %snapshot,
                            size_bytes,
                            "node reported an invalid snapshot size or checksum"
                        );
                        Settle::Failed { error: "the node reported an invalid snapshot".into() }
                    }
                }
            }
            (true, CommandOutput::SnapshotRestored) => Settle::Restored,
            // Outputs are not logged: another command's output may carry sealed material.
            _ => {
                tracing::warn!(%snapshot, state = from, "unexpected command output for a snapshot");
                attempt_failed("the node answered with an unexpected result".into())
            }
        },
        Some(CommandResult::Failed { error }) if restoring && proves_object_bad(&error) => {
            Settle::Failed { error: bounded(&error) }
        }
        Some(CommandResult::Failed { error }) => attempt_failed(bounded(&error)),
        None if expired => attempt_failed(NODE_DID_NOT_ANSWER.into()),
        None => return None,
    };
    Some(settle)
}

fn proves_object_bad(error: &str) -> bool {
    OBJECT_IS_BAD.iter().any(|start| error.starts_with(start))
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// At most `MAX_ERROR_LEN` bytes, cut at a character boundary.
fn bounded(s: &str) -> String {
    if s.len() <= MAX_ERROR_LEN {
        return s.to_owned();
    }
    let mut end = MAX_ERROR_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(error: &str) -> Option<CommandResult> {
        Some(CommandResult::Failed { error: error.into() })
    }

    #[test]
    fn checksums_and_bounds() {
        let check = |s: &str, ok: bool| assert_eq!(is_sha256_hex(s), ok, "{s}");
        check(&"a".repeat(64), true);
        check(&"A0".repeat(32), true);
        check(&"a".repeat(63), false);
        check(&"g".repeat(64), false);
        assert_eq!(bounded("short"), "short");
        let long = "é".repeat(400);
        let cut = bounded(&long);
        assert!(cut.len() <= MAX_ERROR_LEN && long.starts_with(&cut));
    }

    #[test]
    fn only_a_bad_object_fails_a_restoring_snapshot() {
        let id = Uuid::nil();
        let restore = |result, expired| outcome(id, state::RESTORING, result, expired);
        let busy = "the server refused the snapshot";
        assert_eq!(
            restore(failed(busy), false),
            Some(Settle::RestoreFailed { error: busy.into() })
        );
        assert_eq!(
            restore(None, true),
            Some(Settle::RestoreFailed { error: NODE_DID_NOT_ANSWER.into() })
        );
        assert_eq!(restore(None, false), None);
        for bad in [
            "the snapshot object failed its integrity check; nothing was restored",
            "the snapshot object does not exist",
        ] {
            assert_eq!(restore(failed(bad), false), Some(Settle::Failed { error: bad.into() }));
        }
        // Creating: any failure or silence fails the snapshot, as before.
        let take = |result, expired| outcome(id, state::CREATING, result, expired);
        assert_eq!(take(failed(busy), false), Some(Settle::Failed { error: busy.into() }));
        assert_eq!(take(None, true), Some(Settle::Failed { error: NODE_DID_NOT_ANSWER.into() }));
    }
}
