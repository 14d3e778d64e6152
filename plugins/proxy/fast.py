"""The call endpoint's async face: POST /api/v1/installations/{id}/operations/{op}/call.

Same steps as `call.call_operation` (it reuses them), arranged for the hot path under ASGI:
the caller's context (token → actor → member → installation → policy) is cached per process
(one load for concurrent misses) and re-checked against the installation's generation in the
same Redis round trip that counts the rate limits and reads the sealed service or user key; the
request goes out through the pooled async outbound client; the call event is one XADD, made
after the answer is sent (plugins.proxy.asgi). Only a cache miss, an OAuth token, a "last used"
note and an x-filter leave the event loop (to the shared thread pool under plugins.proxy.asgi;
the filter renders in the sandbox's worker processes).

Documented in the API schema through `CallApi` (plugins/proxy/api.py), which the URL names as
its class; this function serves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from plugins.installations.actors import ON_BEHALF_OF
from plugins.outbound import FetchError, async_fetch, close_loop_session
from plugins.proxy import dependents, pipeline, ratelimit
from plugins.proxy.arguments import parse_arguments
from plugins.proxy.context import contexts, load_context
from plugins.proxy.errors import ProxyError
from plugins.proxy.events import record_call_async
from plugins.proxy.ids import new_request_id

_database_used: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "database_used", default=False
)
_shared_threads: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "shared_threads", default=False
)


def _in_thread(function):
    """`function` run off the event loop.

    Under plugins.proxy.asgi (`serving_ahead_of_django`): in the shared thread pool, any
    database connection it opened handed back (to the pool) before the thread is reused, so a
    request costs no thread of its own. Otherwise (the Django view, its test client): in the
    request's thread, where Django keeps the request's connection and transaction, noting that
    a connection is open there (handed back at the end)."""

    def run_and_note(opened: list, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            if any(c.connection is not None for c in connections.all(initialized_only=True)):
                opened.append(True)

    def run_and_close(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            if any(c.connection is not None for c in connections.all(initialized_only=True)):
                connections.close_all()

    in_request_thread = sync_to_async(run_and_note, thread_sensitive=True)
    in_shared_pool = sync_to_async(run_and_close, thread_sensitive=False)

    async def run(*args, **kwargs):
        if _shared_threads.get():
            return await in_shared_pool(*args, **kwargs)
        opened: list = []
        try:
            return await in_request_thread(opened, *args, **kwargs)
        finally:
            if opened:
                _database_used.set(True)

    return run


@contextlib.contextmanager
def serving_ahead_of_django():
    """Marks the calls handled inside as served by plugins.proxy.asgi (see `_in_thread`)."""
    token = _shared_threads.set(True)
    try:
        yield
    finally:
        _shared_threads.reset(token)


def used_database() -> bool:
    return _database_used.get()


_load_context = _in_thread(load_context)
_credential_for = _in_thread(pipeline.credential_for)
_refreshed = _in_thread(pipeline.refreshed_credential)
# x-dependent / x-lookup calls (only for tools that have them): the sync steps, in a thread.
_fill_dependents = _in_thread(dependents.fill)
_add_lookups = _in_thread(dependents.add_lookups)
# Shaping touches no database: the shared pool, not a thread of the request's own (the x-filter
# waits on the sandbox's worker processes there).
_answer_in_thread = sync_to_async(pipeline.answer, thread_sensitive=False)


def _json(status: int, body: dict, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JsonResponse:
    return _json(status, {"error": {"code": code, "message": message}}, headers)


def _bearer(request) -> str | None:
    return bearer_token(request.headers.get("Authorization", ""))


def bearer_token(header: str) -> str | None:
    """None without an Authorization header; "" for one that isn't a bearer token."""
    scheme, _, token = header.partition(" ")
    if not header:
        return None
    return token.strip() if scheme.lower() == "bearer" else ""


async def _context_and_rate(token: str, installation_id: int, on_behalf_of: str):
    """(the cached call context, reloaded when stale; the raw credential entry read with the
    rate limits, or None), after counting the call once."""
    if not settings.REDIS_URL:  # `make run`: no shared cache to invalidate, so no caching
        context = await _load_context(token, installation_id, on_behalf_of)
        await sync_to_async(ratelimit.check_rate, thread_sensitive=True)(
            user_id=context.user.pk, installation_id=installation_id
        )
        return context, None
    key = contexts.key(token, installation_id, on_behalf_of)
    cached = contexts.get(key, generation=...)
    if cached is not None:
        read = pipeline.credential_prefetch_key(cached.installation, cached.user)
        generation, raw = await ratelimit.check_rate_and_read_async(
            user_id=cached.user.pk, installation_id=installation_id, read=read
        )
        if contexts.get(key, generation) is cached:
            return cached, raw
        context = await _load_once(key, token, installation_id, on_behalf_of)
        if pipeline.credential_prefetch_key(context.installation, context.user) != read:
            raw = None
    else:
        context = await _load_once(key, token, installation_id, on_behalf_of)
        generation, raw = await ratelimit.check_rate_and_read_async(
            user_id=context.user.pk,
            installation_id=installation_id,
            read=pipeline.credential_prefetch_key(context.installation, context.user),
        )
    contexts.put(key, generation, context)
    return context, raw


async def _credential(installation, user, prefetched: bytes | None):
    """The credential to inject: from the entry read with the rate limits when that is
    enough (no thread, no extra round trip), else `pipeline.credential_for` off the loop."""
    if pipeline.auth_type(installation) == "none":
        return None
    if prefetched is not None:
        credential = pipeline.prefetched_credential(installation, user, prefetched)
        if credential is not None:
            return credential
    return await _credential_for(installation, user)


_loading: dict[tuple, asyncio.Future] = {}


