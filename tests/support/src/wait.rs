//! Polling with a deadline: how tests wait for another process or task to reach a state, since
//! a fixed sleep is either flaky (too short on a loaded CI machine) or slow (too long).

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// Between two probes: short against the seconds a server takes to start, long enough that a
/// probe doing a request does not load a 2-core CI machine.
const INTERVAL: Duration = Duration::from_millis(50);

/// What a probe returns: done (with a value) or not yet (with what it saw, for the panic
/// message when the deadline passes).
pub trait Outcome {
    type Value;
    type Seen: Display;
    fn into_result(self) -> Result<Self::Value, Self::Seen>;
}

impl Outcome for bool {
    type Value = ();
    type Seen = &'static str;
    fn into_result(self) -> Result<(), &'static str> {
        if self {
            Ok(())
        } else {
            Err("still false")
        }
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    type Seen = &'static str;
    fn into_result(self) -> Result<T, &'static str> {
        self.ok_or("nothing yet")
    }
}

impl<T, E: Display> Outcome for Result<T, E> {
    type Value = T;
    type Seen = E;
    fn into_result(self) -> Result<T, E> {
        self
    }
}

/// Calls `probe` until it reports done (`true`, `Some`, `Ok`) and returns its value; panics
/// naming `what` and the last observation once `within` has passed. The probe runs at least
/// once, however short `within` is.
pub async fn until<F, Fut>(
    what: &str,
    within: Duration,
    mut probe: F,
) -> <Fut::Output as Outcome>::Value
where
    F: FnMut() -> Fut,
    Fut: Future,
    Fut::Output: Outcome,
{
    let deadline = Instant::now() + within;
    loop {
        match probe().await.into_result() {
            Ok(value) => return value,
            Err(seen) => {
                assert!(
                    Instant::now() < deadline,
                    "timed out after {within:?} waiting for {what}; last seen: {seen}"
                );
            }
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::ready;

    #[tokio::test]
    async fn returns_the_value_once_the_probe_is_done() {
        let mut calls = 0;
        let got = until("the third call", Duration::from_secs(10), || {
            calls += 1;
            ready(if calls == 3 { Ok(calls * 10) } else { Err(format!("call {calls}")) })
        })
        .await;
        assert_eq!((got, calls), (30, 3));

        let mut n = 0;
        until("a true", Duration::from_secs(10), || {
            n += 1;
            ready(n > 1)
        })
        .await;
        assert_eq!(n, 2);

        let v = until("a some", Duration::from_secs(10), || ready(Some("x"))).await;
        assert_eq!(v, "x");
    }

    #[tokio::test]
    async fn panics_with_what_and_the_last_observation_after_the_deadline() {
        let outcome = tokio::spawn(async {
            let mut n = 0;
            until("a miracle", Duration::from_millis(120), || {
                n += 1;
                ready(Err::<(), _>(format!("attempt {n}")))
            })
            .await;
        })
        .await;
        let panic = outcome.expect_err("the wait gives up").into_panic();
        let message = panic.downcast_ref::<String>().expect("a formatted message");
        assert!(message.contains("waiting for a miracle; last seen: attempt "), "{message}");
        let attempts: u32 = message.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
        assert!(attempts >= 2, "polled more than once: {message}");
    }

    #[tokio::test]
    async fn probes_at_least_once_with_no_time_left() {
        let got = until("an immediate answer", Duration::ZERO, || ready(Some(7))).await;
        assert_eq!(got, 7);
    }
}
