"""x-dependent and x-lookup at call time: the extra calls the marketplace makes for a model.

The tool definitions (plugins.tools.references, canonical) decide once per version which
references the marketplace can resolve (the referenced operation needs no model input) and take
x-dependent arguments away from the model. Here, for one call:

- `fill` (before the call): the model's arguments are checked first (schema, allow-list), so a
  call that would be refused sends nothing; then each referenced operation runs once for the
  same member through the same rules (policy and allow-list on its own arguments, the
  credential, the assertion, the one outbound client) and the value read from its answer fills
  the argument; the filled arguments are checked again by the pipeline (schema, allow-list,
  the built request). A failure ends the call: 502 (504 on a timeout) naming the operation, or
  the refusal (403) when the member may not run it.
- `add_lookups` (after a successful call): each value found where an x-lookup sits in the answer
  is resolved by its operation (at most MAX_LOOKUP_VALUES distinct values per x-lookup) and
  added under `lookups`: `{"field", "value", "operation", "data", "text"}` (the lookup's
  x-filter applied; `data` None above PROXY_MAX_CHARS), or `"error"` for one that failed: the
  call's own answer stands.

One level deep, one call per referenced operation (and per lookup value), all within the call's
deadline; each extra call is a call event of its own (`via` "dependent" or "lookup", request id
`<call's id>-d1`, `-l1`…). Answers are kept CACHE_SECONDS per member, installation version,
operation and arguments, and reused only after the policy allowed the extra call again.
Sync: the async face runs these in a thread, and only for tools that have references.
"""

from __future__ import annotations

import hashlib
import json
import time

from django.conf import settings

from plugins.installations.policy import Refusal
from plugins.proxy import pipeline, store
from plugins.proxy.arguments import check_arguments
from plugins.proxy.errors import ProxyError
from plugins.proxy.events import record_call
from plugins.proxy.shaping import parse_body
from plugins.sandbox import TemplateRejected, render_template
from plugins.tools import Tool
from plugins.tools.references import MISSING, dependent_value, values_at_schema_pointer

CACHE_SECONDS = 60
CACHE_MAX_BYTES = 64 * 1024
MAX_LOOKUP_VALUES = 5


def _tool(policy, operation: str) -> Tool | None:
    decided = policy.operation(operation)
    return None if isinstance(decided, Refusal) else decided.tool


def fills(policy, operation: str) -> bool:
    """Whether `operation` has arguments the marketplace fills (cheap: no I/O)."""
    tool = _tool(policy, operation)
    return bool(tool and tool.dependents)


def fill(*, installation, user, policy, operation, arguments, request_id, deadline) -> object:
    """`arguments` with every x-dependent argument filled (ProxyError when that fails)."""
    tool = _tool(policy, operation)
    if tool is None or not tool.dependents or not isinstance(arguments, dict):
        return arguments  # the pipeline reports what is wrong
    given = sorted(set(tool.dependents) & set(arguments))
    if given:
        raise ProxyError(
            422,
            "proxy.invalid_arguments",
            "The arguments do not match the operation.",
            decision="invalid",
            details={
                "violations": [
                    {
                        "pointer": f"/{arg}",
                        "message": "Filled by the marketplace from the operation "
                        f"{tool.dependents[arg].operation!r}; don't send it.",
                    }
                    for arg in given
                ]
            },
        )
    key = _schema_key(installation, operation)
    check_arguments(key, tool, arguments)
    decided = policy.check(operation, arguments)
    if isinstance(decided, Refusal):
        raise pipeline.refused(decided)
    credential = pipeline.credential_for(installation, user)
    answers: dict[str, object] = {}
    filled = dict(arguments)
    for arg, dependent in tool.dependents.items():
        if dependent.operation not in answers:
            answers[dependent.operation] = _extra_call(
                installation=installation,
                user=user,
                policy=policy,
                operation=dependent.operation,
                arguments=dependent.arguments,
                templates=dependent.templates,
                credential=credential,
                via="dependent",
                request_id=f"{request_id}-d{len(answers) + 1}",
                deadline=deadline,
            )["data"]
        value = dependent_value(
            answers[dependent.operation], field=dependent.value_at, parameter=dependent.parameter
        )
        if value is MISSING:
            where = dependent.value_at or f"{dependent.parameter!r} or 'id'"
            raise _dependent_failed(
                dependent.operation, f"its answer has no plain value at {where}"
            )
        filled[arg] = value
    try:
        check_arguments(key, tool, filled)
    except ProxyError as exc:
        pointers = ", ".join(v["pointer"] for v in exc.details.get("violations", []))
        raise _dependent_failed(
            ", ".join(sorted(answers)), f"it gave a value that does not fit ({pointers})"
        ) from None
    return filled


