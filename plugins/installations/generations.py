"""A generation number per installation, bumped on every change that affects calls.

The proxy's hot path caches an installation's context (the caller's token and membership, the
pinned version, the member's policy) in process and re-reads it when this number moves: one
Redis GET per call instead of several database round trips. Bumped after commit by the services
that change an installation, its allow-lists or its existence, and (through model signals,
since accounts never imports plugins) by every change to who may act in an organization: an API
token saved (revoked, expired), deleted, a membership added, changed or removed, a user
deactivated. Those bump every installation of the organization, so a revoked token or a removed
member is refused on the very next call, not when a cache entry expires. Without Redis
(`make run` on SQLite) there is no cache to invalidate and these are no-ops.
"""

from __future__ import annotations

import functools

import redis
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save


def key(installation_id: int) -> str:
    return f"installations:gen:{installation_id}"


@functools.cache
def _client() -> redis.Redis | None:
    return redis.Redis.from_url(settings.REDIS_URL) if settings.REDIS_URL else None


def _incr(client: redis.Redis, installation_ids: list[int]) -> None:
    pipe = client.pipeline(transaction=False)
    for installation_id in installation_ids:
        pipe.incr(key(installation_id))
    pipe.execute()


def bump_generation(installation_id: int) -> None:
    """Invalidate cached contexts of the installation now and again once the current
    transaction commits (a context reloaded in between still read the old rows)."""
    bump_generations([installation_id])


def bump_generations(installation_ids: list[int]) -> None:
    client = _client()
    ids = list(installation_ids)
    if client is None or not ids:
        return
    _incr(client, ids)
    transaction.on_commit(lambda: _incr(client, ids))


def bump_organizations(organization_ids) -> None:
    """Invalidate the cached contexts of every installation of these organizations."""
    if _client() is None:
        return
    from plugins.installations.models import Installation

    ids = list(
        Installation.objects.filter(organization_id__in=list(organization_ids)).values_list(
            "pk", flat=True
        )
    )
    bump_generations(ids)


# -- who may act changed (accounts' models; connected in InstallationsConfig.ready) -------------


def _credential_changed(sender, instance, created=False, **kwargs) -> None:
    if not created:  # a new token is in no cache yet
        bump_organizations([instance.organization_id])


def _membership_changed(sender, instance, **kwargs) -> None:
    bump_organizations([instance.organization_id])


def _user_changed(sender, instance, created=False, update_fields=None, **kwargs) -> None:
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    from accounts.models import Membership

    bump_organizations(
        Membership.objects.filter(user_id=instance.pk).values_list("organization_id", flat=True)
    )


def connect_signals() -> None:
    from accounts.models import ApiCredential, Membership, User

    uid = "installations.generations"
    post_save.connect(_credential_changed, sender=ApiCredential, dispatch_uid=f"{uid}.cred.save")
    post_delete.connect(_credential_changed, sender=ApiCredential, dispatch_uid=f"{uid}.cred.del")
    post_save.connect(_membership_changed, sender=Membership, dispatch_uid=f"{uid}.member.save")
    post_delete.connect(_membership_changed, sender=Membership, dispatch_uid=f"{uid}.member.del")
    post_save.connect(_user_changed, sender=User, dispatch_uid=f"{uid}.user.save")
