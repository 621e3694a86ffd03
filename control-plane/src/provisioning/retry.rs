//! Exponential back-off with jitter for transient cloud errors.
//!
//! Jitter matters because many operations fail together when AWS throttles an account: without
//! it every replica would retry in lock-step and be throttled again. We use "equal jitter"
//! (half the delay fixed, half random) so a retry never comes back almost immediately.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max: Duration,
    /// Tries of one step, the first included.
    pub max_attempts: u32,
}

impl RetryPolicy {
    /// The ceiling before jitter for the retry after try number `attempt` (1-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        self.initial.saturating_mul(1u32 << exp).min(self.max)
    }

    /// The delay before retrying after try `attempt`; `unit` is a uniform sample in [0, 1).
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// Whether another try is allowed after `attempt` tries.
    pub fn may_retry(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }

    /// [`delay`](Self::delay) with a random sample.
    pub fn jittered(&self, attempt: u32) -> Duration {
        use rand::Rng as _;
        self.delay(attempt, rand::thread_rng().gen::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
            max_attempts: 5,
        }
    }

    #[test]
    fn ceiling_doubles_up_to_the_cap() {
        let check =
            |attempt, ms| assert_eq!(policy().ceiling(attempt).as_millis(), ms, "{attempt}");
        check(1, 100);
        check(2, 200);
        check(3, 400);
        check(5, 1600);
        check(6, 2000);
        check(1000, 2000);
    }

    #[test]
    fn delay_stays_between_half_and_full_ceiling() {
        let check = |attempt, unit, ms| {
            assert_eq!(policy().delay(attempt, unit).as_millis(), ms, "{attempt} {unit}");
        };
        check(1, 0.0, 50);
        check(1, 0.5, 75);
        check(3, 0.0, 200);
        check(3, 0.999_999, 399);
        check(6, 2.0, 2000);
        for attempt in 1..10 {
            let d = policy().jittered(attempt);
            assert!(d >= policy().ceiling(attempt) / 2 && d <= policy().ceiling(attempt));
        }
    }

    #[test]
    fn attempts_are_capped() {
        let check = |attempt, ok| assert_eq!(policy().may_retry(attempt), ok, "{attempt}");
        check(1, true);
        check(4, true);
        check(5, false);
        check(6, false);
    }
}
