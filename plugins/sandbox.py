"""The one Jinja sandbox for plugin templates (x-filter, x-output-modules, x-bootstrap-value).

Contract:

* :func:`check_template` parses and compiles a template without rendering it and returns its
  issues (errors and warnings); it never raises for any source string. The validator uses it.
* :func:`render_template` renders in a separate worker process and returns text, or raises
  :class:`TemplateRejected` with a stable ``code``. A template with a static error is refused
  before it reaches a worker.
* Output is plain text for a model: autoescape is off. Whoever shows it in HTML must escape it.

Layers, each enough to stop a different thing:

1. ``ImmutableSandboxedEnvironment`` (Jinja >= 3.1.6, which blocks the ``str.format`` escapes
   CVE-2024-56326 and CVE-2025-27516): no ``_`` attributes, no mutation of lists or dicts.
2. Nothing is evaluated at compile time. Jinja's optimizer folds constant expressions while
   compiling, so ``{{ 10 ** 10000000 }}`` or ``{{ 'a'|center(999999999) }}`` would run inside
   ``check_template``. The arithmetic operators are intercepted (never folded, and checked by
   :meth:`_Sandbox.call_binop` at run time), the optimizer is off, and ``finalize`` takes the
   context, which stops the compiler folding output expressions (filters included).
3. A static check refuses dunder and interpreter-internal names (``__class__``, ``gi_frame``),
   ``|attr`` tricks and format strings reaching ``_`` fields, with a line number, plus
   includes/imports (there is no loader). ``x._name`` is only a warning: the sandbox blocks
   private attributes but data keys like ``_links``/``_id`` are legitimate.
4. Rendering happens in a pre-started worker process (``python -I`` running this file) with an
   address-space limit, a CPU-time limit and no secrets in its environment; the parent kills it
   when the deadline passes. Output is streamed and cut off past the cap. This bounds what the
   first layers cannot: ``~`` concatenation in loops, ``|center``/``|replace``/``.format`` width
   tricks, deep recursion. The price: a process per concurrent render (up to MAX_WORKERS, ~25 MB
   each, ~0.1 s to start once) and a JSON round trip per render, measured at ~50 us plus ~7 ms
   per MB of context (``python -m tests.sandbox.bench_render``).

Context values cross to the worker as JSON: pass plain data (dicts, lists, strings, numbers);
anything else is sent as ``str(value)``. Non-string dict keys become strings.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import re
import select
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Undefined, nodes, pass_context
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import (
    UNSAFE_ASYNC_GENERATOR_ATTRIBUTES,
    UNSAFE_COROUTINE_ATTRIBUTES,
    UNSAFE_GENERATOR_ATTRIBUTES,
    ImmutableSandboxedEnvironment,
)

MAX_TEMPLATE_CHARS = 20_000
MAX_WORKERS = 4  # concurrent renders per process; more callers wait (within their timeout)

_MAX_INT_BITS = 4096  # results of ** and * on integers (~1,233 digits)
_MAX_SEQUENCE = 1_000_000  # characters or items made by * and + on strings and lists
_MAX_FORMAT_WIDTH = 10_000  # width/precision in 'text' % args
_WORKER_MEMORY_BYTES = 512 * 1024 * 1024  # address space; an idle worker uses ~25 MB
_WORKER_START_SECONDS = 10.0
_WORKER_MAX_RENDERS = 10_000  # then it is replaced, to shed fragmentation
_WORKER_CACHE_SIZE = 256  # compiled templates kept per worker
_FRAME = struct.Struct(">I")
_UNSAFE_NAMES = frozenset(
    {"mro", "f_globals", "f_locals", "f_builtins", "f_back", "tb_frame", "tb_next"}
    | UNSAFE_GENERATOR_ATTRIBUTES
    | UNSAFE_COROUTINE_ATTRIBUTES
    | UNSAFE_ASYNC_GENERATOR_ATTRIBUTES
)
_FORMAT_METHODS = frozenset({"format", "format_map"})
_ATTRIBUTE_FILTERS = frozenset(
    {"map", "selectattr", "rejectattr", "groupby", "sort", "sum", "unique", "min", "max"}
)
_PRIVATE_FORMAT_FIELD = re.compile(r"\{[^{}]*[.\[]\s*_")  # "{0.__class__}", "{x[_y]}"
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_CODES = frozenset(
    {
        "template.syntax_error",
        "template.unsafe_attribute",
        "template.too_large",
        "template.too_expensive",
        "template.render_failed",
        "template.output_too_large",
        "template.timeout",
    }
)


class TemplateRejected(Exception):
    """A template was refused or failed. ``code`` is stable; ``message`` is safe to show."""

    def __init__(self, code: str, message: str, line: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line

    def __repr__(self) -> str:
        return f"TemplateRejected({self.code!r}, {self.message!r}, line={self.line!r})"


@dataclass(frozen=True)
class TemplateIssue:
    code: str
    message: str
    line: int | None
    severity: str  # "error" | "warning"


# --- the environment -----------------------------------------------------------------------------


@pass_context
def _finalize(context: Any, value: Any) -> Any:
    """Identity. Taking the context is what stops the compiler folding output expressions."""
    return value


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandboxed environment: no compile-time evaluation, bounded arithmetic."""

    intercepted_binops = frozenset({"**", "*", "//", "%", "+"})
    intercepted_unops = frozenset({"-", "+"})

    def __init__(self, *, strict: bool) -> None:
        super().__init__(
            autoescape=False,
            undefined=StrictUndefined if strict else Undefined,
            optimized=False,
            finalize=_finalize,
        )
        del self.globals["lipsum"]  # a CPU toy with no use in a plugin

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)


