"""Polling with a deadline: the only way this suite waits.

Every wait names what it waits for and reports the last thing it saw, so a timeout explains
itself ("operation still running at step wait_for_nodes") instead of saying only "timed out".
"""

import time


class Timeout(AssertionError):
    pass


def until(probe, *, timeout, what, done=bool, interval=0.2):
    """Calls `probe()` until `done(observation)` holds and returns that observation.

    `probe` may raise; the exception counts as "not yet" and is reported if the deadline passes.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = probe()
            if done(value):
                return value
            last = value
        except Exception as e:  # noqa: BLE001 - every failure of a probe is "not yet"
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() >= deadline:
            raise Timeout(f"timed out after {timeout:.0f}s waiting for {what}; last observation: {_short(last)}")
        time.sleep(interval)


def _short(value, limit=1500):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
