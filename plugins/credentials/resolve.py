"""The proxy's one door to credentials: resolve_credential and force_refresh.

See the package docstring for the contract. The hot path reads one cache entry holding
sealed values, opens it with the vault, and touches the database only on a cache miss, a due
refresh, or (at most every few minutes) to note "last used".
"""

from __future__ import annotations

import json
import logging
import time

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.audit import record_event
from plugins import vault
from plugins.credentials import cache
from plugins.credentials.errors import (
    CredentialMissing,
    CredentialUnavailable,
    CredentialUnreadableByUser,
    NeedsReconnect,
)
from plugins.credentials.injected import InjectedCredential
from plugins.credentials.models import (
    ConnectionState,
    OAuthConnection,
    ServiceCredential,
    UserCredential,
)
from plugins.credentials.oauth import refresh as refreshing
from plugins.credentials.oauth.connections import snapshot
from plugins.credentials.oauth.lock import LockBusy
from plugins.credentials.schemes import Scheme, apply, auth_type, scheme_for

logger = logging.getLogger(__name__)

LAST_USED_EVERY = 300  # seconds between "last used" writes per credential
UNREADABLE_AUDIT_EVERY = 3600


def resolve_credential(*, installation, user) -> InjectedCredential:
    kind = auth_type(installation.version)
    if kind == "none":
        return InjectedCredential()
    if kind == "service_http":
        return _service(installation)
    if user is None:
        raise CredentialMissing(
            "This plugin acts as each user: call it as a user, not with an organization key."
        )
    if kind == "user_http":
        return _user_key(installation, user)
    return _oauth(installation, user, forced=False, rejected_generation=None)


def prefetch_key(*, installation, user) -> str | None:
    """For the proxy's async face: the Redis key whose raw value lets `resolve_prefetched`
    resolve this call's credential without the database (service and user keys), else None."""
    kind = auth_type(installation.version)
    if kind == "service_http":
        return cache.redis_key(cache.service_key(installation.plugin_id))
    if kind == "user_http" and user is not None:
        return cache.redis_key(cache.user_key(installation.pk, user.pk))
    return None


def resolve_prefetched(*, installation, user, raw: bytes | None) -> InjectedCredential | None:
    """`resolve_credential` from the raw value at `prefetch_key`, touching neither the database
    nor the network; None when that isn't enough (no entry, an unreadable one, a "last used" to
    note): the caller then calls `resolve_credential`, which does the rest."""
    entry = cache.loads(raw)
    if not isinstance(entry, dict):
        return None
    kind = auth_type(installation.version)
    if kind == "user_http" and _last_used_due("user", entry["id"]):
        return None
    try:
        secret = vault.open_sealed(entry["sealed"], context=entry["context"])
    except vault.CredentialUnreadable:
        return None
    return _injected(installation, secret, kind=kind)


def force_refresh(*, installation, user, rejected: InjectedCredential) -> InjectedCredential:
    kind = auth_type(installation.version)
    if kind != "oauth" or user is None:
        raise CredentialMissing(
            "The plugin refused the key: check it and enter it again.",
            action_url=_settings_url(installation) if kind == "user_http" else "",
        )
    return _oauth(installation, user, forced=True, rejected_generation=rejected.generation)


# -- service and user keys ----------------------------------------------------------------


def _service(installation) -> InjectedCredential:
    key = cache.service_key(installation.plugin_id)
    entry = cache.get(key)
    if entry is None:
        row = ServiceCredential.objects.filter(plugin_id=installation.plugin_id).first()
        if row is None:
            raise CredentialMissing("The publisher has not set this plugin's service key yet.")
        entry = {"id": row.pk, "sealed": row.sealed_token, "context": row.vault_context()}
        cache.put(key, entry)
    secret = _open(entry, installation=installation, what="service")
    return _injected(installation, secret, kind="service_http")


def _user_key(installation, user) -> InjectedCredential:
    key = cache.user_key(installation.pk, user.pk)
    entry = cache.get(key)
    if entry is None:
        row = UserCredential.objects.filter(
            organization_id=installation.organization_id, installation=installation, user=user
        ).first()
        if row is None:
            raise CredentialMissing(
                "Enter your key for this plugin first.", action_url=_settings_url(installation)
            )
        entry = {"id": row.pk, "sealed": row.sealed_token, "context": row.vault_context()}
        cache.put(key, entry)
    secret = _open(entry, installation=installation, what="user", user=user)
    if _first_use_in_a_while("user", entry["id"]):
        UserCredential.objects.filter(pk=entry["id"]).update(last_used_at=timezone.now())
    return _injected(installation, secret, kind="user_http")


_last_noted: dict[tuple[str, int], float] = {}


def _last_used_due(kind: str, row_id: int) -> bool:
    return time.monotonic() - _last_noted.get((kind, row_id), -LAST_USED_EVERY) >= LAST_USED_EVERY


def _first_use_in_a_while(kind: str, row_id: int) -> bool:
    """Throttle "last used" writes per process, without a round trip on the hot path."""
    now = time.monotonic()
    if not _last_used_due(kind, row_id):
        return False
    if len(_last_noted) > 50_000:
        _last_noted.clear()
    _last_noted[(kind, row_id)] = now
    return True


