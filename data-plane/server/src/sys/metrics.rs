//! `sys/metrics`: Prometheus text (`?format=prometheus`) or Vault's JSON telemetry dump.

use super::expect_op;
use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Operation, Request, Response};
use crate::core::Core;
use crate::util::fields;
use serde_json::{json, Value};
use std::fmt::Write as _;

pub fn handle(core: &Core, req: &Request) -> CoreResult<Response> {
    expect_op(req, &[Operation::Read])?;
    let created = core.tokens.created.load(std::sync::atomic::Ordering::Relaxed);
    let samples = core.metrics.samples(!core.is_sealed(), core.mounts.snapshot().len(), created);
    match fields::opt_str(&req.data, "format")?.unwrap_or("") {
        "prometheus" => {
            let mut out = String::new();
            let mut last = "";
            for s in &samples {
                if s.name != last {
                    let _ = writeln!(out, "# HELP {} {}", s.name, s.help);
                    let _ = writeln!(out, "# TYPE {} {}", s.name, s.kind);
                    last = s.name;
                }
                let _ = writeln!(out, "{}{} {}", s.name, s.labels, s.value);
            }
            Ok(Response::bytes("text/plain; version=0.0.4", out.into_bytes()))
        }
        "" | "json" => {
            let (mut gauges, mut counters) = (Vec::new(), Vec::new());
            for s in &samples {
                let name = format!("{}{}", s.name, s.labels);
                if s.kind == "gauge" {
                    gauges.push(json!({"Name": name, "Value": s.value, "Labels": {}}));
                } else {
                    counters.push(json!({
                        "Name": name, "Count": s.value, "Rate": 0.0, "Sum": s.value,
                        "Min": 0.0, "Max": 0.0, "Mean": 0.0, "Stddev": 0.0, "Labels": {},
                    }));
                }
            }
            Ok(Response::raw(
                200,
                Some(json!({
                    "Timestamp": crate::util::rfc3339_now(),
                    "Gauges": gauges,
                    "Points": Value::Array(Vec::new()),
                    "Counters": counters,
                    "Samples": Value::Array(Vec::new()),
                })),
            ))
        }
        other => Err(CoreError::bad(format!("unknown format {other:?}"))),
    }
}
