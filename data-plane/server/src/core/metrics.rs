//! Process metrics: lock-free counters the request path bumps, rendered by `sys/metrics` in
//! Prometheus text or Vault's JSON form. Names follow Vault's where one exists, so existing
//! dashboards keep working.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

pub struct Metrics {
    started: Instant,
    pub requests: AtomicU64,
    pub logins: AtomicU64,
    pub status_2xx: AtomicU64,
    pub status_4xx: AtomicU64,
    pub status_5xx: AtomicU64,
    /// Sum of request latencies in microseconds, and the number of samples.
    pub latency_us_sum: AtomicU64,
    pub latency_count: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            requests: AtomicU64::new(0),
            logins: AtomicU64::new(0),
            status_2xx: AtomicU64::new(0),
            status_4xx: AtomicU64::new(0),
            status_5xx: AtomicU64::new(0),
            latency_us_sum: AtomicU64::new(0),
            latency_count: AtomicU64::new(0),
        }
    }
}

/// One rendered metric.
pub struct Sample {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: &'static str,
    pub labels: &'static str,
    pub value: f64,
}

impl Metrics {
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a finished request's status and latency.
    pub fn record(&self, status: u16, micros: u64) {
        match status {
            200..=399 => Self::inc(&self.status_2xx),
            400..=499 => Self::inc(&self.status_4xx),
            _ => Self::inc(&self.status_5xx),
        }
        self.latency_us_sum.fetch_add(micros, Ordering::Relaxed);
        Self::inc(&self.latency_count);
    }

    pub fn uptime_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Counters and gauges as flat samples; the arguments are state the core owns.
    pub fn samples(&self, unsealed: bool, mounts: usize, tokens_created: u64) -> Vec<Sample> {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64;
        let s = |name, help, kind, labels, value| Sample { name, help, kind, labels, value };
        vec![
            s(
                "vault_core_handle_request_count",
                "Requests handled by the core.",
                "counter",
                "",
                get(&self.requests),
            ),
            s(
                "vault_core_handle_login_request_count",
                "Login requests handled.",
                "counter",
                "",
                get(&self.logins),
            ),
            s("vault_token_creation", "Tokens created.", "counter", "", tokens_created as f64),
            s(
                "coffer_http_responses_total",
                "HTTP responses by status class.",
                "counter",
                "{code=\"2xx\"}",
                get(&self.status_2xx),
            ),
            s(
                "coffer_http_responses_total",
                "HTTP responses by status class.",
                "counter",
                "{code=\"4xx\"}",
                get(&self.status_4xx),
            ),
            s(
                "coffer_http_responses_total",
                "HTTP responses by status class.",
                "counter",
                "{code=\"5xx\"}",
                get(&self.status_5xx),
            ),
            s(
                "coffer_http_request_duration_seconds_sum",
                "Total request latency.",
                "counter",
                "",
                get(&self.latency_us_sum) / 1e6,
            ),
            s(
                "coffer_http_request_duration_seconds_count",
                "Requests timed.",
                "counter",
                "",
                get(&self.latency_count),
            ),
            s(
                "vault_core_unsealed",
                "1 when unsealed.",
                "gauge",
                "",
                if unsealed { 1.0 } else { 0.0 },
            ),
            s(
                "vault_core_mount_table_num_entries",
                "Secrets engine mounts.",
                "gauge",
                "{type=\"logical\"}",
                mounts as f64,
            ),
            s(
                "coffer_process_uptime_seconds",
                "Seconds since start.",
                "gauge",
                "",
                self.uptime_secs(),
            ),
        ]
    }
}
