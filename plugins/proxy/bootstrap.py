"""x-bootstrap: operations run once per member session of an installation, without the model.

An operation marked `x-bootstrap: true` whose required parameters all carry
`x-bootstrap-value` templates (`{{ auth.token }}`, `{{ auth.data.user_id }}`…) is called by the
marketplace itself: the templates are rendered in the sandbox with the member's credential
(`auth`: `{"token", "data"}` from plugins.credentials, `{}` for plugins without auth), the call
goes through the same pipeline as any other (policy, arguments, allow-list, assertion,
outbound client, x-filter), and the filtered answers are kept for SESSION_SECONDS as the
installation's context for that member. The lookup API serves them (`bootstrap`), and queues
this run (a Celery task) when there is nothing fresh.
"""

from __future__ import annotations

import json
import time

from django.conf import settings

from plugins.installations.selectors import policy_of, toolset_of
from plugins.proxy import pipeline, store
from plugins.proxy.errors import ProxyError
from plugins.proxy.ids import new_request_id
from plugins.sandbox import TemplateRejected, render_template

SESSION_SECONDS = 3600
PENDING_SECONDS = 60


def cache_key(installation, user_id: int) -> str:
    return f"bootstrap:{installation.pk}:{installation.version_id}:{user_id}"


def bootstrap_operations(installation) -> list[dict]:
    """The version's bootstrap operations the marketplace can run (every required parameter
    has a template)."""
    found = []
    for op in (installation.version.normalized or {}).get("operations") or []:
        if not op.get("bootstrap"):
            continue
        values = op.get("bootstrap_values") or {}
        required = [p["name"] for p in op.get("parameters") or [] if p.get("required")]
        if all(name in values for name in required):
            found.append(op)
    return found


def has_bootstrap(installation) -> bool:
    """Whether the version has bootstrap operations (from its cached tools: no document read)."""
    return any(tool.bootstrap for tool in toolset_of(installation.version).tools)


def run_bootstrap(*, installation, user) -> dict:
    """Run the bootstrap operations for `user` now and keep their answers; returns the state."""
    results = []
    try:
        credential = pipeline.credential_for(installation, user)
    except ProxyError as exc:
        return _store(installation, user, {"state": "not_connected", "message": exc.message})
    auth = dict(credential.bootstrap) if credential is not None else {}
    policy = policy_of(installation=installation, user=user)
    toolset = toolset_of(installation.version)
    for op in bootstrap_operations(installation):
        tool = toolset.tool(op["name"])
        if tool is None:
            continue
        try:
            arguments = {}
            for name, template in (op.get("bootstrap_values") or {}).items():
                argument = next(
                    (
                        a
                        for a, b in tool.bindings.items()
                        if b.name == name and b.location != "body"
                    ),
                    None,
                )
                if argument is not None:
                    arguments[argument] = render_template(template, {"auth": auth})
            result = _call(installation, user, policy, op["name"], arguments, credential)
            results.append(
                {
                    "operation": op["name"],
                    "status": result.body.get("status"),
                    "text": result.body.get("text", ""),
                    "ok": result.http_status == 200,
                }
            )
        except TemplateRejected as exc:
            results.append(
                {
                    "operation": op["name"],
                    "ok": False,
                    "text": "",
                    "error": f"x-bootstrap-value failed ({exc.code})",
                }
            )
    return _store(installation, user, {"state": "ready", "context": results})


def _call(installation, user, policy, operation, arguments, credential):
    request_id = new_request_id()
    started = time.perf_counter()
    event = pipeline.new_event(
        installation=installation,
        user=user,
        via="bootstrap",
        operation=operation,
        request_id=request_id,
    )
    upstream_ms = 0.0
    try:
        prepared = pipeline.prepare_call(
            installation=installation,
            user=user,
            policy=policy,
            operation=operation,
            arguments=arguments,
        )
        sent_at = time.perf_counter()
        response = pipeline._send(prepared.upstream, credential, installation, user)
        upstream_ms = (time.perf_counter() - sent_at) * 1000
        result = pipeline.answer(response, prepared, request_id, event)
    except ProxyError as exc:
        result = pipeline.failed(exc, request_id, event)
    result = pipeline.finish(result, event, started, upstream_ms)
    from plugins.proxy.events import record_call

    record_call(event)
    return result


def _store(installation, user, state: dict) -> dict:
    client = store.sync_client()
    if client is not None:
        client.set(cache_key(installation, user.pk), json.dumps(state), ex=SESSION_SECONDS)
    return state


def cached_states(installations: list, user) -> dict[int, dict | None]:
    """The kept bootstrap state per installation (None when nothing fresh), one Redis call."""
    client = store.sync_client()
    wanted = [i for i in installations if has_bootstrap(i)]
    if client is None or not wanted:
        return {i.pk: None for i in wanted}
    values = client.mget([cache_key(i, user.pk) for i in wanted])
    return {i.pk: json.loads(v) if v else None for i, v in zip(wanted, values, strict=True)}


def claim_pending(installation, user) -> bool:
    """True for the one caller that should queue the run (others see it pending)."""
    client = store.sync_client()
    if client is None or not settings.REDIS_URL:
        return False
    return bool(
        client.set(cache_key(installation, user.pk) + ":pending", "1", nx=True, ex=PENDING_SECONDS)
    )
