//! ACL policy CRUD: the legacy `sys/policy` API (`rules`, root listed) and `sys/policies/acl`
//! (`policy`). Policy text may be HCL or Vault's JSON form (hvac sends dicts as JSON).

use super::expect_op;
use crate::core::error::{CoreError, CoreResult};
use crate::core::policy::validate_name;
use crate::core::request::{Operation, Request, Response};
use crate::core::Core;
use crate::obj;
use crate::util::fields;
use serde_json::Value;

pub fn legacy(core: &Core, req: &Request, name: &str) -> CoreResult<Response> {
    if name.is_empty() {
        expect_op(req, &[Operation::Read, Operation::List])?;
        let names = core.policies.list(&core.barrier, true)?;
        return Ok(Response::data(obj! { "keys" => names, "policies" => names }).flattened());
    }
    match req.op {
        Operation::Read => {
            let n = validate_name(name)?;
            let text = core.policies.get(&core.barrier, &n)?.ok_or(CoreError::NotFound(None))?;
            Ok(Response::data(obj! { "name" => n, "rules" => text }).flattened())
        }
        Operation::Create | Operation::Update => {
            let text = fields::opt_str(&req.data, "policy")?
                .or(fields::opt_str(&req.data, "rules")?)
                .ok_or_else(|| CoreError::bad("'policy' parameter not supplied or empty"))?;
            core.policies.put(&core.barrier, name, &to_hcl(text)?)?;
            Ok(Response::empty())
        }
        Operation::Delete => {
            core.policies.delete(&core.barrier, name)?;
            Ok(Response::empty())
        }
        _ => Err(CoreError::UnsupportedOperation),
    }
}

pub fn acl(core: &Core, req: &Request, name: &str) -> CoreResult<Response> {
    if name.is_empty() || req.op == Operation::List {
        expect_op(req, &[Operation::List, Operation::Read])?;
        // Like Vault's handlePoliciesList, the built-in root policy is listed too.
        let names = core.policies.list(&core.barrier, true)?;
        return Ok(Response::data(obj! { "keys" => names }));
    }
    match req.op {
        Operation::Read => {
            let n = validate_name(name)?;
            let text = core.policies.get(&core.barrier, &n)?.ok_or(CoreError::NotFound(None))?;
            Ok(Response::data(obj! { "name" => n, "policy" => text }))
        }
        Operation::Create | Operation::Update => {
            let text = fields::opt_str(&req.data, "policy")?
                .ok_or_else(|| CoreError::bad("'policy' parameter not supplied or empty"))?;
            core.policies.put(&core.barrier, name, &to_hcl(text)?)?;
            Ok(Response::empty())
        }
        Operation::Delete => {
            core.policies.delete(&core.barrier, name)?;
            Ok(Response::empty())
        }
        _ => Err(CoreError::UnsupportedOperation),
    }
}

/// Vault accepts policies as JSON (`{"path": {"p": {"capabilities": [..]}}}`); we store HCL, so
/// JSON is rewritten into the equivalent HCL blocks. HCL text passes through unchanged.
pub fn to_hcl(text: &str) -> CoreResult<String> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return Ok(text.to_owned());
    }
    let v: Value = serde_json::from_str(trimmed)
        .map_err(|e| CoreError::bad(format!("failed to parse policy: {e}")))?;
    let bad = || CoreError::bad("failed to parse policy: JSON policy needs a \"path\" object");
    let paths = v.get("path").and_then(Value::as_object).ok_or_else(bad)?;
    let mut out = String::new();
    for (path, rules) in paths {
        let rules = rules.as_object().ok_or_else(bad)?;
        out.push_str("path ");
        out.push_str(&serde_json::to_string(path)?);
        out.push_str(" {\n");
        for (k, val) in rules {
            if !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(CoreError::bad(format!("failed to parse policy: invalid key {k:?}")));
            }
            out.push_str("  ");
            out.push_str(k);
            out.push_str(" = ");
            out.push_str(&serde_json::to_string(val)?);
            out.push('\n');
        }
        out.push_str("}\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_policies_become_hcl() {
        let hcl = to_hcl(r#"{"path": {"a/*": {"capabilities": ["read"]}}}"#).unwrap();
        let p = coffer_acl::Policy::parse("x", &hcl).unwrap();
        let acl = coffer_acl::Acl::new([&p]);
        assert!(acl.allows("a/b", coffer_acl::Operation::Read));
        assert!(!acl.allows("a/b", coffer_acl::Operation::Update));
        assert_eq!(to_hcl("path \"x\" {}").unwrap(), "path \"x\" {}");
        assert!(to_hcl("{\"nope\": 1}").is_err());
    }
}