async def _load_once(key: tuple, token: str, installation_id: int, on_behalf_of: str):
    """`load_context`, once for all the concurrent calls that miss the same entry (when an
    entry expires under load, 32 calls in flight make one load, not 32)."""
    pending = _loading.get(key)
    if pending is None or pending.get_loop() is not asyncio.get_running_loop():
        pending = asyncio.ensure_future(_load_context(token, installation_id, on_behalf_of))
        _loading[key] = pending
        pending.add_done_callback(
            lambda done: _loading.pop(key, None) if _loading.get(key) is done else None
        )
    return await asyncio.shield(pending)


async def _send(upstream, credential, installation, user, deadline=None):
    response = await _send_once(upstream, credential, deadline)
    if pipeline.should_refresh(response, installation, credential):
        credential = await _refreshed(installation, user, credential)
        response = await _send_once(upstream, credential, deadline)
    return response


async def _send_once(upstream, credential, deadline=None):
    request = pipeline.outbound_arguments(upstream, credential)
    deadline = deadline or time.monotonic() + settings.PROXY_TIMEOUT
    attempt = 0
    while True:
        attempt += 1
        try:
            response = await async_fetch(**request, timeout=max(deadline - time.monotonic(), 0.001))
        except FetchError as exc:
            if attempt == 1 and pipeline.retryable(exc, upstream):
                continue
            raise pipeline.upstream_error(exc) from None
        wait = pipeline.retry_wait(upstream, response, deadline) if attempt == 1 else None
        if wait is not None:
            await asyncio.sleep(wait)
            continue
        return response


async def handle_call(
    *, installation_id: int, operation: str, token: str | None, on_behalf_of: str, body: bytes
) -> tuple[int, dict, dict]:
    """The whole call: (HTTP status, JSON body, headers), its call event queued. Served by
    `call_view` (Django)."""
    status, payload, headers, event = await answer_call(
        installation_id=installation_id,
        operation=operation,
        token=token,
        on_behalf_of=on_behalf_of,
        body=body,
    )
    if event is not None:
        await record_call_async(event)
    return status, payload, headers


async def answer_call(
    *, installation_id: int, operation: str, token: str | None, on_behalf_of: str, body: bytes
) -> tuple[int, dict, dict, dict | None]:
    """The call up to its answer: (HTTP status, JSON body, headers, call event or None). The
    caller queues the event with `record_call_async` — plugins.proxy.asgi does it once the
    answer is sent, so the Redis round trip is off the caller's clock."""
    started = time.perf_counter()
    if token is None:
        return _error_parts(
            401,
            "not_authenticated",
            "Authentication credentials were not provided.",
            {"WWW-Authenticate": 'Bearer realm="api"'},
        )
    request_id = new_request_id()
    try:
        context, prefetched = await _context_and_rate(token, installation_id, on_behalf_of)
    except ProxyError as exc:
        headers = dict(exc.headers)
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
        if exc.status in (401, 403, 404):
            return _error_parts(exc.status, exc.code, exc.message, headers)
        return exc.status, exc.body(request_id), headers, None
    installation, user = context.installation, context.user
    event = pipeline.new_event(
        installation=installation,
        user=user,
        via=context.via,
        operation=operation,
        request_id=request_id,
    )
    upstream_ms = 0.0
    try:
        payload = parse_arguments(body)
        if not isinstance(payload, dict) or set(payload) - {"arguments"}:
            raise ProxyError(
                400,
                "proxy.invalid_body",
                'The body must be {"arguments": {…}}.',
                decision="invalid",
            )
        arguments = payload.get("arguments", {})
        deadline = time.monotonic() + settings.PROXY_TIMEOUT
        references = {"installation": installation, "user": user, "policy": context.policy}
        references.update(operation=operation, request_id=request_id, deadline=deadline)
        if dependents.fills(context.policy, operation):
            filled_at = time.perf_counter()
            arguments = await _fill_dependents(arguments=arguments, **references)
            upstream_ms += (time.perf_counter() - filled_at) * 1000
        prepared = pipeline.prepare_call(
            installation=installation,
            user=user,
            policy=context.policy,
            operation=operation,
            arguments=arguments,
        )
        credential = await _credential(installation, user, prefetched)
        sent_at = time.perf_counter()
        response = await _send(prepared.upstream, credential, installation, user, deadline)
        upstream_ms += (time.perf_counter() - sent_at) * 1000
        if prepared.tool_filter:
            result = await _answer_in_thread(response, prepared, request_id, event)
        else:
            result = pipeline.answer(response, prepared, request_id, event)
        if prepared.grant.tool.lookups:
            looked_at = time.perf_counter()
            result = await _add_lookups(result, **references)
            upstream_ms += (time.perf_counter() - looked_at) * 1000
    except ProxyError as exc:
        result = pipeline.failed(exc, request_id, event)
    result = pipeline.finish(result, event, started, upstream_ms)
    return result.http_status, result.body, result.headers, event


def _error_parts(status: int, code: str, message: str, headers: dict | None = None):
    return status, {"error": {"code": code, "message": message}}, headers or {}, None


@csrf_exempt
async def call_view(request, installation_id: int, operation: str):
    if request.method != "POST":
        return _error(405, "method_not_allowed", f'Method "{request.method}" not allowed.')
    try:
        status, body, headers = await handle_call(
            installation_id=installation_id,
            operation=operation,
            token=_bearer(request),
            on_behalf_of=request.headers.get(ON_BEHALF_OF, ""),
            body=request.body,
        )
    finally:
        if "wsgi.version" in request.META:
            # Under WSGI (and Django's test client) every request gets a fresh event loop, so
            # its outbound pool can't outlive it: close it now rather than leak it.
            await close_loop_session()
    return _json(status, body, headers)
