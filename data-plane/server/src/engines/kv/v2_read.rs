//! KV v2's read fast path: `GET data/<key>` for a live version.
//!
//! Why a separate view of the record: the stored record is JSON, and the generic path parsed it
//! into a [`Record`](super::v2_record::Record) of `serde_json::Value`s (one allocation per key
//! and string, for every retained version) only to serialise the chosen version straight back
//! out. Here the record is deserialised borrowing from the decrypted bytes: each version's
//! `data` stays a `&RawValue` (validated, not built), and the response body is written once
//! from typed structs. Output is byte-for-byte what the generic path produced.

use super::v2_record::fmt_time;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The fields of a stored record a read needs; everything else is skipped by serde.
#[derive(Deserialize)]
pub(super) struct RecordView<'a> {
    pub current_version: u64,
    #[serde(borrow, default)]
    custom_metadata: Option<&'a RawValue>,
    #[serde(borrow, default)]
    versions: BTreeMap<u64, VersionView<'a>>,
}

#[derive(Deserialize)]
struct VersionView<'a> {
    created: i64,
    #[serde(default)]
    deletion: i64,
    #[serde(default)]
    destroyed: bool,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct Body<'a> {
    data: &'a RawValue,
    metadata: Metadata<'a>,
}

/// Same keys, in the same (sorted) order, as `Version::metadata`.
#[derive(Serialize)]
struct Metadata<'a> {
    created_time: String,
    custom_metadata: Option<&'a RawValue>,
    deletion_time: String,
    destroyed: bool,
    version: u64,
}

/// What a read of version `n` found.
pub(super) enum Outcome {
    /// The response `data` object (`{"data":..,"metadata":..}`), serialised, and the Unix
    /// nanoseconds at which the version stops being live (`i64::MAX`: not scheduled).
    Live(Box<RawValue>, i64),
    /// No such version.
    Missing,
    /// Deleted or destroyed: the caller renders Vault's 404-with-metadata answer.
    NotLive,
}

impl<'a> RecordView<'a> {
    pub fn parse(bytes: &'a [u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(bytes)
    }

    /// Renders version `n` if it is live at `now` (Unix nanoseconds).
    pub fn render(&self, n: u64, now: i64) -> serde_json::Result<Outcome> {
        let Some(v) = self.versions.get(&n) else { return Ok(Outcome::Missing) };
        let deleted = v.deletion != 0 && v.deletion <= now;
        let data = match v.data {
            Some(d) if !v.destroyed && !deleted => d,
            _ => return Ok(Outcome::NotLive),
        };
        // An empty map is rendered as null, as `custom_value` does.
        let custom = self.custom_metadata.filter(|c| !matches!(c.get().trim(), "{}" | "null"));
        let body = Body {
            data,
            metadata: Metadata {
                created_time: fmt_time(v.created),
                custom_metadata: custom,
                deletion_time: fmt_time(v.deletion),
                destroyed: v.destroyed,
                version: n,
            },
        };
        let live_until = if v.deletion != 0 { v.deletion } else { i64::MAX };
        serde_json::value::to_raw_value(&body).map(|b| Outcome::Live(b, live_until))
    }
}

#[cfg(test)]
mod tests {
    use super::super::v2_record::{MountConfig, Record};
    use super::*;
    use serde_json::{json, Map, Value};

    /// The fast path must render exactly what the generic path (`Record` + `Version::metadata`)
    /// renders, for every version state.
    fn check(rec: &Record, n: u64, now: i64, expect: Option<Value>) {
        let bytes = serde_json::to_vec(rec).unwrap();
        let view = RecordView::parse(&bytes).unwrap();
        assert_eq!(view.current_version, rec.current_version);
        let got = match view.render(n, now).unwrap() {
            Outcome::Live(raw, _) => Some(serde_json::from_str::<Value>(raw.get()).unwrap()),
            Outcome::Missing => None,
            Outcome::NotLive => Some(Value::String("not live".into())),
        };
        assert_eq!(got, expect, "version {n}");
    }

    fn generic(rec: &Record, n: u64) -> Value {
        let v = &rec.versions[&n];
        json!({
            "data": v.data.clone().map(Value::Object).unwrap_or(Value::Null),
            "metadata": Value::Object(v.metadata(n, &rec.custom_metadata)),
        })
    }

    fn data(s: &str) -> Map<String, Value> {
        json!({"value": s, "nested": {"a": [1, 2, "x\"y"]}}).as_object().unwrap().clone()
    }

    #[test]
    fn matches_generic_rendering() {
        let cfg = MountConfig::default();
        let mut rec = Record::default();
        rec.push(data("one"), &cfg, 1_700_000_000_123_456_789);
        rec.push(data("two \u{e9}"), &cfg, 1_700_000_001_000_000_000);
        check(&rec, 1, 0, Some(generic(&rec, 1)));
        check(&rec, 2, 0, Some(generic(&rec, 2)));
        check(&rec, 3, 0, None);
        rec.custom_metadata.insert("owner".into(), "ops".into());
        check(&rec, 2, 0, Some(generic(&rec, 2)));
        // Soft-deleted (now past the deletion time), scheduled deletion in the future, destroyed.
        if let Some(v) = rec.versions.get_mut(&1) {
            v.deletion = 10;
        }
        check(&rec, 1, 11, Some(Value::String("not live".into())));
        check(&rec, 1, 9, Some(generic(&rec, 1)));
        if let Some(v) = rec.versions.get_mut(&2) {
            v.destroyed = true;
            v.data = None;
        }
        check(&rec, 2, 0, Some(Value::String("not live".into())));
    }

    #[test]
    fn rendered_bytes_are_identical() {
        let cfg = MountConfig::default();
        let mut rec = Record::default();
        rec.push(data("v"), &cfg, 1_700_000_000_000_000_001);
        rec.custom_metadata.insert("k".into(), "v".into());
        let bytes = serde_json::to_vec(&rec).unwrap();
        let Outcome::Live(raw, _) = RecordView::parse(&bytes).unwrap().render(1, 0).unwrap() else {
            panic!("live version expected");
        };
        assert_eq!(raw.get(), serde_json::to_string(&generic(&rec, 1)).unwrap());
    }
}
