"""Deadline-bounded polling: the suite's only way to wait for an asynchronous condition.

Fixed sleeps make tests both slow and flaky; polling a real condition with a deadline is
neither, and the failure message says what was being waited for.
"""

import time


class Timeout(AssertionError):
    pass


def wait_until(condition, *, timeout=15.0, interval=0.05, what="condition", fatal=()):
    """Call `condition()` until it returns a truthy value; return that value.

    Exceptions raised by `condition` count as "not yet" (a server that is still starting
    refuses connections); the last one is reported if the deadline passes.
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except fatal:
            raise
        except Exception as err:  # noqa: BLE001 - any other failure means "not ready yet"
            last_error = err
        if time.monotonic() >= deadline:
            raise Timeout(f"timed out after {timeout}s waiting for {what}; last error: {last_error!r}")
        time.sleep(interval)