def _check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be huge, before computing it."""
    ints = isinstance(left, int) and isinstance(right, int)
    if operator == "**" and ints and right > 0 and abs(left) > 1:
        too_big = abs(left).bit_length() * right > _MAX_INT_BITS
    elif operator == "*" and ints:
        too_big = left.bit_length() + right.bit_length() > _MAX_INT_BITS
    elif operator == "*":
        sequence, times = (left, right) if isinstance(right, int) else (right, left)
        too_big = (
            isinstance(sequence, str | list | tuple)
            and isinstance(times, int)
            and len(sequence) * times > _MAX_SEQUENCE
        )
    elif operator == "+":
        too_big = (
            isinstance(left, str | list | tuple)
            and isinstance(right, str | list | tuple)
            and len(left) + len(right) > _MAX_SEQUENCE
        )
    elif operator == "%" and isinstance(left, str):
        too_big = any(
            part == "*" or (part and int(part) > _MAX_FORMAT_WIDTH)
            for spec in _PERCENT_SPEC.finditer(left)
            for part in spec.groups()
        )
    else:
        too_big = False
    if too_big:
        raise _Expensive(f"the result of '{operator}' would be too large")


class _Expensive(SecurityError):
    """Raised inside a render when an operation would use too much memory or time."""


# --- static check (in-process, never renders) ----------------------------------------------------

_checker = _Sandbox(strict=True)


def check_template(source: str) -> list[TemplateIssue]:
    """Parse and compile ``source`` without rendering it; return its issues.

    Errors: ``template.too_large``, ``template.syntax_error`` (with line),
    ``template.unsafe_attribute`` (with line), ``template.too_expensive`` (nested too deeply).
    Warnings: ``template.unsafe_attribute`` for ``|attr`` with a computed name.
    """
    return list(_check(source))


@functools.lru_cache(maxsize=256)
def _check(source: str) -> tuple[TemplateIssue, ...]:
    if not isinstance(source, str):
        raise TypeError(f"a template is a str, not {type(source).__name__}")
    if len(source) > MAX_TEMPLATE_CHARS:
        return (
            _error(
                "template.too_large",
                f"The template has {len(source):,} characters; the limit is "
                f"{MAX_TEMPLATE_CHARS:,}.",
            ),
        )
    issues: list[TemplateIssue] = []
    try:
        tree = _checker.parse(source)
        issues.extend(_static_issues(tree))
        _checker.compile(tree)  # finds unknown filters and tests, among others
    except TemplateSyntaxError as exc:
        issues.append(_error("template.syntax_error", _clip(exc.message or exc), exc.lineno))
    except (RecursionError, MemoryError):
        issues.append(_error("template.too_expensive", "The template is nested too deeply."))
    except Exception as exc:  # the Python compiler refusing generated code, say
        issues.append(_error("template.syntax_error", f"Cannot compile: {_clip(exc)}"))
    return tuple(issues)


def _static_issues(tree: nodes.Template) -> Iterator[TemplateIssue]:
    """Errors for dunder and interpreter-internal names, wherever a template names an attribute.

    A single leading underscore is only a warning on ``x._name``: the sandbox blocks private
    attributes of objects but still finds data keys such as HAL's ``_links`` or ``_id``.
    """
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        names: list[Any] = []
        if isinstance(node, nodes.Getattr):
            names.append(node.attr)
            if node.attr in _FORMAT_METHODS and _reaches_private_field(node.node):
                yield _error(
                    "template.unsafe_attribute",
                    "A format string may not reach attributes starting with '_'.",
                    node.lineno,
                )
            elif node.attr.startswith("_") and not _is_internal(node.attr):
                yield TemplateIssue(
                    "template.unsafe_attribute",
                    f"'.{_clip(node.attr, 60)}' can only read a data key; write "
                    f"[{_clip(node.attr, 60)!r}] instead.",
                    node.lineno,
                    "warning",
                )
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            names.append(node.arg.value)
        elif isinstance(node, nodes.Filter) and node.name == "attr":
            named = [keyword.value for keyword in node.kwargs if keyword.key == "name"]
            argument = (node.args or named or [None])[0]
            if not isinstance(argument, nodes.Const):
                yield TemplateIssue(
                    "template.unsafe_attribute",
                    "attr() with a computed name cannot be checked before rendering.",
                    node.lineno,
                    "warning",
                )
                continue
            if argument.value in _FORMAT_METHODS or str(argument.value).startswith("_"):
                yield _error(
                    "template.unsafe_attribute",
                    f"attr({_clip(argument.value, 60)!r}) is not allowed.",
                    node.lineno,
                )
                continue
            names.append(argument.value)
        elif isinstance(node, nodes.Filter) and node.name in _ATTRIBUTE_FILTERS:
            # map(attribute='a.b'), sort(attribute=...), selectattr('a.b'), map('attr', 'x')
            values = [*node.args, *(keyword.value for keyword in node.kwargs)]
            for value in values:
                if isinstance(value, nodes.Const) and isinstance(value.value, str):
                    names.extend(value.value.split("."))
        for name in names:
            if isinstance(name, str) and _is_internal(name):
                yield _error(
                    "template.unsafe_attribute",
                    f"Access to the attribute {_clip(name, 60)!r} is not allowed.",
                    node.lineno,
                )
                break
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        yield _error(
            "template.syntax_error",
            "Templates cannot extend, include or import other templates.",
            node.lineno,
        )


def _is_internal(name: str) -> bool:
    return name.startswith("__") or name in _UNSAFE_NAMES


def _reaches_private_field(receiver: nodes.Node) -> bool:
    """``'{0.__class__}'.format``: a constant format string with a field like ``.__x``."""
    return (
        isinstance(receiver, nodes.Const)
        and isinstance(receiver.value, str)
        and _PRIVATE_FORMAT_FIELD.search(receiver.value) is not None
    )


def _error(code: str, message: str, line: int | None = None) -> TemplateIssue:
    return TemplateIssue(code, message, line, "error")


# --- rendering (parent side) ---------------------------------------------------------------------


def render_template(
    source: str,
    context: Mapping[str, Any],
    *,
    max_output_chars: int = 100_000,
    timeout_seconds: float = 2.0,
    strict_undefined: bool = True,
) -> str:
    """Render ``source`` with ``context`` in a sandbox worker; raise TemplateRejected on failure.

    ``strict_undefined`` (the default, for x-bootstrap-value) makes a missing variable an error;
    pass False for response filters written against Jinja's lenient default.
    ``timeout_seconds`` bounds the render (wall clock, in the worker); waiting for a free worker
    is bounded by the same amount again. Starting a worker (~0.1 s, once) is not counted.
    """
    for issue in _check(source):
        if issue.severity == "error":
            raise TemplateRejected(issue.code, issue.message, issue.line)
    request = {
        "source": source,
        "context": dict(context),
        "strict": bool(strict_undefined),
        "max_output_chars": int(max_output_chars),
        "cpu_seconds": math.ceil(timeout_seconds) + 1,
    }
    payload = json.dumps(request, default=str).encode("ascii")
    # A character is at most 12 bytes of ASCII JSON (a surrogate pair of \\u escapes).
    reply = _get_pool().run(payload, timeout_seconds, 12 * max_output_chars + 65_536)
    if reply.get("ok") is True and isinstance(reply.get("output"), str):
        return reply["output"]
    code = reply.get("code") if reply.get("code") in _CODES else "template.render_failed"
    line = reply.get("line") if isinstance(reply.get("line"), int) else None
    raise TemplateRejected(code, _clip(reply.get("message") or "The template failed."), line)


class _Worker:
    """One worker process speaking length-prefixed JSON over its stdin and stdout."""

    def __init__(self) -> None:
        self.renders = 0
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter running this file
            [sys.executable, "-I", os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd="/",
            env={"PATH": os.defpath, "LC_ALL": "C.UTF-8"},  # no secrets in the worker
        )
        try:
            ready = self.exchange(None, time.monotonic() + _WORKER_START_SECONDS, 1024)
        except BaseException:
            self.kill()
            raise
        if ready != {"ready": True}:
            self.kill()
            raise _WorkerLost("the sandbox worker did not start")

    def exchange(self, payload: bytes | None, deadline: float, max_reply: int) -> dict:
        """Send a request (if any) and read one reply before ``deadline``."""
        try:
            if payload is not None:
                self.process.stdin.write(_FRAME.pack(len(payload)) + payload)
                self.process.stdin.flush()
            fd = self.process.stdout.fileno()
            (size,) = _FRAME.unpack(_read_exactly(fd, _FRAME.size, deadline))
            if size > max_reply:
                raise _WorkerLost("the sandbox worker sent an oversized reply")
            reply = json.loads(_read_exactly(fd, size, deadline))
        except (OSError, ValueError, EOFError) as exc:
            raise _WorkerLost(f"the sandbox worker failed ({type(exc).__name__})") from None
        if not isinstance(reply, dict):
            raise _WorkerLost("the sandbox worker sent a malformed reply")
        return reply

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()


class _WorkerLost(Exception):
    pass


class _Timeout(Exception):
    pass


def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
    chunks, remaining = [], size
    while remaining:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([fd], [], [], wait)[0]:
            raise _Timeout
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class _Pool:
    """Up to MAX_WORKERS workers, started on demand and reused; killed on timeout or failure."""

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._alive = 0
        self._lock = threading.Condition()

    def run(self, payload: bytes, timeout_seconds: float, max_reply: int) -> dict:
        worker = self._acquire(time.monotonic() + timeout_seconds)
        deadline = time.monotonic() + timeout_seconds  # the render gets the whole timeout
        healthy = False
        try:
            reply = worker.exchange(payload, deadline, max_reply)
            worker.renders += 1
            healthy = not reply.pop("retire", False)
            return reply
        except _Timeout:
            raise TemplateRejected(
                "template.timeout", f"The template took longer than {timeout_seconds:g} s."
            ) from None
        except _WorkerLost:  # killed by its memory or CPU limit, or crashed
            raise TemplateRejected(
                "template.too_expensive", "The template used more memory or time than allowed."
            ) from None
        finally:
            self._release(worker, healthy)

    def _acquire(self, deadline: float) -> _Worker:
        with self._lock:
            while not self._idle and self._alive >= MAX_WORKERS:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    raise TemplateRejected("template.timeout", "The template sandbox is busy.")
                self._lock.wait(wait)
            if self._idle:
                return self._idle.pop()
            self._alive += 1
        try:
            return _Worker()  # started outside the lock: ~0.1 s
        except BaseException as exc:
            with self._lock:
                self._alive -= 1
                self._lock.notify()
            if isinstance(exc, _WorkerLost | _Timeout | OSError):
                raise TemplateRejected(
                    "template.render_failed", "The template sandbox is unavailable."
                ) from None
            raise

    def _release(self, worker: _Worker, healthy: bool) -> None:
        if not healthy or worker.renders >= _WORKER_MAX_RENDERS:
            worker.kill()
        with self._lock:
            if healthy and worker.renders < _WORKER_MAX_RENDERS:
                self._idle.append(worker)
            else:
                self._alive -= 1
            self._lock.notify()


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _get_pool() -> _Pool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _Pool()
        return _pool


def _forget_pool_after_fork() -> None:
    """A forked child must not share the parent's workers (their pipes are shared)."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)


