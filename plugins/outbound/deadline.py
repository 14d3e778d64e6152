"""A total time budget for one fetch, shared by every step that can block."""

from __future__ import annotations

import time


class Deadline:
    """A point in time (monotonic clock) by which the whole fetch must be finished."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def clamp(self, timeout: float | None, timeout_error: type[Exception]) -> float:
        """The smaller of `timeout` and the time left; raise `timeout_error` if none is left."""
        remaining = self.remaining()
        if remaining <= 0:
            raise timeout_error("deadline exceeded")
        return remaining if timeout is None else min(timeout, remaining)
