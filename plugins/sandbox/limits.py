"""The sandbox's limits, in one place: what a template may be, make and use."""

from __future__ import annotations

MAX_TEMPLATE_CHARS = 20_000
MAX_WORKERS = 4  # concurrent renders per process; more callers wait (within their timeout)

MAX_INT_BITS = 4096  # results of ** and * on integers (~1,233 digits)
MAX_SEQUENCE = 1_000_000  # characters or items made by * and + on strings and lists
MAX_FORMAT_WIDTH = 10_000  # width/precision in 'text' % args
WORKER_MEMORY_BYTES = 512 * 1024 * 1024  # address space; an idle worker uses ~25 MB
WORKER_START_SECONDS = 10.0
WORKER_MAX_RENDERS = 10_000  # then it is replaced, to shed fragmentation
WORKER_CACHE_SIZE = 256  # compiled templates kept per worker
