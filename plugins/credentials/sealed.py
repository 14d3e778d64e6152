"""Every sealed column, with how to rebuild its vault context: what key rotation walks."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Model

from plugins.credentials.models import (
    OAuthClient,
    OAuthConnection,
    OAuthFlow,
    ServiceCredential,
    UserCredential,
    Webhook,
)


@dataclass(frozen=True)
class SealedField:
    model: type[Model]
    field: str

    @property
    def label(self) -> str:
        return f"{self.model.__name__}.{self.field}"

    def context(self, row) -> dict:
        return row.vault_context(self.field.removeprefix("sealed_"))


SEALED_FIELDS = (
    SealedField(ServiceCredential, "sealed_token"),
    SealedField(UserCredential, "sealed_token"),
    SealedField(OAuthClient, "sealed_client_secret"),
    SealedField(OAuthConnection, "sealed_access_token"),
    SealedField(OAuthConnection, "sealed_refresh_token"),
    SealedField(OAuthConnection, "sealed_token_data"),
    SealedField(OAuthFlow, "sealed_verifier"),
    SealedField(Webhook, "sealed_secret"),
)
