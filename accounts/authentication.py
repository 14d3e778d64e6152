"""DRF authentication for `Authorization: Bearer mkp_…` tokens."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.actors import Actor
from accounts.models import ApiCredential, CredentialKind, Membership, Role
from accounts.tokens import prefix_of, secrets_match

# Writing last_used_at on every request would make each GET a write: once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Sets request.user (the token's user, or None for an organization key) and request.auth
    (an Actor). Every failure gives the same 401 so a caller can't tell which check failed."""

    keyword = "Bearer"

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        actor = actor_for_token(token.strip())
        if actor is None:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        return (actor.user, actor)


def actor_for_token(token: str) -> Actor | None:
    prefix = prefix_of(token)
    if prefix is None:
        return None
    credential = (
        ApiCredential.objects.select_related("organization", "user").filter(prefix=prefix).first()
    )
    if credential is None or not secrets_match(token, credential.secret_hash):
        return None
    if not credential.is_active:
        return None
    if credential.kind == CredentialKind.PERSONAL:
        if not credential.user.is_active:
            return None
        membership = Membership.objects.filter(
            user=credential.user, organization=credential.organization
        ).first()
        if membership is None:
            return None
        role = membership.role_enum
    else:
        role = Role(credential.role)
    _touch(credential)
    return Actor(
        organization=credential.organization, role=role, user=credential.user, credential=credential
    )


def _touch(credential: ApiCredential) -> None:
    now = timezone.now()
    if credential.last_used_at is None or now - credential.last_used_at > LAST_USED_RESOLUTION:
        ApiCredential.objects.filter(pk=credential.pk).update(last_used_at=now)
        credential.last_used_at = now
