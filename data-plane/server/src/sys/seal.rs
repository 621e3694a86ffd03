//! Seal lifecycle endpoints: init, unseal, seal, seal-status, health, leader, rotate,
//! key-status. The state machine lives in `core::seal`; this module only maps fields.

use super::expect_op;
use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Operation, Request, Response};
use crate::core::router::Caller;
use crate::core::seal::decode_key;
use crate::core::{Core, VERSION};
use crate::obj;
use crate::util::fields;
use base64::Engine as _;
use serde_json::{json, Value};

const BUILD_DATE: &str = "2026-01-01T00:00:00Z";

pub fn init(core: &Core, req: &Request) -> CoreResult<Response> {
    match req.op {
        Operation::Read => {
            Ok(Response::raw(200, Some(json!({ "initialized": core.is_initialized()? }))))
        }
        Operation::Update | Operation::Create => {
            let d = &req.data;
            for k in ["pgp_keys", "root_token_pgp_key", "recovery_pgp_keys"] {
                let set = match d.get(k) {
                    None | Some(Value::Null) => false,
                    Some(Value::String(s)) => !s.is_empty(),
                    Some(Value::Array(a)) => !a.is_empty(),
                    Some(_) => true,
                };
                if set {
                    return Err(CoreError::bad(format!("{k} is not supported by this server")));
                }
            }
            let b64 = base64::engine::general_purpose::STANDARD;
            if core.seal.auto().is_some() {
                // Auto-seal: the operator gets recovery shares; unseal keys do not exist.
                let shares = fields::opt_u64(d, "recovery_shares")?.unwrap_or(5);
                let threshold = fields::opt_u64(d, "recovery_threshold")?.unwrap_or(3);
                let (init, root_token) = core.initialize_auto(shares, threshold)?;
                let keys: Vec<String> = init.shares.iter().map(|s| hex::encode(&**s)).collect();
                let keys_b64: Vec<String> = init.shares.iter().map(|s| b64.encode(&**s)).collect();
                return Ok(Response::raw(
                    200,
                    Some(json!({
                        "keys": [], "keys_base64": [],
                        "recovery_keys": keys, "recovery_keys_base64": keys_b64,
                        "root_token": root_token,
                    })),
                ));
            }
            let shares = fields::opt_u64(d, "secret_shares")?
                .ok_or_else(|| CoreError::bad("secret_shares is required"))?;
            let threshold = fields::opt_u64(d, "secret_threshold")?
                .ok_or_else(|| CoreError::bad("secret_threshold is required"))?;
            let (init, root_token) = core.initialize(shares, threshold)?;
            let keys: Vec<String> = init.shares.iter().map(|s| hex::encode(&**s)).collect();
            let keys_b64: Vec<String> = init.shares.iter().map(|s| b64.encode(&**s)).collect();
            Ok(Response::raw(
                200,
                Some(json!({ "keys": keys, "keys_base64": keys_b64, "root_token": root_token })),
            ))
        }
        _ => Err(CoreError::UnsupportedOperation),
    }
}

fn status_body(core: &Core) -> CoreResult<Value> {
    let cfg = core.seal.config(&core.barrier)?;
    let (progress, nonce) = core.seal.progress();
    let sealed = core.is_sealed();
    let auto = core.seal.auto();
    let kind = match (&cfg, auto) {
        (Some(c), _) => c.kind.clone(),
        (None, Some(a)) => a.kind().to_owned(),
        (None, None) => "shamir".to_owned(),
    };
    let recovery = auto.is_some() || cfg.as_ref().is_some_and(|c| c.is_auto());
    let (t, n) = match &cfg {
        Some(c) if c.is_auto() => (c.recovery_threshold, c.recovery_shares),
        Some(c) => (c.secret_threshold, c.secret_shares),
        None => (0, 0),
    };
    let mut body = json!({
        "type": kind,
        "initialized": cfg.is_some(),
        "sealed": sealed,
        "t": t,
        "n": n,
        "progress": progress,
        "nonce": nonce,
        "version": VERSION,
        "build_date": BUILD_DATE,
        "migration": false,
        "recovery_seal": recovery,
        "storage_type": core.config.storage_type,
    });
    if let (false, Some(c), Some(obj)) = (sealed, core.cluster(), body.as_object_mut()) {
        obj.insert("cluster_name".into(), c.name.into());
        obj.insert("cluster_id".into(), c.id.into());
    }
    Ok(body)
}

