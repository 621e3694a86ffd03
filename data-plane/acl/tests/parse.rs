//! Policy text parsing: accepted forms (HCL, JSON, legacy `policy = ...`) and rejected input
//! with errors naming the offending path and field.

use coffer_acl::{CapSet, Capability, ParseError, PathKind, Policy};

fn parse(text: &str) -> Result<Policy, ParseError> {
    Policy::parse("t", text)
}

fn check_err(text: &str, expect: ParseError) {
    match parse(text) {
        Ok(p) => panic!("expected {expect:?} for {text:?}, parsed {p:?}"),
        Err(e) => assert_eq!(e, expect, "for {text:?}"),
    }
}

fn s(v: &str) -> String {
    v.to_owned()
}

#[test]
fn syntax_errors_are_reported() {
    for text in [r#"path "x" {"#, r#"path "x" { capabilities = ["read" }"#, "{ not json"] {
        assert!(matches!(parse(text), Err(ParseError::Syntax(_))), "{text}");
    }
}

#[test]
fn invalid_fields_name_path_and_field() {
    let table: Vec<(&str, ParseError)> = vec![
        (
            r#"path "a" { capabilitys = ["read"] }"#,
            ParseError::UnknownKey { path: s("a"), key: s("capabilitys") },
        ),
        (
            r#"path "a" { capabilities = ["reed"] }"#,
            ParseError::InvalidCapability { path: s("a"), capability: s("reed") },
        ),
        (
            r#"path "a" { capabilities = "read" }"#,
            ParseError::InvalidField {
                path: s("a"),
                field: "capabilities",
                reason: "expected a list of strings",
            },
        ),
        (
            r#"path "a" { capabilities = [1] }"#,
            ParseError::InvalidField {
                path: s("a"),
                field: "capabilities",
                reason: "expected a list of strings",
            },
        ),
        (
            r#"path "a" { policy = "admin" }"#,
            ParseError::InvalidLegacyPolicy { path: s("a"), policy: s("admin") },
        ),
        (
            r#"path "foo/+*" { capabilities = ["read"] }"#,
            ParseError::InvalidWildcard { path: s("foo/+*") },
        ),
        (
            r#"path "a" {
                capabilities = ["update"]
                min_wrapping_ttl = "2h"
                max_wrapping_ttl = "1h"
            }"#,
            ParseError::WrappingTtlOrder { path: s("a") },
        ),
        (
            r#"path "a" { min_wrapping_ttl = "soon" }"#,
            ParseError::InvalidField {
                path: s("a"),
                field: "min_wrapping_ttl",
                reason: "expected a duration",
            },
        ),
        (
            r#"path "a" { allowed_parameters = ["x"] }"#,
            ParseError::InvalidField {
                path: s("a"),
                field: "allowed_parameters",
                reason: "expected a map of lists",
            },
        ),
        (
            r#"path "a" { denied_parameters = { x = "y" } }"#,
            ParseError::InvalidField {
                path: s("a"),
                field: "denied_parameters",
                reason: "expected a map of lists",
            },
        ),
        (
            r#"path "a" { required_parameters = "x" }"#,
            ParseError::InvalidField {
                path: s("a"),
                field: "required_parameters",
                reason: "expected a list of strings",
            },
        ),
        (r#"foo = 1"#, ParseError::UnknownTopLevelKey(s("foo"))),
        (r#"paths "a" { capabilities = [] }"#, ParseError::UnknownTopLevelKey(s("paths"))),
        (r#"path { capabilities = [] }"#, ParseError::MissingPathLabel),
        (r#"path "a" "b" { capabilities = [] }"#, ParseError::MissingPathLabel),
        (
            r#"{"path": {"a": {"capabilities": ["nope"]}}}"#,
            ParseError::InvalidCapability { path: s("a"), capability: s("nope") },
        ),
        (r#"{"paths": {}}"#, ParseError::UnknownTopLevelKey(s("paths"))),
    ];
    for (text, expect) in table {
        check_err(text, expect);
    }
}

#[test]
fn error_messages_are_readable() {
    let err = parse(r#"path "secret/x" { capabilities = ["reed"] }"#).unwrap_err();
    assert_eq!(err.to_string(), r#"path "secret/x": invalid capability "reed""#);
}

#[test]
fn parses_full_block() {
    let p = parse(
        r#"
        name = "ignored"
        # comment
        path "secret/data/app/*" {
            capabilities = ["create", "read", "update", "patch", "delete", "list", "sudo", "subscribe"]
            allowed_parameters = {
                "Foo" = []
                "bar" = ["x", "y*"]
            }
            denied_parameters = { "baz" = [] }
            required_parameters = ["Foo"]
            min_wrapping_ttl = "1m"
            max_wrapping_ttl = 3600
            mfa_methods = ["m"]
        }
        "#,
    )
    .unwrap();
    let [rule] = p.rules() else { panic!("one rule expected: {p:?}") };
    assert_eq!(rule.pattern, "secret/data/app/");
    assert_eq!(rule.kind, PathKind::Prefix);
    let perms = &rule.permissions;
    assert!(perms.capabilities.contains(Capability::Subscribe));
    assert!(perms.capabilities.contains(Capability::Patch));
    assert!(!perms.capabilities.contains(Capability::Deny));
    assert_eq!(perms.allowed_parameters["foo"], Vec::<serde_json::Value>::new());
    assert_eq!(
        perms.allowed_parameters["bar"],
        vec![serde_json::json!("x"), serde_json::json!("y*")]
    );
    assert!(perms.denied_parameters.contains_key("baz"));
    assert_eq!(perms.required_parameters, ["foo"]);
    assert_eq!((perms.min_wrapping_ttl, perms.max_wrapping_ttl), (60, 3600));
}

#[test]
fn classifies_patterns() {
    for (pattern, kind, stored) in [
        ("secret/foo", PathKind::Exact, "secret/foo"),
        ("/secret/foo", PathKind::Exact, "secret/foo"),
        ("secret/foo*", PathKind::Prefix, "secret/foo"),
        ("*", PathKind::Prefix, ""),
        ("secret/+/x", PathKind::SegmentWildcard, "secret/+/x"),
        ("secret/+/x/*", PathKind::SegmentWildcard, "secret/+/x/*"),
        ("+", PathKind::SegmentWildcard, "+"),
        ("+/x", PathKind::SegmentWildcard, "+/x"),
        ("a+b", PathKind::Exact, "a+b"),
        ("a/*/b", PathKind::Exact, "a/*/b"),
    ] {
        let p = parse(&format!("path \"{pattern}\" {{ capabilities = [\"read\"] }}")).unwrap();
        assert_eq!(p.rules()[0].kind, kind, "{pattern}");
        assert_eq!(p.rules()[0].pattern, stored, "{pattern}");
    }
}

#[test]
fn legacy_policy_shorthand() {
    use Capability::*;
    for (legacy, expect) in [
        ("deny", CapSet::DENY),
        ("read", CapSet::from_caps([Read, List])),
        ("write", CapSet::from_caps([Create, Read, Update, Delete, List])),
        ("sudo", CapSet::from_caps([Create, Read, Update, Delete, List, Sudo])),
    ] {
        let p = parse(&format!("path \"a\" {{ policy = \"{legacy}\" }}")).unwrap();
        assert_eq!(p.rules()[0].permissions.capabilities, expect, "{legacy}");
    }
    // Combined with capabilities the two union.
    let p = parse("path \"a\" {\n policy = \"read\"\n capabilities = [\"patch\"]\n}").unwrap();
    assert_eq!(p.rules()[0].permissions.capabilities, CapSet::from_caps([Read, List, Patch]));
}

#[test]
fn duplicate_blocks_merge_like_vault() {
    let p = parse(
        r#"
        path "a/*" {
            capabilities = ["read"]
            allowed_parameters = { "x" = ["1"], "y" = [] }
            max_wrapping_ttl = "2h"
        }
        path "a/*" {
            capabilities = ["update"]
            allowed_parameters = { "x" = ["2"], "y" = ["3"], "z" = [] }
            required_parameters = ["x"]
            max_wrapping_ttl = "1h"
        }
        path "b" { capabilities = ["read"] }
        path "b" { capabilities = ["deny"] }
        "#,
    )
    .unwrap();
    assert_eq!(p.rules().len(), 2);
    let a = &p.rules()[0].permissions;
    assert_eq!(a.capabilities, CapSet::from_caps([Capability::Read, Capability::Update]));
    let mut x = a.allowed_parameters["x"].clone();
    x.sort_by_key(|v| v.to_string());
    assert_eq!(x, [serde_json::json!("1"), serde_json::json!("2")]);
    // An empty list ("any value") absorbs the other side.
    assert!(a.allowed_parameters["y"].is_empty());
    assert!(a.allowed_parameters["z"].is_empty());
    assert_eq!(a.max_wrapping_ttl, 3600);
    assert_eq!(a.required_parameters, ["x"]);
    assert_eq!(p.rules()[1].permissions.capabilities, CapSet::DENY);
}

#[test]
fn json_policies() {
    let p = parse(
        r#"{"path": {"secret/*": {"capabilities": ["read", "list"]},
                     "sys/mounts": [{"capabilities": ["read"]}, {"capabilities": ["sudo"]}]}}"#,
    )
    .unwrap();
    assert_eq!(p.rules().len(), 2);
    let mounts = p.rules().iter().find(|r| r.pattern == "sys/mounts").unwrap();
    assert_eq!(
        mounts.permissions.capabilities,
        CapSet::from_caps([Capability::Read, Capability::Sudo])
    );
}

#[test]
fn empty_and_default_policies_parse() {
    assert!(parse("").unwrap().rules().is_empty());
    assert!(parse("# only a comment\n").unwrap().rules().is_empty());
    let default = Policy::parse("default", coffer_acl::DEFAULT_POLICY_HCL).unwrap();
    assert!(default.rules().len() >= 18);
    assert_eq!(Policy::default_policy(), default);
}

#[test]
fn reserved_names() {
    for (name, expect) in
        [("root", true), ("default", true), ("Default", true), ("admin", false), ("roots", false)]
    {
        assert_eq!(coffer_acl::is_reserved_name(name), expect, "{name}");
    }
}
