"""A validation run's time budget, across all its attempts, so a hostile host can't hold it.

Every network call of a run (documents, bundled `$ref`s, logo, legal page) draws on two limits:

- worker time: settings.VALIDATION_RUN_NETWORK_BUDGET seconds of waiting on the network, summed
  over every attempt (stored on the run as `network_seconds`);
- wall time: a verdict within settings.VALIDATION_RUN_DEADLINE seconds of the run's first start,
  retries and their back-off included.

Each call gets the smaller of its own timeout and what is left; when too little is left it is not
made at all (`budget_exhausted`). A transient failure is retried only while both limits leave
room for the back-off and another attempt, and never when it is a timeout from a host that had
already timed out in an earlier attempt of the run (`timed_out_hosts`).

The active budget is a context variable set by the run (`active`); code outside a run (tests,
the outbound client on its own) sees no budget and uses its own timeouts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from plugins.outbound import FetchError

BUDGET_EXHAUSTED = "budget_exhausted"
# Shorter than this is not worth a connection: the call is skipped as out of budget.
MIN_CALL_SECONDS = 1.0
# Back-off before the 2nd, 3rd and 4th attempt of a run whose fetch failed transiently.
RETRY_DELAYS = (3, 6, 12)


@dataclass
class RunBudget:
    network_left: float  # seconds of network wait left, over all attempts
    deadline: float  # time.monotonic() by which the run must have its verdict
    timed_out_before: frozenset[str] = frozenset()  # hosts that timed out in earlier attempts
    timed_out_now: set[str] = field(default_factory=set)
    spent: float = 0.0  # network seconds spent in this attempt

    @classmethod
    def for_run(cls, run) -> RunBudget:
        started = run.started_at or timezone.now()
        wall_left = settings.VALIDATION_RUN_DEADLINE - (timezone.now() - started).total_seconds()
        return cls(
            network_left=settings.VALIDATION_RUN_NETWORK_BUDGET - (run.network_seconds or 0.0),
            deadline=time.monotonic() + wall_left,
            timed_out_before=frozenset(run.timed_out_hosts or ()),
        )

    def seconds_left(self) -> float:
        return max(0.0, min(self.network_left - self.spent, self.deadline - time.monotonic()))

    def note_timeout(self, host: str | None) -> None:
        if host:
            self.timed_out_now.add(host)

    def allows_retry(self, *, host: str | None, timed_out: bool, delay: float) -> bool:
        """Whether another attempt after `delay` seconds still fits and is worth making."""
        if timed_out and host and host in self.timed_out_before:
            return False
        if self.network_left - self.spent < MIN_CALL_SECONDS * 2:
            return False
        return self.deadline - time.monotonic() - delay >= MIN_CALL_SECONDS * 2

    @property
    def timed_out_hosts(self) -> list[str]:
        return sorted(self.timed_out_before | self.timed_out_now)


_active: ContextVar[RunBudget | None] = ContextVar("run_budget", default=None)


@contextmanager
def active(budget: RunBudget) -> Iterator[RunBudget]:
    token = _active.set(budget)
    try:
        yield budget
    finally:
        _active.reset(token)


@contextmanager
def metered(default_timeout: float) -> Iterator[float]:
    """The timeout for one network call within the active run's budget; its time is counted.
    Raises FetchError(BUDGET_EXHAUSTED) when the run has too little time left to try."""
    budget = _active.get()
    if budget is None:
        yield default_timeout
        return
    timeout = min(default_timeout, budget.seconds_left())
    if timeout < MIN_CALL_SECONDS:
        raise FetchError(
            BUDGET_EXHAUSTED,
            "This validation run has used up its time for network requests.",
        )
    started = time.monotonic()
    try:
        yield timeout
    finally:
        budget.spent += time.monotonic() - started


def retry_delay(attempts: int) -> float | None:
    """The back-off after attempt number `attempts` (1-based), or None when none is left."""
    return RETRY_DELAYS[attempts - 1] if 1 <= attempts <= len(RETRY_DELAYS) else None
