"""Shaping an upstream answer for the model: parse, apply x-filter in the sandbox, clip."""

from __future__ import annotations

import json
import math

from django.conf import settings

from plugins.proxy.errors import ProxyError
from plugins.sandbox import TemplateRejected, render_template

JINJA = "template_engine_with_jinja"
FILTER_TIMEOUT = 2.0


def parse_body(content: bytes, content_type: str, status: int) -> tuple[object, str]:
    """(data, text): JSON bodies parsed (invalid JSON from a 2xx → 502), others as text."""
    text = content.decode("utf-8", errors="replace")
    is_json = content_type == "application/json" or content_type.endswith("+json")
    if not is_json or not content.strip():
        return None, text
    try:
        return json.loads(text, parse_constant=_not_json, parse_float=_finite), text
    except (ValueError, RecursionError):
        if 200 <= status < 300:
            raise ProxyError(
                502,
                "proxy.upstream_invalid_json",
                "The plugin answered with invalid JSON.",
                decision="upstream_error",
                upstream_status=status,
            ) from None
        return None, text


def _not_json(name: str):
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: the caller's parser would fail


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text} does not fit a float")
    return number


def apply_filter(chain: dict | None, data: object, text: str) -> tuple[object, str]:
    """Run the operation's x-filter chain (Jinja processors only, in the sandbox)."""
    if not chain:
        return data, text
    for processor in chain.get("processors") or []:
        if not isinstance(processor, dict):
            continue
        if processor.get("processor_implementation_type") != JINJA:
            continue
        template = (processor.get("metadata") or {}).get("template")
        if not isinstance(template, str):
            continue
        try:
            text = render_template(
                template,
                {"data": data if data is not None else text},
                max_output_chars=settings.PROXY_MAX_CHARS,
                timeout_seconds=FILTER_TIMEOUT,
                strict_undefined=False,
            )
        except TemplateRejected as exc:
            raise ProxyError(
                502,
                "proxy.filter_failed",
                f"The plugin's response filter failed ({exc.code}).",
                decision="upstream_error",
            ) from None
        if processor.get("output_port") == "json":
            try:
                data = json.loads(text)
            except ValueError:
                data = None
        else:
            data = None
    return data, text


def clip(text: str) -> str:
    limit = settings.PROXY_MAX_CHARS
    return text if len(text) <= limit else text[:limit]
