//! Policy text to [`PathRule`]s.
//!
//! Two front ends feed one compiler: Vault's HCL syntax (walked structurally with `hcl-rs`, so
//! repeated `path` blocks for the same pattern are all seen and merged, as Vault does) and the
//! JSON form (`{"path": {"secret/*": {"capabilities": [...]}}}`) that API clients and Terraform
//! sometimes submit. Errors name the offending path and field; the text is the caller's own
//! input, so it is safe to show back to them.

use serde_json::{Map, Value};

use super::duration::parse_seconds;
use super::{ParamConstraints, PathKind, PathRule, Permissions};
use crate::capability::{CapSet, Capability};

/// Why policy text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("failed to parse policy: {0}")]
    Syntax(String),
    #[error("invalid top-level key {0:?} in policy")]
    UnknownTopLevelKey(String),
    #[error("a path block needs exactly one label (the path)")]
    MissingPathLabel,
    #[error("path {path:?}: invalid key {key:?}")]
    UnknownKey { path: String, key: String },
    #[error("path {path:?}: invalid capability {capability:?}")]
    InvalidCapability { path: String, capability: String },
    #[error("path {path:?}: invalid policy {policy:?}")]
    InvalidLegacyPolicy { path: String, policy: String },
    #[error("path {path:?}: invalid value for {field}: {reason}")]
    InvalidField { path: String, field: &'static str, reason: &'static str },
    #[error("path {path:?}: invalid use of wildcards ('+*' is forbidden)")]
    InvalidWildcard { path: String },
    #[error("path {path:?}: max_wrapping_ttl cannot be less than min_wrapping_ttl")]
    WrappingTtlOrder { path: String },
}

/// A `path` block before validation: its label and its attributes as JSON-like values.
struct RawBlock {
    path: String,
    attrs: Vec<(String, Value)>,
}

/// Parses policy text into merged rules, in first-appearance order.
pub(crate) fn parse_rules(text: &str) -> Result<Vec<PathRule>, ParseError> {
    let blocks =
        if text.trim_start().starts_with('{') { json_blocks(text)? } else { hcl_blocks(text)? };
    let mut rules: Vec<PathRule> = Vec::with_capacity(blocks.len());
    for block in blocks {
        let rule = compile_block(block)?;
        match rules.iter_mut().find(|r| r.pattern == rule.pattern && r.kind == rule.kind) {
            Some(existing) => existing.permissions.merge(&rule.permissions),
            None => rules.push(rule),
        }
    }
    Ok(rules)
}

fn hcl_blocks(text: &str) -> Result<Vec<RawBlock>, ParseError> {
    let body = hcl::parse(text).map_err(|e| ParseError::Syntax(e.to_string()))?;
    let mut blocks = Vec::new();
    for structure in body.iter() {
        match structure {
            hcl::Structure::Attribute(attr) if attr.key.as_str() == "name" => {}
            hcl::Structure::Attribute(attr) => {
                return Err(ParseError::UnknownTopLevelKey(attr.key.as_str().to_owned()))
            }
            hcl::Structure::Block(block) if block.identifier.as_str() == "path" => {
                let [label] = block.labels.as_slice() else {
                    return Err(ParseError::MissingPathLabel);
                };
                let path = label.as_str().to_owned();
                let attrs = body_to_attrs(&path, &block.body)?;
                blocks.push(RawBlock { path, attrs });
            }
            hcl::Structure::Block(block) => {
                return Err(ParseError::UnknownTopLevelKey(block.identifier.as_str().to_owned()))
            }
        }
    }
    Ok(blocks)
}

fn body_to_attrs(path: &str, body: &hcl::Body) -> Result<Vec<(String, Value)>, ParseError> {
    let mut attrs = Vec::new();
    for structure in body.iter() {
        match structure {
            hcl::Structure::Attribute(attr) => {
                attrs.push((attr.key.as_str().to_owned(), expr_to_json(path, &attr.expr)?));
            }
            // HCL1-era policies sometimes write `allowed_parameters { "x" = [] }` as a block.
            hcl::Structure::Block(block) if block.labels.is_empty() => {
                let inner = body_to_attrs(path, &block.body)?;
                attrs.push((
                    block.identifier.as_str().to_owned(),
                    Value::Object(inner.into_iter().collect()),
                ));
            }
            hcl::Structure::Block(block) => {
                return Err(ParseError::UnknownKey {
                    path: path.to_owned(),
                    key: block.identifier.as_str().to_owned(),
                })
            }
        }
    }
    Ok(attrs)
}

