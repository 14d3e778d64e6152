"""The call pipeline: one set of steps takes a member's call from arguments to answer.

Two faces share every step: `plugins.proxy.call.call_operation` (sync; the passthrough and
management paths) and `plugins.proxy.fast.call_view` (async; the call endpoint's hot path, over
the pooled async outbound client); `plugins.proxy.dependents` adds the x-dependent and x-lookup
calls around them. The steps, each a small module:

rate limit (ratelimit) → the one policy (installations.policy: operation enabled and granted)
→ arguments against the compiled schema (arguments: 422 with every violation) → allow-list on
the argument values (policy.check: 403 naming the parameter) → request built from the pinned
spec (build) and re-checked on the values actually sent → the signed caller assertion
(assertion) and the credential (plugins.credentials) → the one outbound client → x-filter in
the sandbox (shaping) → a call event (events), always, whatever the outcome. Upstream failures
become 502 (504 on timeouts); `Server-Timing` reports the proxy's own time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from plugins.installations.policy import Grant, Policy, Refusal, value_allowed
from plugins.outbound import IDEMPOTENT_METHODS, FetchError, fetch
from plugins.outbound import errors as outbound_errors
from plugins.proxy.arguments import check_arguments
from plugins.proxy.assertion import HEADER as ASSERTION_HEADER
from plugins.proxy.assertion import sign_assertion
from plugins.proxy.build import UpstreamRequest, build_request
from plugins.proxy.errors import ProxyError
from plugins.proxy.shaping import apply_filter, clip, parse_body

USER_AGENT = "PluginMarketplace/1.0 (+proxy)"
RETRY_STATUSES = frozenset({429, 503})
MAX_RETRY_WAIT = 2.0
UPSTREAM_MAX_BYTES = 10 * 1024 * 1024


@dataclass
class CallResult:
    http_status: int
    body: dict
    headers: dict = field(default_factory=dict)
    proxy_ms: float = 0.0
    # The plugin's answer as parsed and redacted, before its x-filter: what the x-lookups read
    # (plugins.proxy.dependents.add_lookups), so that the answer is parsed once.
    answer_data: object = field(default=None, repr=False)


@dataclass
class Prepared:
    grant: Grant
    tool_filter: dict | None
    upstream: UpstreamRequest


def new_event(*, installation, user, via: str, operation: str, request_id: str) -> dict:
    return {
        "request_id": request_id,
        "organization_id": installation.organization_id,
        "installation_id": installation.pk,
        "plugin_id": installation.plugin_id,
        "user_id": getattr(user, "pk", None),
        "via": via,
        "operation": operation,
    }


def prepare_call(
    *, installation, user, policy: Policy, operation: str, arguments: object
) -> Prepared:
    """Policy, arguments, allow-list, request and assertion: everything before the network.
    Pure CPU given the policy (no database)."""
    decided = policy.operation(operation)
    if isinstance(decided, Refusal):
        raise refused(decided)
    key = (installation.version_id, installation.version.content_sha256, operation)
    check_arguments(key, decided.tool, arguments)
    decided = policy.check(operation, arguments)
    if isinstance(decided, Refusal):
        raise refused(decided)
    upstream = build_request(
        server_url=installation.version.normalized["server_url"],
        tool=decided.tool,
        arguments=arguments,
    )
    _recheck_sent_values(decided, upstream)
    _add_assertion(upstream, installation, user, decided)
    op = next(
        o for o in installation.version.normalized["operations"] if o.get("name") == operation
    )
    return Prepared(grant=decided, tool_filter=op.get("filter"), upstream=upstream)


def answer(response, prepared: Prepared, request_id: str, event: dict) -> CallResult:
    """The upstream response shaped for the model (5xx and invalid JSON → ProxyError)."""
    event.update(upstream_status=response.status, bytes_in=len(response.content))
    if response.status >= 500 or response.status < 200:  # 1xx: never a final answer
        raise ProxyError(
            502,
            "proxy.upstream_error",
            f"The plugin failed (HTTP {response.status}).",
            decision="upstream_error",
            upstream_status=response.status,
        )
    data, text = parse_body(response.content, response.content_type, response.status)
    data, text = redact(prepared.upstream.secrets, data, text)
    answer_data = data
    if 200 <= response.status < 300:
        data, text = apply_filter(prepared.tool_filter, data, text)
    text = clip(text)
    event.update(decision="allowed", bytes_out=len(text))
    return CallResult(
        200,
        {"status": response.status, "data": data, "text": text, "request_id": request_id},
        answer_data=answer_data,
    )


REDACTED = "[redacted]"
MIN_SECRET = 8


def redact(secrets: set[str], data, text: str):
    """(data, text) with every secret the request carried replaced: a plugin that echoes its
    credential or the assertion back must not hand them to the caller."""
    found = [s for s in secrets if len(s) >= MIN_SECRET]
    if not any(s in text for s in found) and "\\" not in text:
        return data, text  # no escapes: every parsed string appears verbatim in the text
    for secret in found:
        text = text.replace(secret, REDACTED)
    try:
        return _redacted(found, data), text
    except RecursionError:
        return None, text


def _redacted(found: list[str], value):
    if isinstance(value, str):
        for secret in found:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, list):
        return [_redacted(found, v) for v in value]
    if isinstance(value, dict):
        return {_redacted(found, k): _redacted(found, v) for k, v in value.items()}
    return value


def failed(exc: ProxyError, request_id: str, event: dict) -> CallResult:
    event.update(
        decision=exc.decision,
        reason=exc.code,
        parameter=exc.details.get("parameter"),
        upstream_status=exc.upstream_status or event.get("upstream_status"),
    )
    return CallResult(exc.status, exc.body(request_id), dict(exc.headers))


def finish(result: CallResult, event: dict, started: float, upstream_ms: float) -> CallResult:
    """Timing headers and the event's latency; the caller records the event."""
    proxy_ms = (time.perf_counter() - started) * 1000 - upstream_ms
    event.update(latency_ms=round(proxy_ms + upstream_ms, 3), upstream_ms=round(upstream_ms, 3))
    result.proxy_ms = proxy_ms
    result.headers["Server-Timing"] = f"proxy;dur={proxy_ms:.2f}, upstream;dur={upstream_ms:.2f}"
    result.headers["X-Request-Id"] = event["request_id"]
    return result


