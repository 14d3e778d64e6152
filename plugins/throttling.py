"""How often one user (or API key) and one organization may ask for validation work.

Every request that would queue a validation run (a registration or a re-validation) is charged
here first, by the web view and the API alike. Counting is django-ratelimit's fixed windows in
the cache: Redis in production, shared by every web process; the filesystem cache in
development. Over either limit nothing is created: the caller gets `SubmissionThrottled` with
the seconds until the window resets, which the edges answer as 429 with `Retry-After`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django_ratelimit.core import get_usage

from accounts.actors import Actor

GROUP = "plugins.validation-requests"


@dataclass
class SubmissionThrottled(Exception):
    retry_after: int  # seconds
    scope: str  # "user" or "organization"

    @property
    def message(self) -> str:
        who = "your organization" if self.scope == "organization" else "you"
        return f"Too many registrations and re-validations by {who} for now."


def charge_validation_request(*, actor: Actor) -> None:
    """Count one validation request against the actor and against its organization; raise
    SubmissionThrottled when either is over its limit. Counting is an atomic increment, so
    concurrent requests can't slip past a limit together; a refused request still counts."""
    buckets = [
        ("user", _caller_key(actor), settings.MARKETPLACE_SUBMISSIONS_PER_USER),
        (
            "organization",
            f"org:{actor.organization.pk}",
            settings.MARKETPLACE_SUBMISSIONS_PER_ORGANIZATION,
        ),
    ]
    for scope, key, rate in buckets:
        if not rate:
            continue
        usage = get_usage(None, group=GROUP, key=_fixed(key), rate=rate, increment=True)
        if usage is not None and usage["should_limit"]:
            raise SubmissionThrottled(retry_after=max(usage["time_left"], 1), scope=scope)


def _caller_key(actor: Actor) -> str:
    if actor.user is not None:
        return f"user:{actor.user.pk}"
    return f"credential:{actor.credential.pk}"  # an organization API key is its own caller


def _fixed(key: str):
    return lambda _group, _request: key