def add_lookups(result, *, installation, user, policy, operation, request_id, deadline):
    """`result` (a successful pipeline.CallResult) with its x-lookups resolved under
    `lookups`; a lookup that fails is an entry with an `error`, never the call's failure.
    The values looked up are read from the plugin's answer as pipeline.answer parsed it, with
    the secrets the call's request carried redacted, before the x-filter (`answer_data`)."""
    tool = _tool(policy, operation)
    if tool is None or not tool.lookups or result.http_status != 200:
        return result
    status = str(result.body["status"])
    codes = {status, f"{status[0]}XX", "default"}
    wanted = [lk for lk in tool.lookups if lk.response.upper() in codes]
    if not wanted:
        return result
    data = result.answer_data
    entries: list[dict] = []
    try:
        credential = pipeline.credential_for(installation, user)
    except ProxyError as exc:
        result.body["lookups"] = [{"error": exc.message}]
        return result
    for lookup in wanted:
        values = values_at_schema_pointer(data, lookup.pointer, name=lookup.key)
        for value in values[:MAX_LOOKUP_VALUES]:
            entry = {"field": lookup.key, "value": value, "operation": lookup.operation}
            try:
                answer = _extra_call(
                    installation=installation,
                    user=user,
                    policy=policy,
                    operation=lookup.operation,
                    arguments={**lookup.arguments, lookup.argument: _fitted(policy, lookup, value)},
                    templates=lookup.templates,
                    credential=credential,
                    via="lookup",
                    request_id=f"{request_id}-l{len(entries) + 1}",
                    deadline=deadline,
                    readable=True,
                )
                entry.update(data=_bounded(answer["data"]), text=answer["text"])
            except ProxyError as exc:
                entry["error"] = exc.message
            entries.append(entry)
    if entries:
        result.body["lookups"] = entries
    return result


def _bounded(data):
    """A lookup's data, or None when it is larger than the model may read (its text, clipped,
    stays)."""
    size = len(json.dumps(data, ensure_ascii=False, default=str))
    return data if size <= settings.PROXY_MAX_CHARS else None


def _fitted(policy, lookup, value):
    """A number found in the answer, as text when the lookup's parameter is a string."""
    tool = _tool(policy, lookup.operation)
    schema = (tool.input_schema.get("properties", {}) if tool else {}).get(lookup.argument, {})
    kinds = schema.get("type") if isinstance(schema.get("type"), list) else [schema.get("type")]
    if (
        isinstance(value, int | float)
        and "string" in kinds
        and not {"integer", "number"} & set(kinds)
    ):
        return str(value)
    return value


def _schema_key(installation, operation: str) -> tuple:
    return (installation.version_id, installation.version.content_sha256, operation)


