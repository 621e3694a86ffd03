//! The sweeper's counters and their Prometheus text rendering.
//!
//! Plain atomics: a sweep updates a handful of numbers every few minutes, and a scrape reads
//! them, so neither needs a lock nor a metrics library. Counters are per process (Prometheus
//! sums replicas); the orphan gauge comes from the shared findings table at scrape time, so
//! every replica reports the same, current value whether or not it sweeps itself.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct SweeperMetrics {
    sweeps: AtomicU64,
    sweep_errors: AtomicU64,
    region_failures: AtomicU64,
    new_orphans: AtomicU64,
    /// Unix seconds of the last sweep that listed every region; 0: none yet.
    last_success: AtomicI64,
    last_duration_ms: AtomicU64,
}

impl SweeperMetrics {
    pub(super) fn sweep_finished(&self, duration_ms: u64, all_regions_listed: bool, now: i64) {
        self.sweeps.fetch_add(1, Ordering::Relaxed);
        self.last_duration_ms.store(duration_ms, Ordering::Relaxed);
        if all_regions_listed {
            self.last_success.store(now, Ordering::Relaxed);
        }
    }

    pub(super) fn sweep_failed(&self) {
        self.sweep_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn region_failed(&self) {
        self.region_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn new_orphans(&self, n: u64) {
        self.new_orphans.fetch_add(n, Ordering::Relaxed);
    }

    /// Prometheus text exposition (format 0.0.4) of the counters plus `orphans_by_kind`.
    pub fn render(&self, orphans_by_kind: &[(String, i64)]) -> String {
        let mut out = String::with_capacity(1024);
        let mut metric = |name: &str, kind: &str, help: &str, value: &dyn std::fmt::Display| {
            let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n");
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        metric(
            "coffer_sweeper_runs_total",
            "counter",
            "Orphan sweeps completed by this process.",
            &get(&self.sweeps),
        );
        metric(
            "coffer_sweeper_errors_total",
            "counter",
            "Orphan sweeps that failed (database errors).",
            &get(&self.sweep_errors),
        );
        metric(
            "coffer_sweeper_region_failures_total",
            "counter",
            "Region listings that failed during sweeps.",
            &get(&self.region_failures),
        );
        metric(
            "coffer_sweeper_new_orphans_total",
            "counter",
            "Orphaned resources seen for the first time by this process's sweeps.",
            &get(&self.new_orphans),
        );
        metric(
            "coffer_sweeper_last_success_timestamp_seconds",
            "gauge",
            "Unix time of the last sweep that listed every region (0: none yet).",
            &self.last_success.load(Ordering::Relaxed),
        );
        metric(
            "coffer_sweeper_last_duration_seconds",
            "gauge",
            "Duration of the last sweep.",
            &(get(&self.last_duration_ms) as f64 / 1000.0),
        );
        out.push_str(
            "# HELP coffer_orphans Coffer-tagged resources no live cluster owns, by kind.\n\
             # TYPE coffer_orphans gauge\n",
        );
        for (kind, n) in orphans_by_kind {
            let _ = writeln!(out, "coffer_orphans{{kind=\"{kind}\"}} {n}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(text: &'a str, series: &str) -> Option<&'a str> {
        text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
    }

    #[test]
    fn render_reports_counters_and_gauges() {
        let m = SweeperMetrics::default();
        m.sweep_finished(1500, true, 1_700_000_000);
        m.sweep_finished(250, false, 1_700_000_900);
        m.region_failed();
        m.new_orphans(3);
        m.sweep_failed();
        let text = m.render(&[("kms_key".into(), 1), ("security_group".into(), 2)]);
        let check = |series: &str, expect: &str| {
            assert_eq!(value(&text, series), Some(expect), "{series} in\n{text}");
        };
        check("coffer_sweeper_runs_total", "2");
        check("coffer_sweeper_errors_total", "1");
        check("coffer_sweeper_region_failures_total", "1");
        check("coffer_sweeper_new_orphans_total", "3");
        // The partial sweep does not count as a success.
        check("coffer_sweeper_last_success_timestamp_seconds", "1700000000");
        check("coffer_sweeper_last_duration_seconds", "0.25");
        check("coffer_orphans{kind=\"kms_key\"}", "1");
        check("coffer_orphans{kind=\"security_group\"}", "2");
        // Every series has HELP and TYPE lines.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            assert!(text.contains(&format!("# TYPE {name} ")), "{name} has no TYPE");
        }
    }
}