# --- rendering (worker side) ---------------------------------------------------------------------


def _serve() -> None:
    """Worker main loop: read a request, render it, write the reply; exit at end of input."""
    import resource

    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but replies may reach the parent's pipe
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (_WORKER_MEMORY_BYTES, _WORKER_MEMORY_BYTES))
    environments = {True: _Sandbox(strict=True), False: _Sandbox(strict=False)}
    compiled: OrderedDict[tuple[bool, str], Any] = OrderedDict()
    _send(replies, {"ready": True})
    while header := requests.read(_FRAME.size):
        (size,) = _FRAME.unpack(header)
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
            if len(compiled) > _WORKER_CACHE_SIZE:
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
    elif isinstance(exc, _Expensive | RecursionError | OverflowError):
        code, message = "template.too_expensive", f"The template is too expensive: {exc}"
        retire = isinstance(exc, RecursionError)
    elif isinstance(exc, SecurityError):
        code, message = "template.unsafe_attribute", str(exc)
    elif isinstance(exc, UndefinedError):
        code, message = "template.render_failed", str(exc)
    else:
        code, message = "template.render_failed", f"{type(exc).__name__}: {exc}"
    message = _clip(_redact(str(message)[:10_000], context), 300)
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
    stream.write(_FRAME.pack(len(data)) + data)
    stream.flush()


def _clip(text: Any, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


if __name__ == "__main__":
    _serve()
