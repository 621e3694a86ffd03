//! One shipped object: whole audit lines, gzip'd, with the facts its key and metadata need.
//!
//! Pure functions over bytes so the format (contract "Audit object layout") is unit-tested
//! without S3 or a server.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

/// The prefix of `buf` that ends with its last newline (empty when it holds no whole line).
pub fn whole_lines(buf: &[u8]) -> &[u8] {
    match buf.iter().rposition(|&b| b == b'\n') {
        Some(i) => &buf[..=i],
        None => &[],
    }
}

/// The `time` field of one audit line, if it has a valid RFC 3339 one.
pub fn line_time(line: &[u8]) -> Option<OffsetDateTime> {
    #[derive(Deserialize)]
    struct Head<'a> {
        #[serde(borrow)]
        time: Option<std::borrow::Cow<'a, str>>,
    }
    let head: Head<'_> = serde_json::from_slice(line).ok()?;
    OffsetDateTime::parse(head.time?.as_ref(), &Rfc3339).ok()
}

/// Formats a time as RFC 3339 in UTC (object metadata).
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).unwrap_or_default()
}

/// A compressed batch of whole lines.
#[derive(Debug)]
pub struct Batch {
    /// Uncompressed bytes (whole lines, the last ending in a newline).
    pub len: u64,
    pub lines: u64,
    pub first_time: Option<OffsetDateTime>,
    pub last_time: Option<OffsetDateTime>,
    pub gz: Vec<u8>,
    /// SHA-256 of `gz`, which S3 verifies on receipt.
    pub gz_sha256: [u8; 32],
}

/// Compresses `lines` (non-empty, whole lines) into a batch.
pub fn build(lines: &[u8]) -> std::io::Result<Batch> {
    let body = lines.strip_suffix(b"\n").unwrap_or(lines);
    let mut it = body.split(|&b| b == b'\n');
    let first = it.next().unwrap_or_default();
    let last = body.rsplit(|&b| b == b'\n').next().unwrap_or_default();
    let count = lines.iter().filter(|&&b| b == b'\n').count() as u64;
    // Audit lines compress about tenfold.
    let mut enc = GzEncoder::new(Vec::with_capacity(lines.len() / 8 + 64), Compression::default());
    enc.write_all(lines)?;
    let gz = enc.finish()?;
    Ok(Batch {
        len: lines.len() as u64,
        lines: count,
        first_time: line_time(first),
        last_time: line_time(last),
        gz_sha256: Sha256::digest(&gz).into(),
        gz,
    })
}

/// `audit/{cluster}/node-{index}/{YYYY}/{MM}/{DD}/{HH}/{start:020}-{end:020}.jsonl.gz`, the
/// time partition being `at` (the batch's first line) in UTC.
pub fn object_key(cluster: Uuid, node: u32, at: OffsetDateTime, start: u64, end: u64) -> String {
    let t = at.to_offset(time::UtcOffset::UTC);
    format!(
        "audit/{cluster}/node-{node}/{:04}/{:02}/{:02}/{:02}/{start:020}-{end:020}.jsonl.gz",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use time::macros::datetime;

    #[test]
    fn whole_line_prefix() {
        let check = |input: &[u8], expect: &[u8]| assert_eq!(whole_lines(input), expect);
        check(b"", b"");
        check(b"partial", b"");
        check(b"a\n", b"a\n");
        check(b"a\nb\npart", b"a\nb\n");
        check(b"\n", b"\n");
    }

    #[test]
    fn line_times() {
        let check = |line: &str, expect: Option<OffsetDateTime>| {
            assert_eq!(line_time(line.as_bytes()), expect, "{line}");
        };
        check(
            r#"{"time":"2026-11-22T15:18:13.123456789Z","type":"request"}"#,
            Some(datetime!(2026-11-22 15:18:13.123456789 UTC)),
        );
        check(
            r#"{"time":"2026-11-22T16:00:00+01:00","type":"x"}"#,
            Some(datetime!(2026-11-22 15:00:00 UTC)),
        );
        check(r#"{"type":"request"}"#, None);
        check(r#"{"time":"yesterday"}"#, None);
        check("not json", None);
        check(r#"{"time":"2026-11-22T15:18:13Z""#, None);
    }

    #[test]
    fn keys_follow_the_contract_layout() {
        let c = Uuid::from_u128(0xabc);
        let key = object_key(c, 2, datetime!(2026-01-05 07:59:59 +02:00), 0, 12345);
        assert_eq!(
            key,
            "audit/00000000-0000-0000-0000-000000000abc/node-2/2026/01/05/05/\
             00000000000000000000-00000000000000012345.jsonl.gz"
        );
        assert_eq!(rfc3339(datetime!(2026-01-05 07:59:59 +02:00)), "2026-01-05T05:59:59Z");
    }

    #[test]
    fn batches_round_trip_with_counts_and_times() {
        let lines = concat!(
            r#"{"time":"2026-11-22T15:00:00Z","type":"request"}"#,
            "\n",
            r#"{"time":"2026-11-22T15:00:01Z","type":"response"}"#,
            "\n",
            r#"{"time":"2026-11-22T15:00:02Z","type":"request"}"#,
            "\n"
        );
        let b = build(lines.as_bytes()).unwrap();
        assert_eq!((b.len, b.lines), (lines.len() as u64, 3));
        assert_eq!(b.first_time, Some(datetime!(2026-11-22 15:00:00 UTC)));
        assert_eq!(b.last_time, Some(datetime!(2026-11-22 15:00:02 UTC)));
        let mut out = String::new();
        flate2::read::GzDecoder::new(&b.gz[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, lines);
        assert_eq!(b.gz_sha256, <[u8; 32]>::from(Sha256::digest(&b.gz)));

        let one = build(b"{\"time\":\"2026-11-22T15:00:00Z\"}\n").unwrap();
        assert_eq!(one.lines, 1);
        assert_eq!(one.first_time, one.last_time);
    }
}
