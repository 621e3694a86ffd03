//! The precompiled rule index an [`crate::Acl`] looks paths up in.
//!
//! Built once per token's policy set, queried on every request, so all the work happens at build
//! time: exact patterns in a hash map; prefix (`foo/*`) stems in a hash map probed only at the
//! distinct stem lengths that exist (longest first, so the first hit is the longest prefix);
//! `+` patterns pre-split, bucketed by their literal first segment and pre-sorted by Vault's
//! priority so the first one that matches in a bucket is that bucket's best. A lookup allocates
//! nothing.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::policy::{PathKind, Permissions, Policy};

pub(crate) struct Index {
    perms: Vec<Permissions>,
    exact: HashMap<Box<str>, usize>,
    prefix: HashMap<Box<str>, usize>,
    /// Distinct prefix stem lengths, longest first.
    prefix_lens: Vec<usize>,
    /// `+` patterns whose first segment is a literal, bucketed by it; each bucket is sorted
    /// highest priority first. Most policies name a mount first, so a lookup only scans the
    /// patterns for its own mount plus `any_first_segment`.
    segment_by_first: HashMap<Box<str>, Vec<SegmentPattern>>,
    /// `+` patterns starting with a wildcard (or a single prefix-matched segment), sorted.
    segment_any: Vec<SegmentPattern>,
}

/// A `+` pattern ready for matching, with the fields Vault's priority order compares.
struct SegmentPattern {
    /// Literal text before the first `+`: a cheap reject before splitting the path.
    lead: Box<str>,
    /// The pattern without its trailing `*`, split on `/`.
    parts: Box<[Box<str>]>,
    priority: Priority,
    perm: usize,
}

/// Vault's tie-break data for non-exact matches (see `Priority::cmp`).
struct Priority {
    first_wildcard: usize,
    is_prefix: bool,
    wildcards: usize,
    stem: Box<str>,
}

impl Priority {
    /// `Greater` means higher priority, following Vault's documented order: later first
    /// wildcard/glob, then not ending in `*`, then fewer `+` segments, then longer, then
    /// lexically greater.
    fn cmp(&self, other: &Priority) -> Ordering {
        self.first_wildcard
            .cmp(&other.first_wildcard)
            .then_with(|| other.is_prefix.cmp(&self.is_prefix))
            .then_with(|| other.wildcards.cmp(&self.wildcards))
            .then_with(|| self.stem.len().cmp(&other.stem.len()))
            .then_with(|| self.stem.cmp(&other.stem))
    }
}

