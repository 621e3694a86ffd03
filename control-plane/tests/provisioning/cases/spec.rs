//! What a built cluster must look like in AWS, asserted by describing each resource through
//! the SDK: encryption, tags, policies and network rules, independent of coffer-cloud's code.

use std::collections::BTreeSet;

use coffer_cloud::ClusterRef;
use serde_json::Value;

use crate::harness::aws::{policy_json, Aws, Census, ADMIN_ARN, TAG_CLUSTER};

/// The tags every resource carries.
fn assert_tags(what: &str, c: &ClusterRef, tags: &[(String, String)]) {
    let get = |k: &str| tags.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    assert_eq!(get(TAG_CLUSTER), Some(c.id().as_str()), "{what} tags: {tags:?}");
    assert_eq!(get("coffer:org-id"), Some(c.org_id.to_string().as_str()), "{what} tags: {tags:?}");
    assert_eq!(get("coffer:managed-by"), Some("coffer"), "{what} tags: {tags:?}");
}

/// Statements of a policy document as a list.
fn statements(policy: &Value) -> Vec<Value> {
    match &policy["Statement"] {
        Value::Array(v) => v.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

/// Whether any statement with `effect` names `principal` (string or list) under `AWS`.
fn grants(policy: &Value, effect: &str, principal: &str) -> bool {
    statements(policy).iter().any(|s| {
        s["Effect"] == effect
            && match &s["Principal"]["AWS"] {
                Value::String(p) => p == principal,
                Value::Array(ps) => ps.iter().any(|p| p == principal),
                _ => false,
            }
    })
}

/// The cluster key: alias, rotation, policy naming the control plane and the node role, tags.
/// Returns the key ARN.
pub async fn kms_key(aws: &Aws, c: &ClusterRef, node_role_arn: &str) -> String {
    let keys = aws.kms_keys(c).await;
    assert_eq!(keys.len(), 1, "exactly one key: {keys:?}");
    let key = &keys[0];
    let (id, arn) = (key.key_id(), key.arn().expect("key arn").to_owned());
    assert_eq!(key.key_state().map(|s| s.as_str()), Some("Enabled"));
    let aliases = aws.kms.list_aliases().key_id(id).send().await.unwrap();
    let names: Vec<&str> = aliases.aliases().iter().filter_map(|a| a.alias_name()).collect();
    assert_eq!(names, vec![c.kms_alias().as_str()], "alias of the cluster key");
    let rotation = aws.kms.get_key_rotation_status().key_id(id).send().await.unwrap();
    assert!(rotation.key_rotation_enabled(), "automatic rotation is on");
    let policy = aws.kms.get_key_policy().key_id(id).policy_name("default").send().await.unwrap();
    let policy = policy_json(policy.policy().expect("key policy"));
    assert!(grants(&policy, "Allow", ADMIN_ARN), "control plane administers the key: {policy}");
    assert!(grants(&policy, "Allow", node_role_arn), "node role uses the key: {policy}");
    let tags: Vec<(String, String)> = aws.kms_tags(id).await.into_iter().collect();
    assert_tags("kms key", c, &tags);
    arn
}

/// Both buckets: SSE-KMS with the cluster key and a bucket key, public access blocked, TLS
/// enforced by policy, a lifecycle, tags.
pub async fn buckets(aws: &Aws, c: &ClusterRef, key_arn: &str) {
    let mut names = aws.buckets(c).await;
    names.sort();
    let want: Vec<String> =
        ["audit", "snapshots"].iter().map(|p| format!("coffer-{}-{p}", c.id())).collect();
    assert_eq!(names, want, "the cluster's buckets");
    let key_id = key_arn.rsplit('/').next().unwrap_or_default();
    for name in &names {
        let enc = aws.s3.get_bucket_encryption().bucket(name).send().await.unwrap();
        let rules = enc
            .server_side_encryption_configuration()
            .map(|c| c.rules().to_vec())
            .unwrap_or_default();
        assert_eq!(rules.len(), 1, "{name}: one encryption rule");
        let default =
            rules[0].apply_server_side_encryption_by_default().expect("default encryption");
        assert_eq!(default.sse_algorithm().as_str(), "aws:kms", "{name}");
        let master = default.kms_master_key_id().unwrap_or_default();
        assert!(
            master == key_arn || master == key_id,
            "{name} encrypted with {master}, not the cluster key"
        );
        assert_eq!(rules[0].bucket_key_enabled(), Some(true), "{name}: bucket key");
        let pab = aws.s3.get_public_access_block().bucket(name).send().await.unwrap();
        let pab = pab.public_access_block_configuration().expect("public access block");
        let all = [
            pab.block_public_acls(),
            pab.ignore_public_acls(),
            pab.block_public_policy(),
            pab.restrict_public_buckets(),
        ];
        assert!(all.iter().all(|b| *b == Some(true)), "{name}: public access block {pab:?}");
        let policy = aws.s3.get_bucket_policy().bucket(name).send().await.unwrap();
        let policy = policy_json(policy.policy().expect("bucket policy"));
        let denies_plain = statements(&policy).iter().any(|s| {
            s["Effect"] == "Deny" && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
        });
        assert!(denies_plain, "{name}: policy must refuse plain HTTP: {policy}");
        let lifecycle =
            aws.s3.get_bucket_lifecycle_configuration().bucket(name).send().await.unwrap();
        let expires = lifecycle.rules().iter().any(|r| {
            r.status().as_str() == "Enabled" && r.noncurrent_version_expiration().is_some()
        });
        assert!(expires, "{name}: noncurrent versions expire: {lifecycle:?}");
        let tagging = aws.s3.get_bucket_tagging().bucket(name).send().await.unwrap();
        let tags: Vec<(String, String)> =
            tagging.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        assert_tags(name, c, &tags);
    }
}

/// The node role: EC2 trust only, one inline policy limited to the cluster's key and buckets,
/// an instance profile holding it, tags. Returns `(role arn, profile arn)`.
pub async fn node_role(aws: &Aws, c: &ClusterRef, key_arn: &str) -> (String, String) {
    let roles = aws.roles(c).await;
    assert_eq!(roles.len(), 1, "one node role: {roles:?}");
    let role = &roles[0];
    assert_eq!(role.role_name(), c.node_role_name());
    let trust = policy_json(role.assume_role_policy_document().expect("trust policy"));
    let services: Vec<Value> =
        statements(&trust).iter().map(|s| s["Principal"]["Service"].clone()).collect();
    assert_eq!(
        services,
        vec![Value::String("ec2.amazonaws.com".into())],
        "only EC2 may assume: {trust}"
    );
    let inline = aws.iam.list_role_policies().role_name(role.role_name()).send().await.unwrap();
    assert_eq!(inline.policy_names().len(), 1, "one inline policy");
    let doc = aws
        .iam
        .get_role_policy()
        .role_name(role.role_name())
        .policy_name(&inline.policy_names()[0])
        .send()
        .await
        .unwrap();
    let doc = doc.policy_document().to_owned();
    let doc = policy_json(&doc);
    let text = doc.to_string();
    assert!(text.contains(key_arn), "role policy names the cluster key: {text}");
    for bucket in ["audit", "snapshots"] {
        assert!(
            text.contains(&format!("arn:aws:s3:::coffer-{}-{bucket}", c.id())),
            "role policy names bucket {bucket}: {text}"
        );
    }
    for st in statements(&doc) {
        let everything = match &st["Resource"] {
            Value::String(r) => r == "*",
            Value::Array(rs) => rs.iter().any(|r| r == "*"),
            _ => false,
        };
        assert!(!everything, "role policy grants on every resource: {st}");
    }
    let role_tags = aws.iam.list_role_tags().role_name(role.role_name()).send().await.unwrap();
    let tags: Vec<(String, String)> =
        role_tags.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
    assert_tags("node role", c, &tags);
    let profiles = aws.instance_profiles(c).await;
    assert_eq!(profiles.len(), 1, "one instance profile");
    let members: Vec<&str> = profiles[0].roles().iter().map(|r| r.role_name()).collect();
    assert_eq!(members, vec![role.role_name()], "the profile holds the node role");
    (role.arn().to_owned(), profiles[0].arn().to_owned())
}

/// The ingress rules of the cluster's only group, as `(protocol, from, to, source)`.
pub async fn ingress(aws: &Aws, c: &ClusterRef) -> (String, BTreeSet<(String, i32, i32, String)>) {
    let groups = aws.security_groups(c).await;
    assert_eq!(groups.len(), 1, "one security group: {groups:?}");
    let g = &groups[0];
    let id = g.group_id().expect("group id").to_owned();
    let tags: Vec<(String, String)> = g
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned()))
        .collect();
    assert_tags("security group", c, &tags);
    let mut rules = BTreeSet::new();
    for p in g.ip_permissions() {
        let proto = p.ip_protocol().unwrap_or_default().to_owned();
        let (from, to) = (p.from_port().unwrap_or(-1), p.to_port().unwrap_or(-1));
        for r in p.ip_ranges() {
            rules.insert((proto.clone(), from, to, r.cidr_ip().unwrap_or_default().to_owned()));
        }
        for r in p.ipv6_ranges() {
            rules.insert((proto.clone(), from, to, r.cidr_ipv6().unwrap_or_default().to_owned()));
        }
        for pair in p.user_id_group_pairs() {
            rules.insert((proto.clone(), from, to, pair.group_id().unwrap_or_default().to_owned()));
        }
    }
    (id, rules)
}