def _injected(installation, secret: str, *, kind: str, token_type: str = "", data=None, **extra):
    scheme = scheme_for(installation.version) if kind != "oauth" else Scheme("bearer")
    headers, query = apply(scheme, secret, token_type)
    return InjectedCredential(
        headers=headers,
        query=query,
        bootstrap={"token": secret, "data": data or {}},
        kind=kind,
        **extra,
    )


def _open(entry: dict, *, installation, what: str, user=None) -> str:
    try:
        return vault.open_sealed(entry["sealed"], context=entry["context"])
    except vault.CredentialUnreadable as exc:
        _note_unreadable(installation, what, entry["id"], exc.reason, user)
        raise CredentialUnreadableByUser(
            action_url=_settings_url(installation) if what == "user" else ""
        ) from None


def _note_unreadable(installation, what: str, row_id: int, reason: str, user) -> None:
    model = {"service": ServiceCredential, "user": UserCredential}.get(what)
    if model is not None:  # shown on the pages and in the API: "re-enter your key"
        model.objects.filter(pk=row_id, unreadable_since__isnull=True).update(
            unreadable_since=timezone.now()
        )
    if cache.first_use_in(f"cred:unreadable:{what}:{row_id}", UNREADABLE_AUDIT_EVERY):
        logger.warning("%s credential %s is unreadable (%s)", what, row_id, reason)
        record_event(
            organization=installation.organization,
            action="credential.unreadable",
            actor=None,
            actor_label="vault",
            target=f"{what}-credential:{row_id}",
            installation=installation.pk,
            user=user.pk if user else None,
            reason=reason,
        )


# -- OAuth --------------------------------------------------------------------------------


def _oauth(installation, user, *, forced: bool, rejected_generation: int | None):
    key = cache.oauth_key(installation.pk, user.pk)
    entry = cache.get(key)
    if entry is None:
        row = OAuthConnection.objects.filter(
            organization_id=installation.organization_id, installation=installation, user=user
        ).first()
        if row is None:
            raise CredentialMissing(
                "Connect your account for this plugin first.",
                action_url=_connect_url(installation, user),
            )
        entry = snapshot(row)
        cache.put(key, entry)
    now = time.time()
    must_refresh = forced and entry["generation"] == rejected_generation
    if must_refresh or _wants_refresh(entry, now):
        try:
            entry = refreshing.refresh_connection(entry=entry, forced=must_refresh)
        except LockBusy:
            # Someone has been refreshing for a long time: use the token while it lasts.
            if refreshing.is_expired(entry, time.time()) or must_refresh:
                raise CredentialUnavailable(retry_after=5) from None
        now = time.time()
    return _oauth_credential(installation, user, entry, now, forced=must_refresh)


def _wants_refresh(entry: dict, now: float) -> bool:
    state = entry["state"]
    if state == ConnectionState.NEEDS_RECONNECT:
        return False
    if state == ConnectionState.ERROR:
        return not refreshing.in_cooldown(entry, now)
    return refreshing.is_due(entry, now)


def _oauth_credential(installation, user, entry: dict, now: float, *, forced: bool):
    state = entry["state"]
    if state == "gone" or not entry["access"]:  # disconnected, or its first tokens not saved yet
        raise CredentialMissing(
            "Connect your account for this plugin first.",
            action_url=_connect_url(installation, user),
        )
    if state == ConnectionState.NEEDS_RECONNECT:
        raise NeedsReconnect(action_url=_connect_url(installation, user))
    usable = not refreshing.is_expired(entry, now) and not (
        forced and state == ConnectionState.ERROR
    )
    if not usable:
        retry_after = entry.get("retry_after") or now + 30
        raise CredentialUnavailable(retry_after=max(1, int(retry_after - now)))
    context = {
        "org": entry["org"],
        "owner": f"user:{entry['user']}",
        "installation": entry["installation"],
        "connection": entry["id"],
    }
    try:
        access = vault.open_sealed(entry["access"], context={**context, "field": "access_token"})
        data = (
            json.loads(vault.open_sealed(entry["data"], context={**context, "field": "token_data"}))
            if entry["data"]
            else {}
        )
    except vault.CredentialUnreadable as exc:
        _note_unreadable(installation, "oauth", entry["id"], exc.reason, user)
        raise NeedsReconnect(
            "The stored tokens for this plugin cannot be read: reconnect.",
            action_url=_connect_url(installation, user),
        ) from None
    if _first_use_in_a_while("oauth", entry["id"]):
        OAuthConnection.objects.filter(pk=entry["id"]).update(last_used_at=timezone.now())
    return _injected(
        installation,
        access,
        kind="oauth",
        token_type=entry["token_type"],
        data=data,
        connection_id=entry["id"],
        generation=entry["generation"],
    )


# -- where the user fixes it ----------------------------------------------------------------


def _site(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _settings_url(installation) -> str:
    return _site(
        reverse(
            "installation-credentials",
            kwargs={
                "org_slug": installation.organization.slug,
                "installation_id": installation.pk,
            },
        )
    )


def _connect_url(installation, user) -> str:
    from plugins.credentials.oauth.flow import connect_url_for

    return connect_url_for(installation=installation, user=user)
