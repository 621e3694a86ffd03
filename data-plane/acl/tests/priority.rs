//! Vault's path matching and precedence rules, table-driven. Every example from Vault's
//! "Policies" documentation (priority matching, globs, `+` segments, deny) is here, plus the
//! tie-breaks from Vault's ACL implementation.

use coffer_acl::{Acl, Operation, Policy};

fn acl(policies: &[&str]) -> Acl {
    let parsed: Vec<Policy> = policies
        .iter()
        .enumerate()
        .map(|(i, text)| Policy::parse(&format!("p{i}"), text).expect("test policy parses"))
        .collect();
    Acl::new(&parsed)
}

/// `expect` is what `sys/capabilities` would report for `path`.
fn check(policies: &[&str], path: &str, expect: &[&str]) {
    let got = acl(policies).capability_names(path);
    assert_eq!(got, expect, "path {path:?} with policies {policies:#?}");
}

fn rule(path: &str, caps: &str) -> String {
    format!("path \"{path}\" {{ capabilities = [{caps}] }}\n")
}

#[test]
fn docs_examples_exact_glob_and_segments() {
    let policy = [
        rule("secret/foo", r#""read""#),
        rule("secret/bar/*", r#""update""#),
        rule("secret/zip-*", r#""create""#),
        rule("secret/+/teamb", r#""list""#),
        rule("secret/+/+/teamc", r#""delete""#),
    ]
    .concat();
    let p = [policy.as_str()];
    for (path, expect) in [
        ("secret/foo", &["read"][..]),
        ("secret/food", &["deny"]),
        ("secret/foo/bar", &["deny"]),
        ("secret/bar/zip", &["update"]),
        ("secret/bar/zip/zap", &["update"]),
        ("secret/bars/zip", &["deny"]),
        ("secret/bar", &["deny"]),
        ("secret/zip-zap", &["create"]),
        ("secret/zip-zap/zong", &["create"]),
        ("secret/zip/zap", &["deny"]),
        ("secret/foo/teamb", &["list"]),
        ("secret/baz/teamb", &["list"]),
        // secret/bar/* has its first glob later than secret/+/teamb's "+", so it wins.
        ("secret/bar/teamb", &["update"]),
        ("secret/foo/bar/teamb", &["deny"]),
        ("secret/foo/bar/teamc", &["delete"]),
        ("secret/foo/teamc", &["deny"]),
        ("secret/a/b/c/teamc", &["deny"]),
        ("", &["deny"]),
    ] {
        check(&p, path, expect);
    }
}

#[test]
fn exact_beats_glob() {
    let policy = [rule("secret/foo", r#""read""#), rule("secret/foo*", r#""update""#)].concat();
    let p = [policy.as_str()];
    check(&p, "secret/foo", &["read"]);
    check(&p, "secret/food", &["update"]);
    check(&p, "secret/foo/bar", &["update"]);
    check(&p, "secret/fo", &["deny"]);
}

#[test]
fn longest_glob_wins() {
    let policy = [
        rule("secret/*", r#""read""#),
        rule("secret/a/*", r#""update""#),
        rule("secret/a/b*", r#""create""#),
        rule("*", r#""list""#),
    ]
    .concat();
    let p = [policy.as_str()];
    check(&p, "secret/x", &["read"]);
    check(&p, "secret/a/x", &["update"]);
    check(&p, "secret/a/bc/d", &["create"]);
    check(&p, "other/path", &["list"]);
    check(&p, "secret", &["list"]);
}

#[test]
fn priority_rule_1_later_first_wildcard_wins() {
    for (policy, path, expect) in [
        // Prefer foo/a* over foo/+.
        ([rule("foo/a*", r#""read""#), rule("foo/+", r#""update""#)], "foo/ab", &["read"][..]),
        ([rule("foo/a*", r#""read""#), rule("foo/+", r#""update""#)], "foo/b", &["update"]),
        // Prefer foo/bar/+/baz over foo/+/bar/baz.
        (
            [rule("foo/bar/+/baz", r#""read""#), rule("foo/+/bar/baz", r#""update""#)],
            "foo/bar/bar/baz",
            &["read"],
        ),
        (
            [rule("foo/bar/+/baz", r#""read""#), rule("foo/+/bar/baz", r#""update""#)],
            "foo/x/bar/baz",
            &["update"],
        ),
    ] {
        let text = policy.concat();
        check(&[&text], path, expect);
    }
}

#[test]
fn priority_rule_2_not_ending_in_glob_wins() {
    for (policy, path, expect) in [
        // Prefer foo/+/bar over foo/+/ba*.
        (
            [rule("foo/+/bar", r#""read""#), rule("foo/+/ba*", r#""update""#)],
            "foo/x/bar",
            &["read"][..],
        ),
        (
            [rule("foo/+/bar", r#""read""#), rule("foo/+/ba*", r#""update""#)],
            "foo/x/baz",
            &["update"],
        ),
        // Prefer foo/+ over foo/*.
        ([rule("foo/+", r#""read""#), rule("foo/*", r#""update""#)], "foo/x", &["read"]),
        ([rule("foo/+", r#""read""#), rule("foo/*", r#""update""#)], "foo/x/y", &["update"]),
    ] {
        let text = policy.concat();
        check(&[&text], path, expect);
    }
}

#[test]
fn priority_rule_3_fewer_wildcards_win() {
    for (policy, path, expect) in [
        // Prefer foo/+/bar/baz over foo/+/+/baz.
        (
            [rule("foo/+/bar/baz", r#""read""#), rule("foo/+/+/baz", r#""update""#)],
            "foo/a/bar/baz",
            &["read"][..],
        ),
        (
            [rule("foo/+/bar/baz", r#""read""#), rule("foo/+/+/baz", r#""update""#)],
            "foo/a/qux/baz",
            &["update"],
        ),
        // Vault's documented example: secret/* outranks secret/+/+/foo/*.
        (
            [rule("secret/*", r#""read""#), rule("secret/+/+/foo/*", r#""update""#)],
            "secret/a/b/foo/c",
            &["read"],
        ),
    ] {
        let text = policy.concat();
        check(&[&text], path, expect);
    }
}

#[test]
fn priority_rule_4_longer_wins_and_rule_5_lexical() {
    for (policy, path, expect) in [
        // Prefer foo/+/bar/ba* over foo/+/bar/b*.
        (
            [rule("foo/+/bar/ba*", r#""read""#), rule("foo/+/bar/b*", r#""update""#)],
            "foo/x/bar/baz",
            &["read"][..],
        ),
        (
            [rule("foo/+/bar/ba*", r#""read""#), rule("foo/+/bar/b*", r#""update""#)],
            "foo/x/bar/bz",
            &["update"],
        ),
        // Equal on every other rule: the lexically greater pattern wins.
        ([rule("+/b/+", r#""read""#), rule("+/+/c", r#""update""#)], "a/b/c", &["read"]),
        ([rule("+/+/c", r#""update""#), rule("+/b/+", r#""read""#)], "a/b/c", &["read"]),
    ] {
        let text = policy.concat();
        check(&[&text], path, expect);
    }
}

#[test]
fn leading_wildcard_and_literal_first_segment_patterns_compete() {
    let policy =
        [rule("+/x", r#""read""#), rule("a/+", r#""update""#), rule("+", r#""list""#)].concat();
    let p = [policy.as_str()];
    check(&p, "a/x", &["update"]);
    check(&p, "b/x", &["read"]);
    check(&p, "a/y", &["update"]);
    check(&p, "b", &["list"]);
    check(&p, "b/y", &["deny"]);
}

#[test]
fn segment_wildcard_with_trailing_glob() {
    let policy = [rule("secret/data/+/teamb/*", r#""read""#), rule("kv/+/*", r#""list""#)].concat();
    let p = [policy.as_str()];
    check(&p, "secret/data/x/teamb/y", &["read"]);
    check(&p, "secret/data/x/teamb/", &["read"]);
    check(&p, "secret/data/x/teamb", &["deny"]);
    check(&p, "secret/data/x/y/teamb/z", &["deny"]);
    check(&p, "kv/a/b/c", &["list"]);
    check(&p, "kv/a/", &["list"]);
    // "kv/a" has fewer segments than the pattern "kv/+/" and cannot match.
    check(&p, "kv/a", &["deny"]);
}

#[test]
fn plus_inside_a_segment_is_literal() {
    let policy = rule("foo/a+b", r#""read""#);
    check(&[&policy], "foo/a+b", &["read"]);
    check(&[&policy], "foo/axb", &["deny"]);
    let policy = rule("foo/+bar", r#""read""#);
    check(&[&policy], "foo/+bar", &["read"]);
    check(&[&policy], "foo/xbar", &["deny"]);
}

#[test]
fn deny_wins_within_a_pattern_not_across_patterns() {
    // Deny on an exact path overrides a broader grant.
    let policy = [rule("secret/*", r#""read""#), rule("secret/super-secret", r#""deny""#)].concat();
    check(&[&policy], "secret/super-secret", &["deny"]);
    check(&[&policy], "secret/other", &["read"]);
    // Same pattern in two policies: deny wins regardless of order.
    let grant = rule("secret/*", r#""read", "list""#);
    let deny = rule("secret/*", r#""deny""#);
    check(&[&grant, &deny], "secret/x", &["deny"]);
    check(&[&deny, &grant], "secret/x", &["deny"]);
    // deny listed alongside other capabilities is just deny.
    check(&[&rule("a", r#""read", "deny""#)], "a", &["deny"]);
    // A broad deny does not override a more specific grant (Vault picks one rule per path).
    let broad_deny = rule("secret/*", r#""deny""#);
    let specific = rule("secret/foo", r#""read""#);
    check(&[&broad_deny, &specific], "secret/foo", &["read"]);
    check(&[&broad_deny, &specific], "secret/bar", &["deny"]);
}

#[test]
fn same_pattern_merges_across_and_within_policies() {
    let a = rule("secret/*", r#""read""#);
    let b = rule("secret/*", r#""create", "update""#);
    check(&[&a, &b], "secret/x", &["read", "update", "create"]);
    let both = [a.as_str(), b.as_str()].concat();
    check(&[&both], "secret/x", &["read", "update", "create"]);
    // Different kinds for the same stem do not merge: exact "x" vs prefix "x*".
    let c = [rule("x", r#""read""#), rule("x*", r#""update""#)].concat();
    check(&[&c], "x", &["read"]);
    // Segment patterns merge too.
    let d = rule("kv/+/cfg", r#""read""#);
    let e = rule("kv/+/cfg", r#""patch", "sudo""#);
    check(&[&d, &e], "kv/app/cfg", &["sudo", "read", "patch"]);
}

#[test]
fn list_uses_path_without_trailing_slash() {
    let policy = [rule("secret/foo", r#""list""#), rule("kv/+", r#""list""#)].concat();
    let acl = acl(&[&policy]);
    assert!(acl.allows("secret/foo/", Operation::List));
    assert!(acl.allows("secret/foo", Operation::List));
    assert!(!acl.allows("secret/foo/", Operation::Read));
    // "kv/a/" has three segments; only the trimmed "kv/a" matches "kv/+".
    assert!(acl.allows("kv/a/", Operation::List));
    assert!(!acl.allows("kv/a/", Operation::Read));
    assert_eq!(acl.capability_names("secret/foo/"), ["list"]);
}

#[test]
fn leading_slashes_are_ignored() {
    let policy = rule("/secret/foo", r#""read""#);
    check(&[&policy], "secret/foo", &["read"]);
    check(&[&policy], "/secret/foo", &["read"]);
    check(&[&policy], "//secret/foo", &["read"]);
}

#[test]
fn operations_map_to_capabilities() {
    let policy = rule("p", r#""update""#);
    let acl = acl(&[&policy]);
    for (op, expect) in [
        (Operation::Update, true),
        (Operation::Renew, true),
        (Operation::Revoke, true),
        (Operation::Rollback, true),
        (Operation::Create, false),
        (Operation::Read, false),
        (Operation::Delete, false),
        (Operation::List, false),
        (Operation::Patch, false),
        (Operation::Help, true),
    ] {
        assert_eq!(acl.allows("p", op), expect, "{op:?}");
    }
    assert!(acl.allows("unrelated", Operation::Help));
    assert!(!acl.allows("unrelated", Operation::Read));
}

#[test]
fn sudo_is_reported() {
    let policy = [rule("sys/mounts", r#""read", "sudo""#), rule("sys/auth", r#""read""#)].concat();
    let acl = acl(&[&policy]);
    let d = acl.allowed("sys/mounts", Operation::Read);
    assert!(d.allowed && d.sudo_ok && !d.is_root);
    let d = acl.allowed("sys/auth", Operation::Read);
    assert!(d.allowed && !d.sudo_ok);
    // sudo alone grants no operation.
    let d = acl.allowed("sys/mounts", Operation::Update);
    assert!(!d.allowed && d.sudo_ok);
}

#[test]
fn root_allows_everything() {
    let acl = Acl::root();
    assert!(acl.is_root());
    assert_eq!(acl.capability_names("any/path"), ["root"]);
    let d = acl.allowed("sys/raw/x", Operation::Delete);
    assert!(d.allowed && d.sudo_ok && d.is_root);
    assert!(d.authorize(&serde_json::Map::new(), None).is_ok());
    // root combined with other policies is still root.
    let other = Policy::parse("other", &rule("a", r#""deny""#)).unwrap();
    let acl = Acl::new([&other, &Policy::root()]);
    assert!(acl.allows("a", Operation::Read));
}

#[test]
fn no_policies_deny_everything() {
    let acl = Acl::new(std::iter::empty());
    assert_eq!(acl.capability_names("secret/x"), ["deny"]);
    assert!(!acl.allows("secret/x", Operation::Read));
}

#[test]
fn default_policy_grants_what_vault_grants() {
    let acl = Acl::new(&[Policy::default_policy()]);
    for (path, expect) in [
        ("auth/token/lookup-self", &["read"][..]),
        ("auth/token/renew-self", &["update"]),
        ("auth/token/revoke-self", &["update"]),
        ("sys/capabilities-self", &["update"]),
        ("sys/leases/renew", &["update"]),
        ("sys/wrapping/unwrap", &["update"]),
        ("sys/tools/hash/sha2-512", &["update"]),
        ("sys/control-group/request", &["update"]),
        ("cubbyhole/my/secret", &["read", "list", "update", "delete", "create"]),
        ("identity/oidc/provider/p1/authorize", &["read", "update"]),
        ("sys/mounts", &["deny"]),
        ("secret/data/x", &["deny"]),
        ("auth/token/create", &["deny"]),
        // Templated paths are skipped (no identity entity to render them with).
        ("identity/entity/id/{{identity.entity.id}}", &["deny"]),
    ] {
        assert_eq!(acl.capability_names(path), expect, "{path}");
    }
}

#[test]
fn many_rules_resolve_to_the_right_grants() {
    let mut text = String::new();
    for i in 0..300 {
        text.push_str(&rule(&format!("app{i}/config"), r#""read""#));
        text.push_str(&rule(&format!("app{i}/data/*"), r#""read", "list""#));
        text.push_str(&rule(&format!("app{i}/+/team/*"), r#""update""#));
    }
    let acl = acl(&[&text]);
    assert_eq!(acl.capability_names("app299/x/team/y"), ["update"]);
    let paths = ["app150/config", "app150/data/a/b", "app7/zz/team/q", "nomatch/x/y"];
    let mut granted = 0u32;
    for i in 0..20_000 {
        if acl.allows(paths[i % paths.len()], Operation::Read) {
            granted += 1;
        }
    }
    // Speed is the benchmark's business (docs/benchmarks.md), not a timed test's.
    assert_eq!(granted, 10_000);
}

#[test]
fn acl_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Acl>();
    assert_send_sync::<Policy>();
}