def refused(refusal: Refusal) -> ProxyError:
    if refusal.code == "unknown_operation":
        return ProxyError(404, "proxy.unknown_operation", refusal.message, decision="unavailable")
    if refusal.code == "pin_mismatch":
        return ProxyError(409, "proxy.pin_mismatch", refusal.message, decision="unavailable")
    if refusal.code == "not_servable":
        return ProxyError(
            403, "proxy.operation_not_servable", refusal.message, decision="unavailable"
        )
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


def auth_type(installation) -> str:
    return ((installation.version.normalized or {}).get("auth") or {}).get("type") or "none"


def credential_for(installation, user):
    """The credential to inject (None for auth none); ProxyError when the user must act."""
    if auth_type(installation) == "none":
        return None
    from plugins.credentials import CredentialProblem, resolve_credential

    try:
        return resolve_credential(installation=installation, user=user)
    except CredentialProblem as exc:
        raise credential_error(exc) from None


def credential_prefetch_key(installation, user) -> str | None:
    """The Redis key the async face reads with its rate limits so that `prefetched_credential`
    can resolve the credential on the event loop (None: resolve it with `credential_for`)."""
    if auth_type(installation) == "none":
        return None
    from plugins.credentials.resolve import prefetch_key

    return prefetch_key(installation=installation, user=user)


def prefetched_credential(installation, user, raw: bytes | None):
    """The credential from the value read at `credential_prefetch_key`, or None when
    `credential_for` must do it (no cached entry, or something to write down)."""
    from plugins.credentials.resolve import resolve_prefetched

    return resolve_prefetched(installation=installation, user=user, raw=raw)


def refreshed_credential(installation, user, rejected):
    from plugins.credentials import CredentialProblem, force_refresh

    try:
        return force_refresh(installation=installation, user=user, rejected=rejected)
    except CredentialProblem as exc:
        raise credential_error(exc) from None


def credential_error(exc) -> ProxyError:
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


def outbound_arguments(upstream: UpstreamRequest, credential) -> dict:
    """What the outbound client is asked to send (either face)."""
    headers = {"User-Agent": USER_AGENT, **upstream.headers}
    url = upstream.url
    sensitive: set[str] = {ASSERTION_HEADER.lower()}
    upstream.secrets.add(upstream.headers.get(ASSERTION_HEADER, ""))
    if credential is not None:
        headers.update(credential.headers)
        sensitive |= {name.lower() for name in credential.headers}
        if credential.query:
            url += ("&" if "?" in url else "?") + urlencode(credential.query)
        given = [*credential.headers.values(), *credential.query.values()]
        upstream.secrets.update(given, (v.rsplit(" ", 1)[-1] for v in given))
        upstream.secrets.add(str(credential.bootstrap.get("token") or ""))
    return {
        "url": url,
        "method": upstream.method,
        "headers": headers,
        "sensitive_headers": frozenset(sensitive),
        "body": upstream.body,
        "max_bytes": UPSTREAM_MAX_BYTES,
        "connect_timeout": 5.0,
        "max_redirects": 3,
        "redirect_policy": same_origin_only,
    }


def should_refresh(response, installation, credential) -> bool:
    return response.status == 401 and auth_type(installation) == "oauth" and credential is not None


def retry_wait(upstream: UpstreamRequest, response, deadline: float) -> float | None:
    """Seconds to wait before the one retry of an idempotent call answered 429/503, or None."""
    if upstream.method not in IDEMPOTENT_METHODS or response.status not in RETRY_STATUSES:
        return None
    wait = _retry_after(response.headers.get("retry-after"))
    if wait is None or time.monotonic() + wait >= deadline:
        return None
    return wait


def retryable(exc: FetchError, upstream: UpstreamRequest) -> bool:
    """The one retry of an idempotent call whose connection failed, unless the outbound client
    already made it (a pooled connection that died before answering: `exc.retried`)."""
    return (
        exc.transient
        and exc.code == outbound_errors.CONNECT_FAILED
        and upstream.method in IDEMPOTENT_METHODS
        and not exc.retried
    )


def _send(upstream: UpstreamRequest, credential, installation, user, deadline=None):
    response = _send_once(upstream, credential, deadline)
    if should_refresh(response, installation, credential):
        credential = refreshed_credential(installation, user, credential)
        response = _send_once(upstream, credential, deadline)
    return response


def _send_once(upstream: UpstreamRequest, credential, deadline=None):
    request = outbound_arguments(upstream, credential)
    deadline = deadline or time.monotonic() + settings.PROXY_TIMEOUT
    attempt = 0
    while True:
        attempt += 1
        try:
            response = fetch(**request, timeout=max(deadline - time.monotonic(), 0.001))
        except FetchError as exc:
            if attempt == 1 and retryable(exc, upstream):
                continue
            raise upstream_error(exc) from None
        wait = retry_wait(upstream, response, deadline) if attempt == 1 else None
        if wait is not None:
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


def same_origin_only(from_url: str, to_url: str) -> bool:
    a, b = urlsplit(from_url), urlsplit(to_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def upstream_error(exc: FetchError) -> ProxyError:
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
