"""Rendering, worker side: the loop a sandbox worker process runs.

Started by :mod:`plugins.sandbox.render` as ``python -I``; reads length-prefixed JSON requests
on stdin, renders each under an address-space and CPU-time limit, and writes one reply each.
"""

from __future__ import annotations

import json
import math
import struct
import sys
import traceback
from collections import OrderedDict
from typing import Any

from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

from plugins.sandbox.environment import Expensive, SandboxEnvironment
from plugins.sandbox.errors import TemplateRejected, clip
from plugins.sandbox.limits import WORKER_CACHE_SIZE, WORKER_MEMORY_BYTES

FRAME = struct.Struct(">I")  # every message: a 4-byte big-endian length, then ASCII JSON


def serve() -> None:
    """Worker main loop: read a request, render it, write the reply; exit at end of input."""
    import resource

    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but replies may reach the parent's pipe
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    environments = {True: SandboxEnvironment(strict=True), False: SandboxEnvironment(strict=False)}
    compiled: OrderedDict[tuple[bool, str], Any] = OrderedDict()
    _send(replies, {"ready": True})
    while header := requests.read(FRAME.size):
        (size,) = FRAME.unpack(header)
        request = json.loads(requests.read(size))
        # A CPU-time limit for this render, in case the parent is gone and cannot kill us.
        usage = resource.getrusage(resource.RUSAGE_SELF)
        used = math.ceil(usage.ru_utime + usage.ru_stime)
        resource.setrlimit(
            resource.RLIMIT_CPU, (used + request["cpu_seconds"], resource.RLIM_INFINITY)
        )
        try:
            key = (request["strict"], request["source"])
            template = compiled.pop(key, None) or environments[key[0]].from_string(key[1])
            compiled[key] = template
            if len(compiled) > WORKER_CACHE_SIZE:
                compiled.popitem(last=False)
            reply = {"ok": True, "output": _generate(template, request)}
        except Exception as exc:
            reply = _failure(exc, request["context"])
        _send(replies, reply)


def _generate(template: Any, request: dict) -> str:
    limit, size, parts = request["max_output_chars"], 0, []
    for part in template.generate(request["context"]):
        size += len(part)
        if size > limit:
            raise TemplateRejected(
                "template.output_too_large", f"The output is longer than {limit:,} characters."
            )
        parts.append(part)
    return "".join(parts)


def _failure(exc: Exception, context: Any) -> dict:
    line = next(
        (
            frame.lineno
            for frame in reversed(traceback.extract_tb(exc.__traceback__))
            if frame.filename == "<template>"
        ),
        None,
    )
    retire = False
    if isinstance(exc, TemplateRejected):
        code, message, line = exc.code, exc.message, exc.line or line
    elif isinstance(exc, TemplateSyntaxError):
        code, message, line = "template.syntax_error", exc.message or str(exc), exc.lineno
    elif isinstance(exc, MemoryError):
        code, message, retire = "template.too_expensive", "The template ran out of memory.", True
    elif isinstance(exc, Expensive | RecursionError | OverflowError):
        code, message = "template.too_expensive", f"The template is too expensive: {exc}"
        retire = isinstance(exc, RecursionError)
    elif isinstance(exc, SecurityError):
        code, message = "template.unsafe_attribute", str(exc)
    elif isinstance(exc, UndefinedError):
        code, message = "template.render_failed", str(exc)
    else:
        code, message = "template.render_failed", f"{type(exc).__name__}: {exc}"
    message = clip(_redact(str(message)[:10_000], context), 300)
    return {"ok": False, "code": code, "message": message, "line": line, "retire": retire}


def _redact(message: str, context: Any) -> str:
    """Blank out context strings (tokens, say) that an error message might quote."""
    stack, secrets = [context], set()
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and len(item) >= 6 and item in message:
            secrets.add(item)
    for secret in sorted(secrets, key=len, reverse=True):
        message = message.replace(secret, "[redacted]")
    return message


def _send(stream: Any, reply: dict) -> None:
    data = json.dumps(reply).encode("ascii")
    stream.write(FRAME.pack(len(data)) + data)
    stream.flush()
