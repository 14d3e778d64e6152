"""Writes on credentials: set, replace and delete keys; OAuth client settings; tokens we issue.

Each change is audited in the same transaction (accounts.audit.record_event), never with the
secret; hints are computed at entry.
"""

from __future__ import annotations

from django.db import transaction

from accounts.audit import record_event
from accounts.models import User
from plugins import vault
from plugins.credentials import cache
from plugins.credentials.entry import checked_key
from plugins.credentials.errors import CredentialRejected
from plugins.credentials.models import (
    ClientAuthMethod,
    OAuthClient,
    ServiceCredential,
    TokenContentType,
    UserCredential,
    VerificationToken,
)
from plugins.installations.models import Installation
from plugins.models import Plugin


@transaction.atomic
def set_service_credential(*, plugin: Plugin, token: str, set_by: User | None) -> ServiceCredential:
    value = checked_key(token, what="service token")
    credential = ServiceCredential.objects.select_for_update().filter(plugin=plugin).first()
    replaced = credential is not None
    if credential is None:
        credential = ServiceCredential(organization_id=plugin.organization_id, plugin=plugin)
    credential.sealed_token = vault.seal(value, context=credential.vault_context())
    credential.hint = vault.mask(value)
    credential.unreadable_since = None
    credential.set_by = set_by
    credential.save()
    record_event(
        organization=plugin.organization,
        action="credential.service.replaced" if replaced else "credential.service.set",
        actor=set_by,
        target=f"plugin:{plugin.public_id}",
        hint=credential.hint,
    )
    cache.drop_on_commit(cache.service_key(plugin.pk))
    return credential


@transaction.atomic
def delete_service_credential(*, plugin: Plugin, deleted_by: User | None) -> bool:
    deleted, _ = ServiceCredential.objects.filter(plugin=plugin).delete()
    if deleted:
        record_event(
            organization=plugin.organization,
            action="credential.service.deleted",
            actor=deleted_by,
            target=f"plugin:{plugin.public_id}",
        )
        cache.drop_on_commit(cache.service_key(plugin.pk))
    return bool(deleted)


def verification_token_for(*, plugin: Plugin) -> VerificationToken:
    """The token the publisher puts in `auth.verification_tokens` (issued once, kept)."""
    token, _ = VerificationToken.objects.get_or_create(
        plugin=plugin, defaults={"organization_id": plugin.organization_id}
    )
    return token


@transaction.atomic
def set_user_credential(*, installation: Installation, user: User, token: str) -> UserCredential:
    value = checked_key(token)
    credential = (
        UserCredential.objects.select_for_update()
        .filter(installation=installation, user=user)
        .first()
    )
    replaced = credential is not None
    if credential is None:
        credential = UserCredential(
            organization_id=installation.organization_id, installation=installation, user=user
        )
    credential.sealed_token = vault.seal(value, context=credential.vault_context())
    credential.hint = vault.mask(value)
    credential.unreadable_since = None
    credential.save()
    record_event(
        organization=installation.organization,
        action="credential.user.replaced" if replaced else "credential.user.set",
        actor=user,
        target=f"installation:{installation.pk}",
        hint=credential.hint,
    )
    cache.drop_on_commit(cache.user_key(installation.pk, user.pk))
    return credential


@transaction.atomic
def delete_user_credential(*, installation: Installation, user: User) -> bool:
    deleted, _ = UserCredential.objects.filter(installation=installation, user=user).delete()
    if deleted:
        record_event(
            organization=installation.organization,
            action="credential.user.deleted",
            actor=user,
            target=f"installation:{installation.pk}",
        )
        cache.drop_on_commit(cache.user_key(installation.pk, user.pk))
    return bool(deleted)


_UNSET = object()


@transaction.atomic
def set_oauth_client(
    *,
    plugin: Plugin,
    client_id: str,
    client_secret: str | None = None,
    scopes: str | None = None,
    auth_method: str | None = None,
    token_content_type: str | None = None,
    revocation_url: str | None = None,
    issuer: str | None = None,
    set_by: User | None,
) -> OAuthClient:
    """Create or update the plugin's OAuth client. A `None` argument keeps the stored value
    (so the secret can stay as it is while the scopes change)."""
    client_id = checked_key(client_id, what="client id")
    if len(client_id) > 255:
        raise CredentialRejected("The client id is longer than 255 characters.")
    client = OAuthClient.objects.select_for_update().filter(plugin=plugin).first()
    created = client is None
    if client is None:
        client = OAuthClient(organization_id=plugin.organization_id, plugin=plugin)
    client.client_id = client_id
    changed = ["client_id"]
    if client_secret is not None:
        secret = checked_key(client_secret, what="client secret")
        client.sealed_client_secret = vault.seal(secret, context=client.vault_context())
        client.secret_hint = vault.mask(secret)
        changed.append("client_secret")
    if scopes is not None:
        client.scopes = " ".join(scopes.split())[:1000]
        changed.append("scopes")
    if auth_method is not None:
        if auth_method not in ClientAuthMethod.values:
            raise CredentialRejected(
                "auth_method must be client_secret_post or client_secret_basic."
            )
        client.auth_method = auth_method
        changed.append("auth_method")
    if token_content_type is not None:
        if token_content_type not in {"", *TokenContentType.values}:
            raise CredentialRejected("token_content_type must be form or json.")
        client.token_content_type = token_content_type
        client.json_refused = False
        changed.append("token_content_type")
    if revocation_url is not None:
        client.revocation_url = revocation_url
        changed.append("revocation_url")
    if issuer is not None:
        client.issuer = issuer
        changed.append("issuer")
    client.updated_by = set_by
    client.full_clean(exclude=["plugin", "organization", "sealed_client_secret"])
    client.save()
    record_event(
        organization=plugin.organization,
        action="oauth.client.set" if created else "oauth.client.updated",
        actor=set_by,
        target=f"plugin:{plugin.public_id}",
        fields=changed,
    )
    return client
