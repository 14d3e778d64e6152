"""The call endpoint ahead of Django, for production under ASGI (uvicorn).

`with_fast_calls(django_app)` wraps the Django ASGI application: `POST /api/v1/installations/
{id}/operations/{op}/call` with an allowed Host goes straight to `fast.answer_call` (the steps
the Django view `fast.call_view` serves too), everything else to Django; the call event is
queued once the answer is sent. This skips
Django's per-request middleware and signal machinery, which `make bench` measured as most of the
remaining overhead; the call path needs none of it (no session, no CSRF, no templates: a bearer
token, JSON in and out). What it does need is kept: Host validation against ALLOWED_HOSTS, a
body size cap, nosniff, JSON errors, database connections handed back after each request.
"""

from __future__ import annotations

import json
import logging
import re

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.db import connections
from django.http.request import split_domain_port, validate_host

from plugins.installations.actors import ON_BEHALF_OF
from plugins.proxy import fast
from plugins.proxy.events import record_call_async

logger = logging.getLogger(__name__)

CALL_PATH = re.compile(r"^/api/v1/installations/(?P<id>[0-9]+)/operations/(?P<op>[^/]+)/call$")
MAX_BODY = 1024 * 1024


def with_fast_calls(django_app):
    async def app(scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            match = CALL_PATH.match(scope["path"])
            if match is not None:
                headers = _headers(scope)
                if _host_allowed(headers):
                    await _serve(headers, receive, send, match)
                    return
        await django_app(scope, receive, send)

    return app


def _headers(scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
    }


def _host_allowed(headers: dict[str, str]) -> bool:
    host = headers.get("host", "")
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


async def _read_body(receive) -> bytes | None:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            return None
        if not message.get("more_body", False):
            return bytes(body)


async def _serve(headers: dict[str, str], receive, send, match) -> None:
    body = await _read_body(receive)
    event = None
    if body is None:
        status, payload, extra = 413, {"error": {"code": "too_large", "message": "Too large."}}, {}
    else:
        try:
            async with ThreadSensitiveContext():
                with fast.serving_ahead_of_django():
                    status, payload, extra, event = await fast.answer_call(
                        installation_id=int(match["id"]),
                        operation=match["op"],
                        token=fast.bearer_token(headers.get("authorization", "")),
                        on_behalf_of=headers.get(ON_BEHALF_OF.lower(), ""),
                        body=body,
                    )
                if fast.used_database():
                    await sync_to_async(connections.close_all)()
        except Exception:
            logger.exception("unhandled error on the fast call path")
            status = 500
            payload = {"error": {"code": "server_error", "message": "An internal error occurred."}}
            extra = {}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    response_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(raw)).encode()),
        (b"x-content-type-options", b"nosniff"),
        *(
            (name.lower().encode("latin-1"), str(value).encode("latin-1"))
            for name, value in extra.items()
        ),
    ]
    try:
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": raw})
    finally:
        if event is not None:  # queued once the answer is out, even if the caller went away
            await record_call_async(event)
