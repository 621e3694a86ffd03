//! `sys/capabilities`, `sys/capabilities-self`, `sys/capabilities-accessor`: what a token may do
//! on given paths, computed with the same compiled ACL used for enforcement.

use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Operation, Request, Response};
use crate::core::router::Caller;
use crate::core::Core;
use crate::util::fields;
use serde_json::{Map, Value};

pub fn handle(core: &Core, caller: &Caller, req: &Request, which: &str) -> CoreResult<Response> {
    if !matches!(req.op, Operation::Update | Operation::Create) {
        return Err(CoreError::UnsupportedOperation);
    }
    let d = &req.data;
    let mut paths = fields::opt_str_list(d, "paths")?.unwrap_or_default();
    if let Some(p) = fields::opt_str(d, "path")? {
        paths.push(p.to_owned());
    }
    if paths.is_empty() {
        return Err(CoreError::bad("'paths' must be specified"));
    }
    let policies = match which {
        "capabilities-self" => caller.entry.policies.clone(),
        "capabilities" => {
            let token = fields::opt_str(d, "token")?.unwrap_or(caller.id.as_str());
            core.tokens
                .lookup(&core.barrier, token)?
                .ok_or_else(|| CoreError::bad("invalid token"))?
                .policies
        }
        _ => {
            let acc = fields::opt_str(d, "accessor")?
                .ok_or_else(|| CoreError::bad("'accessor' must be specified"))?;
            core.tokens
                .lookup_accessor(&core.barrier, acc)?
                .ok_or_else(|| CoreError::bad("invalid accessor"))?
                .policies
        }
    };
    let acl = core.policies.acl(&core.barrier, &policies)?;
    let mut data = Map::new();
    let mut last: Vec<&'static str> = Vec::new();
    for p in &paths {
        let p = p.trim_start_matches('/');
        last = acl.capability_names(p);
        // Vault reports capabilities sorted.
        last.sort_unstable();
        data.insert(p.to_owned(), Value::from(last.clone()));
    }
    if paths.len() == 1 {
        data.insert("capabilities".into(), Value::from(last));
    }
    Ok(Response::data(data).flattened())
}