/// Converts a literal HCL expression to JSON. Vault's HCL dialect has no interpolation, so a
/// template string is taken verbatim; computed expressions are rejected.
fn expr_to_json(path: &str, expr: &hcl::Expression) -> Result<Value, ParseError> {
    use hcl::Expression as E;
    Ok(match expr {
        E::Null => Value::Null,
        E::Bool(b) => Value::Bool(*b),
        E::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::from(u)
            } else if let Some(i) = n.as_i64() {
                Value::from(i)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        E::String(s) => Value::String(s.clone()),
        E::TemplateExpr(t) => Value::String(template_text(t)),
        E::Parenthesis(inner) => expr_to_json(path, inner)?,
        E::Array(items) => {
            Value::Array(items.iter().map(|e| expr_to_json(path, e)).collect::<Result<_, _>>()?)
        }
        E::Object(obj) => {
            let mut map = Map::with_capacity(obj.len());
            for (key, value) in obj {
                let key = match key {
                    hcl::ObjectKey::Identifier(id) => id.as_str().to_owned(),
                    hcl::ObjectKey::Expression(E::String(s)) => s.clone(),
                    hcl::ObjectKey::Expression(E::TemplateExpr(t)) => template_text(t),
                    _ => {
                        return Err(ParseError::Syntax(format!(
                            "path {path:?}: object keys must be literal strings"
                        )))
                    }
                };
                map.insert(key, expr_to_json(path, value)?);
            }
            Value::Object(map)
        }
        _ => {
            return Err(ParseError::Syntax(format!(
                "path {path:?}: only literal values are allowed in policies"
            )))
        }
    })
}

fn template_text(t: &hcl::TemplateExpr) -> String {
    match t {
        hcl::TemplateExpr::QuotedString(s) => s.clone(),
        hcl::TemplateExpr::Heredoc(h) => h.template.clone(),
    }
}

fn json_blocks(text: &str) -> Result<Vec<RawBlock>, ParseError> {
    let root: Value = serde_json::from_str(text).map_err(|e| ParseError::Syntax(e.to_string()))?;
    let Value::Object(top) = root else {
        return Err(ParseError::Syntax("policy JSON must be an object".to_owned()));
    };
    let mut blocks = Vec::new();
    for (key, value) in top {
        match key.as_str() {
            "name" => {}
            "path" => collect_json_paths(value, &mut blocks)?,
            _ => return Err(ParseError::UnknownTopLevelKey(key)),
        }
    }
    Ok(blocks)
}

/// `path` may be an object of pattern -> block (or list of blocks), or a list of such objects.
fn collect_json_paths(value: Value, out: &mut Vec<RawBlock>) -> Result<(), ParseError> {
    match value {
        Value::Array(items) => items.into_iter().try_for_each(|v| collect_json_paths(v, out)),
        Value::Object(paths) => {
            for (path, body) in paths {
                match body {
                    Value::Object(attrs) => {
                        out.push(RawBlock { path, attrs: attrs.into_iter().collect() })
                    }
                    Value::Array(bodies) => {
                        for b in bodies {
                            let Value::Object(attrs) = b else {
                                return Err(ParseError::Syntax(format!(
                                    "path {path:?}: block must be an object"
                                )));
                            };
                            out.push(RawBlock {
                                path: path.clone(),
                                attrs: attrs.into_iter().collect(),
                            });
                        }
                    }
                    _ => {
                        return Err(ParseError::Syntax(format!(
                            "path {path:?}: block must be an object"
                        )))
                    }
                }
            }
            Ok(())
        }
        _ => Err(ParseError::Syntax("\"path\" must be an object".to_owned())),
    }
}

