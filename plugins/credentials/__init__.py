"""Credentials a plugin call carries: service keys, users' keys and users' OAuth tokens.

A plugin version's `auth.type` says which one a call needs:

    none          nothing is injected
    service_http  the publisher's key (ServiceCredential), the same for every user
    user_http     the calling user's own key for this installation (UserCredential)
    oauth         the calling user's tokens from the plugin's provider (OAuthConnection)

Secrets are sealed by the one vault (plugins.vault), bound to organization, owner, plugin or
installation and field, and opened only in `resolve.py`, `oauth/` and the rotation command.

## The contract the proxy codes against

    from plugins.credentials import (
        resolve_credential, force_refresh, InjectedCredential,
        CredentialProblem, CredentialMissing, NeedsReconnect, CredentialUnavailable,
        CredentialUnreadableByUser,
    )

    credential = resolve_credential(installation=installation, user=user)
    # -> InjectedCredential: .headers (dict to add), .query (dict to add), .bootstrap (the
    #    {"token": …, "data": {…}} mapping OpenPlugin's x-bootstrap-value templates read as
    #    `auth`), .connection_id (the OAuth connection, else None). Its repr shows no secret.
    # Raises a CredentialProblem (never a 500):
    #    CredentialMissing          424: no key entered / never connected (.action_url: where
    #                               to enter the key, or the connect URL for OAuth)
    #    NeedsReconnect             424: the provider refused the grant (invalid_grant,
    #                               revoked); .action_url is the connect URL; fails fast
    #    CredentialUnavailable      503: the provider is failing right now; in a cooldown
    #                               (.retry_after seconds); nothing is sent to the provider
    #    CredentialUnreadableByUser 424: the stored value does not decrypt (tampered, key
    #                               removed); "re-enter your key"; audited
    # Every problem has .code (stable string "credential.*"), .message (safe to show),
    # .action_url (absolute, or "") and .http_status.

    # The plugin answered 401 to a call made with `credential`: one forced refresh, then the
    # proxy retries once. Returns the new credential; raises like resolve_credential (and
    # NeedsReconnect when no refresh is possible). For non-OAuth types it raises
    # CredentialMissing (the key was refused; the user must re-enter it) after recording it.
    credential = force_refresh(installation=installation, user=user, rejected=credential)

`user` is the user the call is made for (an organization API key without a user gets
CredentialMissing for user_http and oauth plugins). The lookup is keyed by organization,
user, installation and connection: never "any valid token". When no refresh is due the OAuth
path reads one cache entry (the sealed token), not the database.
"""

from plugins.credentials.errors import (
    CredentialMissing,
    CredentialProblem,
    CredentialUnavailable,
    CredentialUnreadableByUser,
    NeedsReconnect,
)
from plugins.credentials.injected import InjectedCredential

__all__ = [
    "CredentialMissing",
    "CredentialProblem",
    "CredentialUnavailable",
    "CredentialUnreadableByUser",
    "InjectedCredential",
    "NeedsReconnect",
    "force_refresh",
    "resolve_credential",
]


def __getattr__(name: str):
    # The resolver needs the models, which cannot be imported while the app registry loads.
    if name in {"resolve_credential", "force_refresh"}:
        from plugins.credentials import resolve

        return getattr(resolve, name)
    raise AttributeError(name)