impl Index {
    pub(crate) fn build<'a>(policies: impl IntoIterator<Item = &'a Policy>) -> Index {
        let mut perms: Vec<Permissions> = Vec::new();
        let mut exact: HashMap<Box<str>, usize> = HashMap::new();
        let mut prefix: HashMap<Box<str>, usize> = HashMap::new();
        let mut segment: HashMap<Box<str>, usize> = HashMap::new();
        for policy in policies {
            for rule in policy.rules() {
                // Identity-templated paths ({{identity.entity.id}}) need an entity to render;
                // Vault skips them for tokens without one, and Coffer has no identity store.
                if rule.pattern.contains("{{") {
                    continue;
                }
                let map = match rule.kind {
                    PathKind::Exact => &mut exact,
                    PathKind::Prefix => &mut prefix,
                    PathKind::SegmentWildcard => &mut segment,
                };
                match map.get(rule.pattern.as_str()) {
                    Some(&i) => perms[i].merge(&rule.permissions),
                    None => {
                        map.insert(rule.pattern.as_str().into(), perms.len());
                        perms.push(rule.permissions.clone());
                    }
                }
            }
        }
        let mut prefix_lens: Vec<usize> = prefix.keys().map(|k| k.len()).collect();
        prefix_lens.sort_unstable_by(|a, b| b.cmp(a));
        prefix_lens.dedup();

        let mut segment_by_first: HashMap<Box<str>, Vec<SegmentPattern>> = HashMap::new();
        let mut segment_any = Vec::new();
        for (pattern, perm) in segment {
            if pattern.is_empty() {
                continue;
            }
            let compiled = compile_segment(&pattern, perm);
            let first = &compiled.parts[0];
            // A lone prefix-matched segment matches by `starts_with`, not equality.
            let literal_first =
                &**first != "+" && (compiled.parts.len() > 1 || !compiled.priority.is_prefix);
            if literal_first {
                segment_by_first.entry(first.clone()).or_default().push(compiled);
            } else {
                segment_any.push(compiled);
            }
        }
        for bucket in segment_by_first.values_mut() {
            bucket.sort_by(|a, b| b.priority.cmp(&a.priority));
        }
        segment_any.sort_by(|a, b| b.priority.cmp(&a.priority));
        Index { perms, exact, prefix, prefix_lens, segment_by_first, segment_any }
    }

    /// Vault's lookup: exact match, then (for LIST) the path without its trailing slash, then the
    /// best non-exact match.
    pub(crate) fn lookup(&self, path: &str, is_list: bool) -> Option<&Permissions> {
        let path = path.trim_start_matches('/');
        if let Some(&i) = self.exact.get(path) {
            return Some(&self.perms[i]);
        }
        let trimmed = path.strip_suffix('/');
        if is_list {
            if let Some(trimmed) = trimmed {
                if let Some(&i) = self.exact.get(trimmed) {
                    return Some(&self.perms[i]);
                }
                // Trailing-wildcard rules may match the path without its slash first.
                if let Some(p) = self.non_exact(trimmed) {
                    return Some(p);
                }
            }
        }
        self.non_exact(path)
    }

    fn non_exact(&self, path: &str) -> Option<&Permissions> {
        let prefix_hit = self.longest_prefix(path);
        if self.segment_by_first.is_empty() && self.segment_any.is_empty() {
            return prefix_hit.map(|(_, i)| &self.perms[i]);
        }
        let path_segments = path.bytes().filter(|&b| b == b'/').count() + 1;
        let first = path.split('/').next().unwrap_or_default();
        let bucket_hit = self
            .segment_by_first
            .get(first)
            .and_then(|bucket| bucket.iter().find(|p| p.matches(path, path_segments)));
        let any_hit = self.segment_any.iter().find(|p| p.matches(path, path_segments));
        let segment_hit = match (bucket_hit, any_hit) {
            (Some(a), Some(b)) if b.priority.cmp(&a.priority) == Ordering::Greater => Some(b),
            (Some(a), _) => Some(a),
            (None, b) => b,
        };
        match (prefix_hit, segment_hit) {
            (None, None) => None,
            (Some((_, i)), None) => Some(&self.perms[i]),
            (None, Some(seg)) => Some(&self.perms[seg.perm]),
            (Some((stem, i)), Some(seg)) => {
                let prefix_priority = Priority {
                    first_wildcard: stem.len(),
                    is_prefix: true,
                    wildcards: 0,
                    stem: stem.into(),
                };
                if seg.priority.cmp(&prefix_priority) == Ordering::Greater {
                    Some(&self.perms[seg.perm])
                } else {
                    Some(&self.perms[i])
                }
            }
        }
    }

    fn longest_prefix<'p>(&self, path: &'p str) -> Option<(&'p str, usize)> {
        self.prefix_lens.iter().filter(|&&len| len <= path.len()).find_map(|&len| {
            let stem = path.get(..len)?;
            self.prefix.get(stem).map(|&i| (stem, i))
        })
    }
}

fn compile_segment(pattern: &str, perm: usize) -> SegmentPattern {
    let (stem, is_prefix) = match pattern.strip_suffix('*') {
        Some(stem) => (stem, true),
        None => (pattern, false),
    };
    let parts: Box<[Box<str>]> = stem.split('/').map(Into::into).collect();
    let wildcards = parts.iter().filter(|p| &***p == "+").count();
    let first_wildcard = pattern.find('+').unwrap_or(pattern.len());
    SegmentPattern {
        lead: pattern[..first_wildcard].into(),
        priority: Priority { first_wildcard, is_prefix, wildcards, stem: stem.into() },
        parts,
        perm,
    }
}

impl SegmentPattern {
    fn matches(&self, path: &str, path_segments: usize) -> bool {
        let n = self.parts.len();
        if !path.starts_with(&*self.lead) {
            return false;
        }
        if path_segments < n || (!self.priority.is_prefix && path_segments != n) {
            return false;
        }
        self.parts.iter().zip(path.split('/')).enumerate().all(|(i, (part, seg))| {
            &**part == "+"
                || &**part == seg
                || (self.priority.is_prefix && i == n - 1 && seg.starts_with(&**part))
        })
    }
}
