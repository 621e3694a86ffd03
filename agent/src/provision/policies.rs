//! The three policies every Coffer cluster is provisioned with.
//!
//! Names start with `coffer-`: that prefix is reserved to the operator, and the customer-admin
//! policy itself denies writing `sys/policies/acl/coffer-*`, so a customer can neither weaken
//! these policies nor mint a token that carries the operator's or the agent's rights.

/// Name of the policy given to the customer's administrators.
pub const CUSTOMER_ADMIN: &str = "coffer-customer-admin";
/// Name of the policy of the MSP operating the cluster.
pub const OPERATOR: &str = "coffer-operator";
/// Name of the node agent's own policy.
pub const AGENT: &str = "coffer-agent";

/// Customer admin: everything in the cluster except what the service itself must keep control
/// of. Denied: the audit devices (the customer may not silence the audit trail the operator
/// relies on; `sys/audit*` also covers `sys/audit-hash`), root-token generation (only the
/// operator, holding the KMS-encrypted recovery shares, may do that), the reserved `coffer-*`
/// policies (both API spellings), the agent's own auth mount, and sealing/rekeying and raw
/// storage access, which would take the cluster away from its KMS seal or the operator's
/// snapshots. Vault evaluates `deny` before any grant, so the `*` grant cannot override them.
pub const CUSTOMER_ADMIN_HCL: &str = r#"
path "*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list", "sudo"]
}
path "sys/audit*" { capabilities = ["deny"] }
path "sys/generate-root*" { capabilities = ["deny"] }
path "sys/policies/acl/coffer-*" { capabilities = ["deny"] }
path "sys/policy/coffer-*" { capabilities = ["deny"] }
path "auth/coffer-agent*" { capabilities = ["deny"] }
path "sys/auth/coffer-agent*" { capabilities = ["deny"] }
path "sys/seal" { capabilities = ["deny"] }
path "sys/rekey*" { capabilities = ["deny"] }
path "sys/rekey-recovery-key*" { capabilities = ["deny"] }
path "sys/raw*" { capabilities = ["deny"] }
path "sys/storage/raft/snapshot-force" { capabilities = ["deny"] }
"#;

/// Operator (MSP): enough to run the service, not to read customer secrets. It manages policies
/// (to repair or rotate the reserved ones), reads the mount and auth tables and the audit
/// configuration to diagnose, reads health and metrics, and takes and restores snapshots. It has
/// no grant on secret engine paths, so customer data stays out of reach except through a
/// snapshot, which is encrypted under the cluster's barrier.
pub const OPERATOR_HCL: &str = r#"
path "sys/policies/acl" { capabilities = ["list"] }
path "sys/policies/acl/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "sys/mounts" { capabilities = ["read"] }
path "sys/mounts/*" { capabilities = ["read"] }
path "sys/auth" { capabilities = ["read"] }
path "sys/audit" { capabilities = ["read", "sudo"] }
path "sys/health" { capabilities = ["read"] }
path "sys/seal-status" { capabilities = ["read"] }
path "sys/metrics" { capabilities = ["read"] }
path "sys/storage/raft/snapshot" { capabilities = ["read", "update"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
"#;

/// Agent: the node agent's own narrow token. Health (for supervision), snapshots and restores
/// (the agent ships them to and from the cluster's bucket; the server wants sudo on both),
/// audit-hash (to correlate audit entries without seeing secrets), generate-root (the
/// break-glass path with the KMS-held recovery shares), minting customer-admin tokens through
/// the `coffer-admin` role and revoking them by accessor, plus keeping its own token alive.
/// It cannot read or write customer data itself.
pub const AGENT_HCL: &str = r#"
path "sys/health" { capabilities = ["read"] }
path "sys/storage/raft/snapshot" { capabilities = ["read", "sudo"] }
path "sys/storage/raft/snapshot-force" { capabilities = ["update", "sudo"] }
path "auth/token/create/coffer-admin" { capabilities = ["update"] }
path "auth/token/revoke-accessor" { capabilities = ["update"] }
path "auth/token/lookup-accessor" { capabilities = ["update"] }
path "sys/audit-hash/*" { capabilities = ["update"] }
path "sys/generate-root/*" { capabilities = ["read", "update", "delete"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
"#;

/// Every provisioned policy: (name, HCL).
pub const ALL: [(&str, &str); 3] =
    [(CUSTOMER_ADMIN, CUSTOMER_ADMIN_HCL), (OPERATOR, OPERATOR_HCL), (AGENT, AGENT_HCL)];
