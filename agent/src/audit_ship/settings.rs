//! When the shipper ships: batch size, flush interval and polling, with the one environment
//! override test stacks use (production keeps the one-minute default).

use std::time::Duration;

/// Batching and polling knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShipSettings {
    /// Lines wait at most this long before they are shipped.
    pub flush_interval: Duration,
    /// A batch is shipped as soon as this many bytes of whole lines are waiting.
    pub max_batch_bytes: usize,
    /// How often the file is looked at (growth, rotation, truncation).
    pub poll_interval: Duration,
}

impl Default for ShipSettings {
    fn default() -> Self {
        ShipSettings {
            flush_interval: Duration::from_secs(60),
            max_batch_bytes: 8 << 20,
            poll_interval: Duration::from_secs(1),
        }
    }
}

impl ShipSettings {
    /// Settings flushing every `flush_interval`, polling at most once a second.
    pub fn every(flush_interval: Duration) -> Self {
        ShipSettings {
            flush_interval,
            poll_interval: flush_interval.min(Duration::from_secs(1)),
            ..ShipSettings::default()
        }
    }
}

/// The environment variable overriding the flush interval (whole seconds), for test stacks
/// that cannot wait a production minute.
pub const INTERVAL_ENV: &str = "COFFER_AGENT_AUDIT_SHIP_INTERVAL_SECS";

impl ShipSettings {
    /// The defaults, with the flush interval from [`INTERVAL_ENV`] when it holds a positive
    /// number of seconds (anything else is logged and ignored). `env` looks variables up.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Self {
        let Some(raw) = env(INTERVAL_ENV) else { return ShipSettings::default() };
        match raw.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => ShipSettings::every(Duration::from_secs(secs)),
            _ => {
                tracing::warn!(value = %raw, "{INTERVAL_ENV} is not a positive integer; ignored");
                ShipSettings::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_the_environment() {
        let check = |value: Option<&str>, flush: u64, poll_ms: u64| {
            let s = ShipSettings::from_env(|k| {
                assert_eq!(k, INTERVAL_ENV);
                value.map(str::to_owned)
            });
            assert_eq!(s.flush_interval, Duration::from_secs(flush), "{value:?}");
            assert_eq!(s.poll_interval, Duration::from_millis(poll_ms), "{value:?}");
            assert_eq!(s.max_batch_bytes, ShipSettings::default().max_batch_bytes);
        };
        check(None, 60, 1000);
        check(Some("2"), 2, 1000);
        check(Some(" 5 "), 5, 1000);
        check(Some("0"), 60, 1000);
        check(Some("-1"), 60, 1000);
        check(Some("soon"), 60, 1000);
        assert_eq!(
            ShipSettings::every(Duration::from_millis(300)).poll_interval,
            Duration::from_millis(300)
        );
    }
}
