//! `sys/audit` (list), `sys/audit/<path>` (enable, disable) and `sys/audit-hash/<path>`. All
//! are sudo-protected in Vault. The device logic lives in `crate::audit`.

use crate::audit::NewDevice;
use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Operation, Request, Response};
use crate::core::router::Caller;
use crate::core::Core;
use crate::obj;
use crate::util::fields;
use serde_json::Value;
use std::collections::BTreeMap;

fn require_sudo(caller: &Caller, req: &Request) -> CoreResult<()> {
    if caller.has_sudo(&req.path) {
        Ok(())
    } else {
        Err(CoreError::PermissionDenied)
    }
}

/// Option values arrive as strings, or as JSON booleans/numbers from some clients.
fn options(req: &Request) -> CoreResult<BTreeMap<String, String>> {
    let Some(opts) = fields::opt_object(&req.data, "options")? else { return Ok(BTreeMap::new()) };
    let mut out = BTreeMap::new();
    for (k, v) in opts {
        let s = match v {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => return Err(CoreError::bad(format!("option {k:?} must be a string"))),
        };
        out.insert(k.clone(), s);
    }
    Ok(out)
}

/// `sys/audit` and `sys/audit/<path>`.
pub fn handle(core: &Core, caller: &Caller, req: &Request, path: &str) -> CoreResult<Response> {
    require_sudo(caller, req)?;
    let path = path.trim_matches('/');
    match (path.is_empty(), req.op) {
        (true, Operation::Read) => Ok(Response::data(core.audit.list()).flattened()),
        (true, _) => Err(CoreError::UnsupportedOperation),
        (false, Operation::Update | Operation::Create) => {
            let d = &req.data;
            let kind = fields::opt_str(d, "type")?
                .filter(|t| !t.is_empty())
                .ok_or_else(|| CoreError::bad("type is required"))?;
            let description = fields::opt_str(d, "description")?.unwrap_or("");
            let local = fields::opt_bool(d, "local")?.unwrap_or(false);
            let new = NewDevice { path, kind, description, options: options(req)?, local };
            core.audit.enable(&core.barrier, new, req, caller)?;
            Ok(Response::empty())
        }
        (false, Operation::Delete) => {
            core.audit.disable(&core.barrier, path)?;
            Ok(Response::empty())
        }
        (false, _) => Err(CoreError::UnsupportedOperation),
    }
}

/// `sys/audit-hash/<path>` {input} -> {hash}.
pub fn hash(core: &Core, caller: &Caller, req: &Request, path: &str) -> CoreResult<Response> {
    require_sudo(caller, req)?;
    if !matches!(req.op, Operation::Update | Operation::Create) {
        return Err(CoreError::UnsupportedOperation);
    }
    let input = fields::opt_str(&req.data, "input")?
        .ok_or_else(|| CoreError::bad("the \"input\" parameter is required"))?;
    let hash = core.audit.hash(path.trim_matches('/'), input)?;
    Ok(Response::data(obj! { "hash" => hash }).flattened())
}