pub fn seal_status(core: &Core) -> CoreResult<Response> {
    Ok(Response::raw(200, Some(status_body(core)?)))
}

pub fn unseal(core: &Core, req: &Request) -> CoreResult<Response> {
    expect_op(req, &[Operation::Update])?;
    if !core.is_initialized()? {
        return Err(CoreError::bad("Vault is not initialized"));
    }
    if core.seal.auto().is_some() {
        // Under an auto-seal the seal itself unseals; no key shares are involved.
        core.auto_unseal()?;
        return seal_status(core);
    }
    if fields::opt_bool(&req.data, "reset")?.unwrap_or(false) {
        core.seal.reset();
        return seal_status(core);
    }
    let key = fields::opt_str(&req.data, "key")?.filter(|k| !k.is_empty()).ok_or_else(|| {
        CoreError::bad("'key' must be specified in request body as JSON, or 'reset' set to true")
    })?;
    let key = decode_key(key)?;
    core.unseal(key)?;
    seal_status(core)
}

pub fn health(core: &Core, req: &Request) -> CoreResult<Response> {
    let d = &req.data;
    let code = |name: &str, default: u16| -> CoreResult<u16> {
        match fields::opt_u64(d, name)? {
            Some(c) if (100..=599).contains(&c) => Ok(c as u16),
            Some(_) => Err(CoreError::bad(format!("{name} must be a valid HTTP status code"))),
            None => Ok(default),
        }
    };
    // All overrides are validated up front, like Vault, even those for other states.
    let (uninit, sealed_code, active) =
        (code("uninitcode", 501)?, code("sealedcode", 503)?, code("activecode", 200)?);
    for other in ["standbycode", "drsecondarycode", "performancestandbycode", "recoverymodecode"] {
        code(other, 200)?;
    }
    let initialized = core.is_initialized()?;
    let sealed = core.is_sealed();
    let status = if !initialized {
        uninit
    } else if sealed {
        sealed_code
    } else {
        active
    };
    let cluster = core.cluster();
    let body = json!({
        "initialized": initialized,
        "sealed": sealed,
        "standby": false,
        "performance_standby": false,
        "replication_performance_mode": "disabled",
        "replication_dr_mode": "disabled",
        "server_time_utc": crate::util::now_unix(),
        "version": VERSION,
        "enterprise": false,
        "cluster_name": cluster.as_ref().map(|c| c.name.clone()),
        "cluster_id": cluster.as_ref().map(|c| c.id.clone()),
        "echo_duration_ms": 0,
        "clock_skew_ms": 0,
    });
    Ok(Response::raw(status, (!req.head).then_some(body)))
}

pub fn leader(core: &Core) -> CoreResult<Response> {
    if core.is_sealed() {
        return Err(CoreError::Sealed);
    }
    Ok(Response::raw(
        200,
        Some(json!({
            "ha_enabled": false,
            "is_self": false,
            "active_time": "0001-01-01T00:00:00Z",
            "leader_address": "",
            "leader_cluster_address": "",
            "performance_standby": false,
            "performance_standby_last_remote_wal": 0,
        })),
    ))
}

/// seal, step-down, rotate, key-status.
pub fn authenticated(
    core: &Core,
    caller: &Caller,
    req: &Request,
    what: &str,
) -> CoreResult<Response> {
    match what {
        "seal" => {
            expect_op(req, &[Operation::Update])?;
            if !caller.has_sudo("sys/seal") {
                return Err(CoreError::PermissionDenied);
            }
            core.seal();
            tracing::info!("vault is sealed");
            Ok(Response::empty())
        }
        // Single node: always the active node; nothing to step down from.
        "step-down" => {
            expect_op(req, &[Operation::Update])?;
            Ok(Response::empty())
        }
        "rotate" => {
            expect_op(req, &[Operation::Update])?;
            if !caller.has_sudo("sys/rotate") {
                return Err(CoreError::PermissionDenied);
            }
            core.barrier.rotate()?;
            Ok(Response::empty())
        }
        "key-status" => {
            expect_op(req, &[Operation::Read])?;
            let ks = core.barrier.key_status()?;
            let data = obj! {
                "term" => ks.term,
                "install_time" => crate::util::rfc3339(unix_secs(ks.install_time)),
                "encryptions" => 0,
            };
            Ok(Response::data(data).flattened())
        }
        _ => Err(super::not_found(what)),
    }
}

fn unix_secs(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
