"""Why a call could not get its credential. Messages are safe to show; none carries a secret."""

from __future__ import annotations


class CredentialProblem(Exception):
    code = "credential.problem"
    http_status = 424
    default_message = "This plugin needs a credential."

    def __init__(self, message: str = "", *, action_url: str = "", retry_after: int = 0):
        self.message = message or self.default_message
        self.action_url = action_url
        self.retry_after = retry_after
        super().__init__(self.message)

    def as_dict(self) -> dict:
        body = {"code": self.code, "detail": self.message}
        if self.action_url:
            body["action_url"] = self.action_url
        if self.retry_after:
            body["retry_after"] = self.retry_after
        return body


class CredentialMissing(CredentialProblem):
    code = "credential.missing"
    default_message = "This plugin needs your key or account connection first."


class NeedsReconnect(CredentialProblem):
    code = "credential.needs_reconnect"
    default_message = "The connection to this plugin's provider was lost: reconnect it."


class CredentialUnavailable(CredentialProblem):
    code = "credential.temporarily_unavailable"
    http_status = 503
    default_message = "The plugin's sign-in provider is failing; try again later."


class CredentialUnreadableByUser(CredentialProblem):
    code = "credential.unreadable"
    default_message = "The stored key for this plugin cannot be read: re-enter your key."


class CredentialRejected(ValueError):
    """A key refused at entry (bad characters, too long); the message never echoes it."""
