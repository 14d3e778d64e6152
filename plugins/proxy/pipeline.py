"""The call pipeline: one function takes a member's call from arguments to answer.

    result = call_operation(installation=..., user=..., via="pat", operation="listTodos",
                            arguments={...}, request_id="...")

Steps (each a small module): rate limit (ratelimit) → the one policy (installations.policy:
operation enabled and granted) → arguments against the compiled schema (arguments: 422 with
every violation) → allow-list on the argument values (policy.check: 403 naming the parameter)
→ request built from the pinned spec (build) and re-checked on the values actually sent →
credential (plugins.credentials) and the signed caller assertion (assertion) → the one outbound
client (plugins.outbound) → x-filter in the sandbox (shaping) → a call event (events), always,
whatever the outcome. Upstream failures become 502 (504 on timeouts).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from plugins.installations.policy import Grant, Refusal, policy_for, value_allowed
from plugins.installations.selectors import allowed_values_of, toolset_of
from plugins.outbound import FetchError, fetch
from plugins.outbound import errors as outbound_errors
from plugins.proxy import ratelimit
from plugins.proxy.arguments import check_arguments
from plugins.proxy.assertion import HEADER as ASSERTION_HEADER
from plugins.proxy.assertion import sign_assertion
from plugins.proxy.build import UpstreamRequest, build_request
from plugins.proxy.errors import ProxyError
from plugins.proxy.events import record_call
from plugins.proxy.shaping import apply_filter, clip, parse_body

USER_AGENT = "PluginMarketplace/1.0 (+proxy)"
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 503})
MAX_RETRY_WAIT = 2.0
UPSTREAM_MAX_BYTES = 10 * 1024 * 1024


@dataclass
class CallResult:
    http_status: int
    body: dict
    headers: dict = field(default_factory=dict)
    proxy_ms: float = 0.0


def call_operation(
    *, installation, user, via: str, operation: str, arguments: object, request_id: str
) -> CallResult:
    started = time.perf_counter()
    event = {
        "request_id": request_id,
        "organization_id": installation.organization_id,
        "installation_id": installation.pk,
        "plugin_id": installation.plugin_id,
        "user_id": getattr(user, "pk", None),
        "via": via,
        "operation": operation,
    }
    upstream_ms = 0.0
    try:
        ratelimit.check_rate(user_id=event["user_id"], installation_id=installation.pk)
        grant, tool_filter = _grant(installation, user, operation, arguments)
        upstream = build_request(
            server_url=installation.version.normalized["server_url"],
            tool=grant.tool,
            arguments=arguments,
        )
        _recheck_sent_values(grant, upstream)
        _add_assertion(upstream, installation, user, grant)
        credential = _credential(installation, user)
        sent_at = time.perf_counter()
        response = _send(upstream, credential, installation, user)
        upstream_ms = (time.perf_counter() - sent_at) * 1000
        event.update(upstream_status=response.status, bytes_in=len(response.content))
        if response.status >= 500:
            raise ProxyError(
                502,
                "proxy.upstream_error",
                f"The plugin failed (HTTP {response.status}).",
                decision="upstream_error",
                upstream_status=response.status,
            )
        data, text = parse_body(response.content, response.content_type, response.status)
        if 200 <= response.status < 300:
            data, text = apply_filter(tool_filter, data, text)
        text = clip(text)
        body = {"status": response.status, "data": data, "text": text, "request_id": request_id}
        event.update(decision="allowed", bytes_out=len(text))
        result = CallResult(200, body)
    except ProxyError as exc:
        event.update(
            decision=exc.decision,
            reason=exc.code,
            upstream_status=exc.upstream_status or event.get("upstream_status"),
        )
        result = CallResult(exc.status, exc.body(request_id), dict(exc.headers))
    proxy_ms = (time.perf_counter() - started) * 1000 - upstream_ms
    event.update(latency_ms=round(proxy_ms + upstream_ms, 3), upstream_ms=round(upstream_ms, 3))
    record_call(event)
    result.proxy_ms = proxy_ms
    result.headers["Server-Timing"] = f"proxy;dur={proxy_ms:.2f}, upstream;dur={upstream_ms:.2f}"
    result.headers["X-Request-Id"] = request_id
    return result


def _grant(installation, user, operation: str, arguments: object) -> tuple[Grant, dict | None]:
    """The policy's grant for this call (and the operation's x-filter), or ProxyError."""
    toolset = toolset_of(installation.version)
    policy = policy_for(
        installation=installation,
        user=user,
        toolset=toolset,
        allowed_values=allowed_values_of(installation=installation, user=user),
    )
    decided = policy.operation(operation)
    if isinstance(decided, Refusal):
        raise _refused(decided)
    key = (installation.version_id, installation.version.content_sha256, operation)
    check_arguments(key, decided.tool, arguments)
    decided = policy.check(operation, arguments)
    if isinstance(decided, Refusal):
        raise _refused(decided)
    op = next(
        o for o in installation.version.normalized["operations"] if o.get("name") == operation
    )
    return decided, op.get("filter")


def _refused(refusal: Refusal) -> ProxyError:
    if refusal.code == "unknown_operation":
        return ProxyError(404, "proxy.unknown_operation", refusal.message, decision="unavailable")
    if refusal.code == "operation_unavailable":
        return ProxyError(
            403, "proxy.operation_unavailable", refusal.message, decision="unavailable"
        )
    details = {"parameter": refusal.argument} if refusal.argument else {}
    return ProxyError(403, "proxy.not_allowed", refusal.message, decision="denied", details=details)


def _recheck_sent_values(grant, upstream: UpstreamRequest) -> None:
    """Defence in depth: the allow-list again, on what the built request actually carries."""
    for argument, allowed in grant.allowed.items():
        if argument in upstream.sent and not value_allowed(upstream.sent[argument], allowed):
            raise ProxyError(
                403,
                "proxy.not_allowed",
                f"You are not allowed to use this value for the parameter {argument!r}.",
                decision="denied",
                details={"parameter": argument},
            )


def _add_assertion(upstream: UpstreamRequest, installation, user, grant) -> None:
    server = urlsplit(installation.version.normalized["server_url"])
    upstream.headers[ASSERTION_HEADER] = sign_assertion(
        audience=f"{server.scheme}://{server.netloc}",
        subject=f"user:{user.pk}" if user is not None else f"org:{installation.organization_id}",
        organization=installation.organization.slug,
        plugin=installation.plugin.public_id,
        operation=grant.tool.operation,
        allowed=grant.allowed,
        resource_kinds=grant.kinds,
    )


def _auth_type(installation) -> str:
    return ((installation.version.normalized or {}).get("auth") or {}).get("type") or "none"


def _credential(installation, user):
    if _auth_type(installation) == "none":
        return None
    from plugins.credentials import CredentialProblem, resolve_credential

    try:
        return resolve_credential(installation=installation, user=user)
    except CredentialProblem as exc:
        raise _credential_error(exc) from None


def _credential_error(exc) -> ProxyError:
    headers = {"Retry-After": str(int(exc.retry_after))} if getattr(exc, "retry_after", 0) else {}
    details = {"action_url": exc.action_url} if getattr(exc, "action_url", "") else {}
    return ProxyError(
        exc.http_status,
        exc.code,
        exc.message,
        decision="not_connected",
        details=details,
        headers=headers,
    )


def _send(upstream: UpstreamRequest, credential, installation, user):
    response = _send_once(upstream, credential)
    if response.status == 401 and _auth_type(installation) == "oauth" and credential is not None:
        from plugins.credentials import CredentialProblem, force_refresh

        try:
            credential = force_refresh(installation=installation, user=user, rejected=credential)
        except CredentialProblem as exc:
            raise _credential_error(exc) from None
        response = _send_once(upstream, credential)
    return response


def _send_once(upstream: UpstreamRequest, credential):
    headers = {"User-Agent": USER_AGENT, **upstream.headers}
    url = upstream.url
    sensitive: set[str] = {ASSERTION_HEADER}
    if credential is not None:
        headers.update(credential.headers)
        sensitive |= set(credential.headers)
        if credential.query:
            from urllib.parse import urlencode

            url += ("&" if "?" in url else "?") + urlencode(credential.query)
    deadline = time.monotonic() + settings.PROXY_TIMEOUT
    attempt = 0
    while True:
        attempt += 1
        try:
            response = fetch(
                url,
                method=upstream.method,
                headers=headers,
                sensitive_headers=frozenset(sensitive),
                body=upstream.body,
                max_bytes=UPSTREAM_MAX_BYTES,
                timeout=max(deadline - time.monotonic(), 0.001),
                connect_timeout=5.0,
                max_redirects=3,
                redirect_policy=_same_origin_only,
            )
        except FetchError as exc:
            retryable = exc.transient and exc.code == outbound_errors.CONNECT_FAILED
            if attempt == 1 and retryable and upstream.method in IDEMPOTENT:
                continue
            raise _upstream_error(exc) from None
        if attempt == 1 and upstream.method in IDEMPOTENT and response.status in RETRY_STATUSES:
            wait = _retry_after(response.headers.get("retry-after"))
            if wait is not None and time.monotonic() + wait < deadline:
                time.sleep(wait)
                continue
        return response


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return 0.2
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= MAX_RETRY_WAIT else None


def _same_origin_only(from_url: str, to_url: str) -> bool:
    a, b = urlsplit(from_url), urlsplit(to_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def _upstream_error(exc: FetchError) -> ProxyError:
    if exc.code == outbound_errors.TIMEOUT:
        return ProxyError(
            504,
            "proxy.upstream_timeout",
            "The plugin did not answer in time.",
            decision="upstream_error",
        )
    messages = {
        outbound_errors.TOO_LARGE: "The plugin's answer is larger than allowed.",
        outbound_errors.REDIRECT_NOT_ALLOWED: "The plugin redirected to another site.",
        outbound_errors.ADDRESS_BLOCKED: "The plugin's address is not allowed.",
        outbound_errors.TOO_MANY_REDIRECTS: "The plugin redirected too often.",
    }
    return ProxyError(
        502,
        "proxy.upstream_failed",
        messages.get(exc.code, "The plugin could not be reached."),
        decision="upstream_error",
        details={"cause": exc.code},
    )
