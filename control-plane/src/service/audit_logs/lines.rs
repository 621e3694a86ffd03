//! Turning downloaded audit objects into one time-ordered JSON-lines body.
//!
//! Each node's objects hold its lines in the order they were written, but a cluster has several
//! nodes, so the lines of one range are merged by their `time` field (a stable sort: lines with
//! equal times keep their node's order). Pure and synchronous: the caller runs it on a blocking
//! thread, and tests call it directly.

use std::io::Read;

use flate2::read::MultiGzDecoder;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::TimeRange;

#[derive(Debug, PartialEq, Eq)]
pub enum MergeError {
    /// More than the cap once decompressed.
    TooLarge,
    /// Not gzip (or truncated); the detail is for the log.
    Corrupt(String),
}

/// Decompresses every body (gzip, possibly several members), keeps the lines whose time is in
/// `range`, and returns them merged in time order, each ending in `\n`.
pub fn merge(bodies: &[Vec<u8>], range: TimeRange, cap: u64) -> Result<Vec<u8>, MergeError> {
    let mut plain = Vec::with_capacity(bodies.len());
    let mut total: u64 = 0;
    for body in bodies {
        let mut out = Vec::new();
        // One byte over the remaining budget tells "exactly at the cap" from "over it".
        let budget = cap - total + 1;
        MultiGzDecoder::new(body.as_slice())
            .take(budget)
            .read_to_end(&mut out)
            .map_err(|e| MergeError::Corrupt(e.to_string()))?;
        total += out.len() as u64;
        if total > cap {
            return Err(MergeError::TooLarge);
        }
        plain.push(out);
    }

    // (time, object, start, end) of each kept line; the text stays in `plain`.
    let mut kept: Vec<(OffsetDateTime, usize, usize, usize)> = Vec::new();
    let mut undated = 0usize;
    for (i, text) in plain.iter().enumerate() {
        let mut start = 0;
        for line in text.split(|b| *b == b'\n') {
            let end = start + line.len();
            let trimmed = line.strip_suffix(b"\r").unwrap_or(line);
            if !trimmed.is_empty() {
                match line_time(trimmed) {
                    Some(t) if t >= range.from && t < range.to => {
                        kept.push((t, i, start, start + trimmed.len()));
                    }
                    Some(_) => {}
                    None => undated += 1,
                }
            }
            start = end + 1;
        }
    }
    if undated > 0 {
        tracing::warn!(undated, "audit lines without a readable time were left out");
    }
    kept.sort_by_key(|k| k.0);
    let size = kept.iter().map(|k| k.3 - k.2 + 1).sum();
    let mut out = Vec::with_capacity(size);
    for (_, i, s, e) in kept {
        out.extend_from_slice(&plain[i][s..e]);
        out.push(b'\n');
    }
    Ok(out)
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    time: std::borrow::Cow<'a, str>,
}

/// The line's `time`. coffer-server writes it first (`{"time":"...`), so that is read without
/// parsing the line; anything else falls back to a JSON parse.
fn line_time(line: &[u8]) -> Option<OffsetDateTime> {
    const HEAD: &[u8] = b"{\"time\":\"";
    if let Some(rest) = line.strip_prefix(HEAD) {
        let end = rest.iter().position(|b| *b == b'"')?;
        let raw = std::str::from_utf8(&rest[..end]).ok()?;
        if let Ok(t) = OffsetDateTime::parse(raw, &Rfc3339) {
            return Some(t);
        }
    }
    let head: Head<'_> = serde_json::from_slice(line).ok()?;
    OffsetDateTime::parse(&head.time, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;
    use time::macros::datetime;

    use super::*;

    fn gz(text: &str) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    fn line(t: &str, n: u32) -> String {
        format!("{{\"time\":\"{t}\",\"type\":\"request\",\"n\":{n}}}\n")
    }

    const RANGE: TimeRange =
        TimeRange { from: datetime!(2026-11-22 10:00 UTC), to: datetime!(2026-11-22 11:00 UTC) };

    #[test]
    fn merges_nodes_in_time_order_within_the_range() {
        let node0 = [
            line("2026-11-22T09:59:59Z", 0),
            line("2026-11-22T10:00:00Z", 1),
            line("2026-11-22T10:30:00Z", 3),
        ]
        .concat();
        let node1 = [
            line("2026-11-22T10:15:00Z", 2),
            line("2026-11-22T10:30:00Z", 4),
            line("2026-11-22T11:00:00Z", 5),
        ]
        .concat();
        let out = merge(&[gz(&node0), gz(&node1)], RANGE, 1 << 20).unwrap();
        let text = String::from_utf8(out).unwrap();
        let ns: Vec<u64> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["n"].as_u64().unwrap())
            .collect();
        // Equal times keep object order (node 0 before node 1): 3 before 4.
        assert_eq!(ns, [1, 2, 3, 4]);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn reads_times_that_are_not_first_and_multi_member_gzip() {
        let a = gz("{\"type\":\"x\",\"time\":\"2026-11-22T10:05:00+00:00\"}\r\n");
        let b = gz(&line("2026-11-22T10:01:00Z", 7));
        let both = [a, b].concat();
        let out = String::from_utf8(merge(&[both], RANGE, 1 << 20).unwrap()).unwrap();
        assert_eq!(
            out,
            format!(
                "{}{}",
                line("2026-11-22T10:01:00Z", 7),
                "{\"type\":\"x\",\"time\":\"2026-11-22T10:05:00+00:00\"}\n"
            )
        );
    }

    #[test]
    fn undated_lines_are_dropped_and_limits_hold() {
        let body = gz(&format!("not json\n{}", line("2026-11-22T10:00:01Z", 1)));
        let out = merge(std::slice::from_ref(&body), RANGE, 1 << 20).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), line("2026-11-22T10:00:01Z", 1));

        let plain_len = format!("not json\n{}", line("2026-11-22T10:00:01Z", 1)).len() as u64;
        assert!(merge(std::slice::from_ref(&body), RANGE, plain_len).is_ok());
        assert_eq!(
            merge(std::slice::from_ref(&body), RANGE, plain_len - 1),
            Err(MergeError::TooLarge)
        );
        assert!(matches!(merge(&[b"plain".to_vec()], RANGE, 1 << 20), Err(MergeError::Corrupt(_))));
    }
}
