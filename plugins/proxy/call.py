"""The sync face of the call pipeline: one function runs every step (plugins.proxy.pipeline)
for the passthrough, "try it" and management paths, with the x-dependent and x-lookup calls
(plugins.proxy.dependents) around the operation's own."""

from __future__ import annotations

import time

from django.conf import settings

from plugins.installations.selectors import policy_of
from plugins.proxy import dependents, pipeline, ratelimit
from plugins.proxy.errors import ProxyError
from plugins.proxy.events import record_call


def call_operation(
    *,
    installation,
    user,
    via: str,
    operation: str,
    arguments: object,
    request_id: str,
    lookups: bool = True,
) -> pipeline.CallResult:
    """The whole pipeline, synchronously. `Server-Timing`'s upstream time includes the
    x-dependent and x-lookup calls; `lookups=False` for an answer that can't carry them (the
    passthrough answers as the plugin would)."""
    started = time.perf_counter()
    event = pipeline.new_event(
        installation=installation, user=user, via=via, operation=operation, request_id=request_id
    )
    upstream_ms = 0.0
    try:
        ratelimit.check_rate(user_id=event["user_id"], installation_id=installation.pk)
        policy = policy_of(installation=installation, user=user)
        deadline = time.monotonic() + settings.PROXY_TIMEOUT
        common = {
            "installation": installation,
            "user": user,
            "policy": policy,
            "operation": operation,
        }
        references = {**common, "request_id": request_id, "deadline": deadline}
        if dependents.fills(policy, operation):
            filled_at = time.perf_counter()
            arguments = dependents.fill(arguments=arguments, **references)
            upstream_ms += (time.perf_counter() - filled_at) * 1000
        prepared = pipeline.prepare_call(arguments=arguments, **common)
        credential = pipeline.credential_for(installation, user)
        sent_at = time.perf_counter()
        response = pipeline._send(
            prepared.upstream, credential, installation, user, deadline=deadline
        )
        upstream_ms += (time.perf_counter() - sent_at) * 1000
        result = pipeline.answer(response, prepared, request_id, event)
        if lookups and prepared.grant.tool.lookups:
            looked_at = time.perf_counter()
            result = dependents.add_lookups(result, **references)
            upstream_ms += (time.perf_counter() - looked_at) * 1000
    except ProxyError as exc:
        result = pipeline.failed(exc, request_id, event)
    result = pipeline.finish(result, event, started, upstream_ms)
    record_call(event)
    return result
