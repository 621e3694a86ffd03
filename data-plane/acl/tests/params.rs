//! Parameter constraints and wrapping-TTL bounds, checked through `Decision` like the server
//! does after the capability check.

use coffer_acl::{Acl, Denial, Operation, Policy};
use serde_json::{json, Map, Value};

fn acl(text: &str) -> Acl {
    Acl::new(&[Policy::parse("p", text).expect("test policy parses")])
}

fn body(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `expect`: `None` = allowed, `Some(denial)` = refused for that reason.
fn check(policy: &str, op: Operation, data: Value, expect: Option<Denial>) {
    let acl = acl(policy);
    let got = acl.allowed("p", op).authorize(&body(data.clone()), None).err();
    assert_eq!(got, expect, "policy {policy}\nop {op:?}\ndata {data}");
}

fn denied(name: &str) -> Option<Denial> {
    Some(Denial::ParameterDenied(name.to_owned()))
}

fn not_allowed(name: &str) -> Option<Denial> {
    Some(Denial::ParameterNotAllowed(name.to_owned()))
}

const CRUD: &str = r#""create", "read", "update", "patch", "delete", "list""#;

fn pol(extra: &str) -> String {
    format!("path \"p\" {{\n capabilities = [{CRUD}]\n {extra}\n}}")
}

#[test]
fn allowed_parameters() {
    let p = pol(
        r#"allowed_parameters = { "ttl" = [], "role" = ["web", "db-*", "*-ro", "*mid*"], "n" = [1, true] }"#,
    );
    use Operation::Update as U;
    for (data, expect) in [
        (json!({}), None),
        (json!({"ttl": "1h"}), None),
        (json!({"TTL": "1h"}), None),
        (json!({"role": "web"}), None),
        (json!({"role": "db-main"}), None),
        (json!({"role": "x-ro"}), None),
        (json!({"role": "amidb"}), None),
        (json!({"role": "webx"}), not_allowed("role")),
        (json!({"role": "web,db-a"}), None),
        (json!({"role": "web,evil"}), not_allowed("role")),
        (json!({"role": ["web", "db-2"]}), None),
        (json!({"role": ["web", "evil"]}), not_allowed("role")),
        (json!({"n": 1}), None),
        (json!({"n": true}), None),
        (json!({"n": 2}), not_allowed("n")),
        (json!({"other": 1}), not_allowed("other")),
    ] {
        check(&p, U, data, expect);
    }
}

#[test]
fn allowed_star_and_denied_parameters() {
    let star = pol(r#"allowed_parameters = { "*" = [], "role" = ["web"] }"#);
    check(&star, Operation::Create, json!({"anything": 1}), None);
    check(&star, Operation::Create, json!({"role": "web"}), None);
    check(&star, Operation::Create, json!({"role": "db"}), not_allowed("role"));
    let only_star = pol(r#"allowed_parameters = { "*" = ["ignored"] }"#);
    check(&only_star, Operation::Create, json!({"x": "y"}), None);

    let deny = pol(r#"denied_parameters = { "secret" = [], "mode" = ["admin*"] }"#);
    for (data, expect) in [
        (json!({"secret": "x"}), denied("secret")),
        (json!({"Secret": null}), denied("Secret")),
        (json!({"mode": "user"}), None),
        (json!({"mode": "administrator"}), denied("mode")),
        (json!({"mode": "user,admin"}), denied("mode")),
        (json!({"mode": ["user", "admin2"]}), denied("mode")),
        (json!({"other": "x"}), None),
    ] {
        check(&deny, Operation::Patch, data, expect);
    }
    let deny_all = pol(r#"denied_parameters = { "*" = [] }"#);
    check(&deny_all, Operation::Update, json!({"x": 1}), denied("*"));
    check(&deny_all, Operation::Update, json!({}), None);
    // Denied is checked before allowed.
    let both = pol(r#"allowed_parameters = { "x" = [] }
 denied_parameters = { "x" = ["bad"] }"#);
    check(&both, Operation::Update, json!({"x": "bad"}), denied("x"));
    check(&both, Operation::Update, json!({"x": "good"}), None);
}

#[test]
fn required_parameters_and_operations_exempt_from_checks() {
    let p = pol(r#"required_parameters = ["Name"]
 allowed_parameters = { "name" = [] }"#);
    check(&p, Operation::Create, json!({"name": "a"}), None);
    check(&p, Operation::Create, json!({}), Some(Denial::MissingRequiredParameter("name".into())));
    check(&p, Operation::Read, json!({}), Some(Denial::MissingRequiredParameter("name".into())));
    // Delete and list carry no checked body.
    check(&p, Operation::Delete, json!({"zzz": 1}), None);
    check(&p, Operation::List, json!({}), None);
}

#[test]
fn capability_is_checked_first() {
    let p = r#"path "p" { capabilities = ["read"] }"#;
    check(p, Operation::Update, json!({}), Some(Denial::NoCapability));
    check(p, Operation::Read, json!({"a": 1}), None);
}

#[test]
fn wrapping_ttl_bounds() {
    let p = pol(r#"min_wrapping_ttl = "1m"
 max_wrapping_ttl = "1h""#);
    let acl = acl(&p);
    let d = acl.allowed("p", Operation::Read);
    for (ttl, ok) in [
        (None, false),
        (Some(30), false),
        (Some(60), true),
        (Some(3600), true),
        (Some(3601), false),
    ] {
        assert_eq!(d.check_wrapping_ttl(ttl).is_ok(), ok, "{ttl:?}");
        assert_eq!(d.authorize(&Map::new(), ttl).is_ok(), ok, "{ttl:?}");
    }
    let unbounded = acl_decision_ok(&pol(""));
    assert!(unbounded);
}

fn acl_decision_ok(text: &str) -> bool {
    let acl = acl(text);
    let d = acl.allowed("p", Operation::Read);
    d.check_wrapping_ttl(None).is_ok()
}

#[test]
fn merged_bounds_that_conflict_deny() {
    // Merging picks the smaller max and smaller min; 2h..(1h) leaves max < min -> refused.
    let a = Policy::parse("a", &pol(r#"min_wrapping_ttl = "2h""#)).unwrap();
    let b = Policy::parse("b", &pol(r#"max_wrapping_ttl = "1h""#)).unwrap();
    let acl = Acl::new([&a, &b]);
    let d = acl.allowed("p", Operation::Read);
    for ttl in [None, Some(1800), Some(3600), Some(7200)] {
        assert!(d.check_wrapping_ttl(ttl).is_err(), "{ttl:?}");
    }
}