fn compile_block(block: RawBlock) -> Result<PathRule, ParseError> {
    let RawBlock { path, attrs } = block;
    let mut pattern = path.trim_start_matches('/').to_owned();
    if pattern.contains("+*") {
        return Err(ParseError::InvalidWildcard { path });
    }
    // Same classification as Vault: any "/+" (or a leading "+") makes it a segment pattern.
    let kind = if pattern == "+" || pattern.contains("/+") || pattern.starts_with("+/") {
        PathKind::SegmentWildcard
    } else if pattern.ends_with('*') {
        pattern.pop();
        PathKind::Prefix
    } else {
        PathKind::Exact
    };

    let mut perms = Permissions::default();
    let mut caps = CapSet::EMPTY;
    for (key, value) in attrs {
        let field_err = |field: &'static str, reason: &'static str| ParseError::InvalidField {
            path: path.clone(),
            field,
            reason,
        };
        match key.as_str() {
            "capabilities" => {
                for name in string_list(&value)
                    .ok_or_else(|| field_err("capabilities", "expected a list of strings"))?
                {
                    let cap =
                        Capability::parse(name).ok_or_else(|| ParseError::InvalidCapability {
                            path: path.clone(),
                            capability: name.to_owned(),
                        })?;
                    caps = caps.merge(CapSet::from_caps([cap]));
                }
            }
            "policy" => {
                let Value::String(p) = &value else {
                    return Err(field_err("policy", "expected a string"));
                };
                caps = caps.merge(legacy_policy(p).ok_or_else(|| {
                    ParseError::InvalidLegacyPolicy { path: path.clone(), policy: p.clone() }
                })?);
            }
            "allowed_parameters" => {
                perms.allowed_parameters = constraints(&value)
                    .ok_or_else(|| field_err("allowed_parameters", "expected a map of lists"))?;
            }
            "denied_parameters" => {
                perms.denied_parameters = constraints(&value)
                    .ok_or_else(|| field_err("denied_parameters", "expected a map of lists"))?;
            }
            "required_parameters" => {
                perms.required_parameters = string_list(&value)
                    .ok_or_else(|| field_err("required_parameters", "expected a list of strings"))?
                    .into_iter()
                    // Vault lower-cases names when checking; doing it once here is equivalent.
                    .map(str::to_lowercase)
                    .collect();
            }
            "min_wrapping_ttl" => {
                perms.min_wrapping_ttl = parse_seconds(&value)
                    .ok_or_else(|| field_err("min_wrapping_ttl", "expected a duration"))?;
            }
            "max_wrapping_ttl" => {
                perms.max_wrapping_ttl = parse_seconds(&value)
                    .ok_or_else(|| field_err("max_wrapping_ttl", "expected a duration"))?;
            }
            // Accepted for compatibility; enterprise features Coffer does not enforce.
            "comment" | "mfa_methods" | "control_group" | "subscribe_event_types" => {}
            _ => return Err(ParseError::UnknownKey { path: path.clone(), key }),
        }
    }
    if perms.min_wrapping_ttl > 0
        && perms.max_wrapping_ttl > 0
        && perms.max_wrapping_ttl < perms.min_wrapping_ttl
    {
        return Err(ParseError::WrappingTtlOrder { path });
    }
    perms.capabilities = caps;
    if caps.is_deny() {
        perms.allowed_parameters.clear();
        perms.denied_parameters.clear();
    }
    Ok(PathRule { pattern, kind, permissions: perms })
}

/// Vault's pre-0.9 `policy = "..."` shorthand.
fn legacy_policy(p: &str) -> Option<CapSet> {
    use Capability::*;
    Some(match p {
        "deny" => CapSet::DENY,
        "read" => CapSet::from_caps([Read, List]),
        "write" => CapSet::from_caps([Create, Read, Update, Delete, List]),
        "sudo" => CapSet::from_caps([Create, Read, Update, Delete, List, Sudo]),
        _ => return None,
    })
}

fn string_list(value: &Value) -> Option<Vec<&str>> {
    match value {
        Value::Array(items) => items.iter().map(Value::as_str).collect(),
        Value::Null => Some(Vec::new()),
        _ => None,
    }
}

fn constraints(value: &Value) -> Option<ParamConstraints> {
    let Value::Object(map) = value else {
        return None;
    };
    let mut out = ParamConstraints::with_capacity(map.len());
    for (name, values) in map {
        let values = match values {
            Value::Array(items) => items.clone(),
            Value::Null => Vec::new(),
            _ => return None,
        };
        out.insert(name.to_lowercase(), values);
    }
    Some(out)
}