def _extra_call(
    *,
    installation,
    user,
    policy,
    operation,
    arguments,
    templates,
    credential,
    via,
    request_id,
    deadline,
    readable=False,
) -> dict:
    """One extra call through the pipeline's rules: {"data", "text"} (raw JSON for a
    dependent; the x-filter applied when `readable`), kept CACHE_SECONDS; ProxyError naming
    the operation when it fails. Each network call is a call event of its own."""
    event = pipeline.new_event(
        installation=installation, user=user, via=via, operation=operation, request_id=request_id
    )
    started = time.perf_counter()
    upstream_ms = 0.0
    try:
        try:
            rendered = {
                arg: render_template(template, {"auth": credential.bootstrap if credential else {}})
                for arg, template in templates.items()
            }
        except TemplateRejected as exc:
            raise _dependent_failed(operation, f"x-bootstrap-value failed ({exc.code})") from None
        prepared = pipeline.prepare_call(
            installation=installation,
            user=user,
            policy=policy,
            operation=operation,
            arguments={**arguments, **rendered},
        )
        cache_key = _cache_key(installation, user, operation, via, prepared.upstream)
        cached = _cached(cache_key)
        if cached is not None:
            return cached  # no call went out: no event
        if time.monotonic() >= deadline:
            raise ProxyError(
                504, "proxy.upstream_timeout", "No time was left.", decision="upstream_error"
            )
        sent_at = time.perf_counter()
        response = pipeline._send(
            prepared.upstream, credential, installation, user, deadline=deadline
        )
        upstream_ms = (time.perf_counter() - sent_at) * 1000
        event.update(upstream_status=response.status, bytes_in=len(response.content))
        if not 200 <= response.status < 300:
            raise ProxyError(
                502,
                "proxy.upstream_error",
                f"The plugin answered HTTP {response.status}.",
                decision="upstream_error",
                upstream_status=response.status,
            )
        if readable:
            answer = pipeline.answer(response, prepared, request_id, event).body
        else:
            data, text = parse_body(response.content, response.content_type, response.status)
            answer = {"data": data, "text": text}
            event.update(decision="allowed", bytes_out=0)
        kept = {"data": answer.get("data"), "text": answer.get("text", "")}
        _keep(cache_key, kept)
        result = pipeline.CallResult(200, {})
    except ProxyError as exc:
        result = pipeline.failed(exc, request_id, event)
        pipeline.finish(result, event, started, upstream_ms)
        record_call(event)
        raise _named(exc, operation) from None
    pipeline.finish(result, event, started, upstream_ms)
    record_call(event)
    return kept


def _named(exc: ProxyError, operation: str) -> ProxyError:
    """The extra call's failure as the call's: which operation, and why."""
    if exc.code == "proxy.dependent_failed" or exc.decision == "not_connected":
        return exc
    if exc.decision in ("denied", "unavailable"):
        return ProxyError(
            403,
            exc.code,
            f"The operation {operation!r} this call depends on was refused: {exc.message}",
            decision=exc.decision,
            details={**exc.details, "dependent": operation},
        )
    why = exc.message.rstrip(".")
    return _dependent_failed(operation, why[0].lower() + why[1:], exc)


def _dependent_failed(operation: str, why: str, cause: ProxyError | None = None) -> ProxyError:
    timeout = cause is not None and cause.status == 504
    return ProxyError(
        504 if timeout else 502,
        "proxy.dependent_failed",
        f"The operation {operation!r} this call depends on failed: {why}.",
        decision="upstream_error",
        details={"dependent": operation, **({"cause": cause.code} if cause else {})},
        upstream_status=cause.upstream_status if cause else None,
    )


def _cache_key(installation, user, operation: str, via: str, upstream) -> str:
    """Per member, pinned version, operation and the request actually built (its URL and
    body; the assertion and credential headers are per call and left out)."""
    sent = json.dumps([upstream.method, upstream.url, (upstream.body or b"").hex()])
    digest = hashlib.sha256(sent.encode()).hexdigest()[:32]
    user_id = getattr(user, "pk", None)
    return f"proxy:{via}:{installation.pk}:{installation.version_id}:{user_id}:{digest}"


def _cached(key: str) -> dict | None:
    client = store.sync_client()
    raw = client.get(key) if client is not None else None
    return json.loads(raw) if raw else None


def _keep(key: str, answer: dict) -> None:
    client = store.sync_client()
    payload = json.dumps(answer, ensure_ascii=False)
    if client is not None and len(payload) <= CACHE_MAX_BYTES:
        client.set(key, payload, ex=CACHE_SECONDS)
