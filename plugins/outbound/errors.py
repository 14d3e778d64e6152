"""The one exception the outbound client raises for anything that goes wrong on the wire."""

from __future__ import annotations


class FetchError(Exception):
    """A fetch that did not produce an HTTP response the caller can use.

    `code` is a stable machine-readable string (``outbound.*``); `message` is safe to show to the
    user who supplied the URL: it never contains response bodies, header values (except the
    parsed media type of a refused Content-Type, a bare `type/subtype` token pair) or resolved
    internal addresses. `transient` is True when retrying later may succeed (timeouts, refused
    connections, temporary DNS failures), so background jobs know whether to retry. `retried`
    is True when the client already sent the request a second time (the async pool's rule for a
    pooled connection that died before answering), so a caller's own retry rule can count it.

    HTTP error statuses (404, 500, ...) are not FetchErrors: they are returned in the result.
    """

    def __init__(
        self, code: str, message: str, *, transient: bool = False, retried: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient
        self.retried = retried

    def __reduce__(self):
        # Keyword-only arguments would be lost by the default Exception pickling (Celery).
        return (_rebuild, (self.code, self.message, self.transient, self.retried))

    def __repr__(self) -> str:
        return (
            f"FetchError(code={self.code!r}, message={self.message!r}, transient={self.transient})"
        )


def _rebuild(code: str, message: str, transient: bool, retried: bool = False) -> FetchError:
    return FetchError(code, message, transient=transient, retried=retried)


INVALID_URL = "outbound.invalid_url"
SCHEME_NOT_ALLOWED = "outbound.scheme_not_allowed"
HTTPS_REQUIRED = "outbound.https_required"
ADDRESS_BLOCKED = "outbound.address_blocked"
DNS_FAILED = "outbound.dns_failed"
CONNECT_FAILED = "outbound.connect_failed"
TIMEOUT = "outbound.timeout"
TOO_LARGE = "outbound.too_large"
TOO_MANY_REDIRECTS = "outbound.too_many_redirects"
REDIRECT_NOT_ALLOWED = "outbound.redirect_not_allowed"
UNEXPECTED_CONTENT_TYPE = "outbound.unexpected_content_type"
PROTOCOL_ERROR = "outbound.protocol_error"

ADDRESS_BLOCKED_MESSAGE = (
    "The address points to a private, local or reserved network and cannot be fetched."
)
