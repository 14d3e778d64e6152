"""Rendering, parent side: a pool of sandbox worker processes and ``render_template``.

Each worker is ``python -I`` running :mod:`plugins.sandbox.worker`, with no secrets in its
environment; the parent kills it when a render passes its deadline.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugins.sandbox.checks import cached_check
from plugins.sandbox.errors import CODES, TemplateRejected, clip
from plugins.sandbox.limits import MAX_WORKERS, WORKER_MAX_RENDERS, WORKER_START_SECONDS
from plugins.sandbox.worker import FRAME

_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
# -I drops PYTHONPATH, the user site and the script's directory, so the worker is told where the
# project is; it imports only the sandbox's environment, errors and limits from there.
_WORKER_COMMAND = (
    "import sys; sys.path.insert(0, sys.argv[1]); from plugins.sandbox.worker import serve; serve()"
)


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
    for issue in cached_check(source):
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
    code = reply.get("code") if reply.get("code") in CODES else "template.render_failed"
    line = reply.get("line") if isinstance(reply.get("line"), int) else None
    raise TemplateRejected(code, clip(reply.get("message") or "The template failed."), line)


class Worker:
    """One worker process speaking length-prefixed JSON over its stdin and stdout."""

    def __init__(self) -> None:
        self.renders = 0
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter running this file
            [sys.executable, "-I", "-c", _WORKER_COMMAND, _PROJECT_ROOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd="/",
            env={"PATH": os.defpath, "LC_ALL": "C.UTF-8"},  # no secrets in the worker
        )
        try:
            ready = self.exchange(None, time.monotonic() + WORKER_START_SECONDS, 1024)
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
                self.process.stdin.write(FRAME.pack(len(payload)) + payload)
                self.process.stdin.flush()
            fd = self.process.stdout.fileno()
            (size,) = FRAME.unpack(_read_exactly(fd, FRAME.size, deadline))
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


class Pool:
    """Up to MAX_WORKERS workers, started on demand and reused; killed on timeout or failure."""

    def __init__(self) -> None:
        self._idle: list[Worker] = []
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

    def _acquire(self, deadline: float) -> Worker:
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
            return Worker()  # started outside the lock: ~0.1 s
        except BaseException as exc:
            with self._lock:
                self._alive -= 1
                self._lock.notify()
            if isinstance(exc, _WorkerLost | _Timeout | OSError):
                raise TemplateRejected(
                    "template.render_failed", "The template sandbox is unavailable."
                ) from None
            raise

    def _release(self, worker: Worker, healthy: bool) -> None:
        if not healthy or worker.renders >= WORKER_MAX_RENDERS:
            worker.kill()
        with self._lock:
            if healthy and worker.renders < WORKER_MAX_RENDERS:
                self._idle.append(worker)
            else:
                self._alive -= 1
            self._lock.notify()


_pool: Pool | None = None
_pool_lock = threading.Lock()


def _get_pool() -> Pool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = Pool()
        return _pool


def _forget_pool_after_fork() -> None:
    """A forked child must not share the parent's workers (their pipes are shared)."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)