/// Exactly TCP 8200 from each allowed CIDR plus all traffic from the group itself; never 22.
pub async fn security_group(aws: &Aws, c: &ClusterRef, allow: &[&str]) -> String {
    let (id, rules) = ingress(aws, c).await;
    let mut want: BTreeSet<(String, i32, i32, String)> =
        allow.iter().map(|cidr| ("tcp".to_owned(), 8200, 8200, (*cidr).to_owned())).collect();
    // moto reports "all traffic" with or without ports; accept either spelling.
    let self_rule = rules.iter().find(|r| r.3 == id && r.0 == "-1").cloned();
    assert!(self_rule.is_some(), "node-to-node rule from the group itself: {rules:?}");
    want.extend(self_rule);
    assert_eq!(rules, want, "ingress rules");
    assert!(
        !rules.iter().any(|r| r.0 == "tcp" && r.1 <= 22 && 22 <= r.2),
        "port 22 open: {rules:?}"
    );
    id
}

/// Instances: hardened metadata, no key pair, the node profile, the group, encrypted volumes
/// with the cluster key, user data carrying a join token, spread across AZs.
pub async fn instances(
    aws: &Aws,
    c: &ClusterRef,
    nodes: usize,
    key_arn: &str,
    profile_arn: &str,
    sg: &str,
) {
    let found = aws.instances(c).await;
    assert_eq!(found.len(), nodes, "instances: {found:?}");
    let mut zones = BTreeSet::new();
    let mut indexes = BTreeSet::new();
    for inst in &found {
        let id = inst.instance_id().expect("instance id");
        let meta = inst.metadata_options().expect("metadata options");
        assert_eq!(meta.http_tokens().map(|t| t.as_str()), Some("required"), "{id}: IMDSv2 only");
        assert_eq!(meta.http_put_response_hop_limit(), Some(1), "{id}: hop limit 1");
        assert_eq!(inst.key_name(), None, "{id}: no SSH key pair");
        assert_eq!(
            inst.iam_instance_profile().and_then(|p| p.arn()),
            Some(profile_arn),
            "{id}: profile"
        );
        let groups: Vec<&str> =
            inst.security_groups().iter().filter_map(|g| g.group_id()).collect();
        assert_eq!(groups, vec![sg], "{id}: only the cluster group");
        zones.extend(inst.placement().and_then(|p| p.availability_zone()).map(str::to_owned));
        let doc = aws.bootstrap(id).await;
        assert_eq!(doc.cluster_id, c.cluster_id, "{id}: bootstrap cluster");
        assert_eq!(doc.kms_key_arn, key_arn, "{id}: bootstrap key");
        assert_eq!(doc.snapshot_bucket, format!("coffer-{}-snapshots", c.id()));
        assert_eq!(doc.audit_bucket, format!("coffer-{}-audit", c.id()));
        assert!(
            doc.join_token.as_ref().is_some_and(|t| !t.expose().is_empty()),
            "{id}: join token"
        );
        indexes.insert(doc.node_index);
    }
    assert_eq!(indexes, (0..nodes as u32).collect::<BTreeSet<_>>(), "one instance per node index");
    assert_eq!(zones.len(), nodes, "nodes spread across availability zones: {zones:?}");
    let volumes = aws.volumes(c).await;
    assert!(volumes.len() >= nodes, "every node has its volumes: {volumes:?}");
    for v in &volumes {
        assert_eq!(v.encrypted(), Some(true), "volume {:?} encrypted", v.volume_id());
        assert_eq!(
            v.kms_key_id(),
            Some(key_arn),
            "volume {:?} uses the cluster key",
            v.volume_id()
        );
    }
}

/// Everything of a running `nodes`-node cluster allowing `allow`. Returns the key ARN.
pub async fn running_cluster(aws: &Aws, c: &ClusterRef, nodes: usize, allow: &[&str]) -> String {
    assert_eq!(aws.census(c).await, Census::running(nodes), "resource counts");
    let keys = aws.kms_keys(c).await;
    let key_arn = keys.first().and_then(|k| k.arn()).expect("the cluster key").to_owned();
    let (role_arn, profile_arn) = node_role(aws, c, &key_arn).await;
    assert_eq!(kms_key(aws, c, &role_arn).await, key_arn);
    buckets(aws, c, &key_arn).await;
    let sg = security_group(aws, c, allow).await;
    instances(aws, c, nodes, &key_arn, &profile_arn, &sg).await;
    key_arn
}
