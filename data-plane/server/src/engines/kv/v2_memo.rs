//! Memo of rendered KV v2 reads of the current version, so a hot secret is parsed and
//! rendered once per write instead of once per read.
//!
//! Why it cannot serve stale data: a memo remembers *which* decrypted record it was rendered
//! from (a `Weak` to the barrier's shared plaintext) and is used only while the barrier still
//! hands out that very allocation. Every write invalidates the barrier's cached entry, so the
//! next read gets a new allocation and the memo no longer matches. The weak reference keeps the
//! allocation's address from being reused while the memo exists, without keeping the plaintext.
//! Time matters too: a memo is used only before the version's scheduled deletion time.
//!
//! Rendered bodies contain secret data, so the core clears the memo on seal and restore; an
//! epoch (as in the barrier's cache) drops renders that raced a clear.

use coffer_barrier::SharedPlain;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};
use zeroize::Zeroizing;

/// Rendered bytes held before the map starts over (memos are re-rendered on demand).
const MAX_BYTES: usize = 32 << 20;
/// Larger bodies are not memoised (the barrier does not cache such records either, so a memo
/// of one could never be used).
const MAX_BODY: usize = 64 << 10;

struct Memo {
    source: Weak<Zeroizing<Vec<u8>>>,
    /// Unix nanoseconds at which the version stops being live (`i64::MAX`: never scheduled).
    live_until: i64,
    body: Box<RawValue>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, Memo>,
    bytes: usize,
    epoch: u64,
}

#[derive(Default)]
pub struct RenderMemo {
    inner: RwLock<Inner>,
}

impl RenderMemo {
    /// The epoch to pass to [`RenderMemo::fill`]; read it before the barrier read.
    pub fn epoch(&self) -> u64 {
        self.inner.read().unwrap_or_else(PoisonError::into_inner).epoch
    }

    /// The body rendered from exactly `source` at `path`, if still live at `now`.
    pub fn get(&self, path: &str, source: &SharedPlain, now: i64) -> Option<Box<RawValue>> {
        let g = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let m = g.map.get(path)?;
        (Weak::as_ptr(&m.source) == Arc::as_ptr(source) && now < m.live_until)
            .then(|| m.body.clone())
    }

    pub fn fill(
        &self,
        epoch: u64,
        path: &str,
        source: &SharedPlain,
        live_until: i64,
        body: &RawValue,
    ) {
        let size = body.get().len();
        if size > MAX_BODY {
            return;
        }
        let mut g = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if g.epoch != epoch {
            return;
        }
        if g.bytes + size > MAX_BYTES {
            g.map.clear();
            g.bytes = 0;
        }
        let memo = Memo { source: Arc::downgrade(source), live_until, body: body.to_owned() };
        g.bytes += size;
        if let Some(old) = g.map.insert(path.to_owned(), memo) {
            g.bytes -= old.body.get().len();
        }
    }

    /// Forgets every memo (seal, restore).
    pub fn clear(&self) {
        let mut g = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        g.epoch = g.epoch.wrapping_add(1);
        g.map.clear();
        g.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> SharedPlain {
        Arc::new(Zeroizing::new(s.as_bytes().to_vec()))
    }

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn a_memo_serves_only_its_own_source_and_only_while_live() {
        let m = RenderMemo::default();
        let a = plain("a");
        m.fill(m.epoch(), "p", &a, 100, &raw("1"));
        assert_eq!(m.get("p", &a, 99).unwrap().get(), "1");
        assert!(m.get("p", &a, 100).is_none(), "past the deletion time");
        let rewritten = plain("a");
        assert!(m.get("p", &rewritten, 0).is_none(), "another record, even with equal bytes");
        assert!(m.get("q", &a, 0).is_none());
    }

    #[test]
    fn memory_is_bounded() {
        let m = RenderMemo::default();
        let a = plain("a");
        let big = format!("\"{}\"", "x".repeat(MAX_BODY));
        m.fill(m.epoch(), "big", &a, i64::MAX, &raw(&big));
        assert!(m.get("big", &a, 0).is_none(), "bodies over MAX_BODY are not kept");
        let body = format!("\"{}\"", "x".repeat(MAX_BODY - 2));
        for i in 0..(MAX_BYTES / MAX_BODY + 2) {
            m.fill(m.epoch(), &format!("k{i}"), &a, i64::MAX, &raw(&body));
            m.fill(m.epoch(), &format!("k{i}"), &a, i64::MAX, &raw(&body)); // replace, not add
        }
        let g = m.inner.read().unwrap();
        assert!(g.bytes <= MAX_BYTES, "{} bytes held", g.bytes);
        assert_eq!(g.bytes, g.map.len() * MAX_BODY);
    }

    #[test]
    fn clear_drops_memos_and_racing_fills() {
        let m = RenderMemo::default();
        let a = plain("a");
        let before = m.epoch();
        m.fill(before, "p", &a, i64::MAX, &raw("1"));
        m.clear();
        assert!(m.get("p", &a, 0).is_none());
        m.fill(before, "p", &a, i64::MAX, &raw("1"));
        assert!(m.get("p", &a, 0).is_none(), "a render started before the clear is dropped");
    }
}
