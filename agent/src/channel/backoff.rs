//! Exponential backoff for the channel's retries: an unreachable control plane is retried
//! quickly at first and then at a bounded, slow pace, so a fleet of nodes does not hammer a
//! control plane that is coming back up. Jitter spreads nodes that failed at the same moment.

use std::time::Duration;

use rand::Rng as _;

pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff { min, max, next: min }
    }

    /// After a success: start again from the minimum.
    pub fn reset(&mut self) {
        self.next = self.min;
    }

    /// The delay before the next retry (between half and all of the current step), doubling
    /// the step up to the maximum.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(self.max);
        let half = step / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rand::thread_rng().gen_range(0..=jitter_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_and_resets() {
        let (min, max) = (Duration::from_millis(100), Duration::from_millis(800));
        let mut b = Backoff::new(min, max);
        for step_ms in [100u64, 200, 400, 800, 800] {
            let d = b.next_delay();
            let step = Duration::from_millis(step_ms);
            assert!(d >= step / 2 && d <= step, "{d:?} outside [{:?}, {step:?}]", step / 2);
        }
        b.reset();
        assert!(b.next_delay() <= min);
    }
}
