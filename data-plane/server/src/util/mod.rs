//! Small helpers shared by handlers: typed access to request fields (which arrive as JSON
//! values or, from query strings, as text) and Vault's duration syntax.

pub mod cidr;
pub mod duration;
pub mod fields;
pub mod ids;

/// A duration in seconds as a signed offset, saturating (user-supplied TTLs can be huge).
pub fn secs(d: u64) -> i64 {
    i64::try_from(d).unwrap_or(i64::MAX)
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 with nanoseconds, as Vault prints times.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Current time in RFC 3339 with sub-second precision.
pub fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
