"""The one exception a proxy step raises to end a call with an HTTP answer."""

from __future__ import annotations


class ProxyError(Exception):
    """A call ended before (or instead of) an upstream answer.

    `status` is our HTTP status; `code` a stable string; `message` safe to show (no secret, no
    allow-list contents, no upstream body); `decision` the call event's decision.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        decision: str,
        details: dict | None = None,
        headers: dict | None = None,
        upstream_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.decision = decision
        self.details = details or {}
        self.headers = headers or {}
        self.upstream_status = upstream_status

    def body(self, request_id: str) -> dict:
        return {
            "error": {"code": self.code, "message": self.message, **self.details},
            "status": self.upstream_status,
            "request_id": request_id,
        }


def invalid_arguments(message: str, pointer: str) -> ProxyError:
    """422 naming one violation; the call path and the passthrough answer it alike."""
    return ProxyError(
        422,
        "proxy.invalid_arguments",
        "The arguments do not match the operation.",
        decision="invalid",
        details={"violations": [{"pointer": pointer, "message": message}]},
    )
