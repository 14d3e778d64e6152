"""The link stage: the logo and the legal page must be reachable. Problems are warnings.

Both links are checked at once, within one shared budget (LINK_BUDGET seconds for the whole
stage, each request capped at LINK_TIMEOUT): a slow or unreachable host holds a check for at
most the budget, not for one timeout after another. Findings keep their order (logo first).
Checks run after a run's verdict, in the `links` queue's I/O worker (plugins.ingest.link_stage),
several at once in one process.

The logo is kept (at most 1 MiB, raster formats only, its bytes checked against the format
they claim) so the storefront serves it from our origin: visitors' browsers never contact a
publisher's host, and an SVG, which can carry script, is never served at all.
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from plugins.ingest.budget import metered
from plugins.outbound import FetchError, fetch
from plugins.validation import Finding, Severity

IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/svg+xml", "image/gif")
LOGO_MAX_BYTES = 1024 * 1024
PAGE_PROBE_BYTES = 64 * 1024
LINK_TIMEOUT = 5.0
LINK_BUDGET = 6.0

# Formats served back to browsers, recognised by their leading bytes, not by a header.
_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}


SERVED_LOGO_TYPES = frozenset({*_SIGNATURES, "image/webp"})


def sniff_image_type(content: bytes) -> str | None:
    for media_type, signatures in _SIGNATURES.items():
        if content.startswith(signatures):
            return media_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass
class LinkReport:
    findings: list[Finding] = field(default_factory=list)
    logo: bytes | None = None
    logo_content_type: str = ""


@dataclass(frozen=True)
class _Where:
    document: str
    logo: str
    legal: str


_MANIFEST = _Where("manifest", "/logo_url", "/legal_info_url")
_OPENPLUGIN = _Where("openapi", "/x-openplugin/logoUrl", "/x-openplugin/legalInfoUrl")


def check_links(plugin: dict, *, budget: float = LINK_BUDGET) -> LinkReport:
    where = _OPENPLUGIN if plugin.get("dialect") == "openplugin" else _MANIFEST
    deadline = time.monotonic() + budget
    checks = [
        (check, url)
        for check, url in (
            (_check_logo, plugin.get("logo_url")),
            (_check_page, plugin.get("legal_info_url")),
        )
        if url
    ]
    partial = [LinkReport() for _ in checks]
    # Each check runs in a copy of this context: the run's budget (ingest.budget) goes along.
    futures = [
        _checker_threads().submit(contextvars.copy_context().run, check, url, where, part, deadline)
        for (check, url), part in zip(checks, partial, strict=True)
    ]
    for future in futures:
        future.result()
    report = LinkReport()
    for part in partial:
        report.findings += part.findings
        if part.logo is not None:
            report.logo, report.logo_content_type = part.logo, part.logo_content_type
    return report


_threads: tuple[int, ThreadPoolExecutor] | None = None
_threads_lock = threading.Lock()


# Two per check at once: the `links` worker runs many checks in threads of one process (its
# --concurrency, at most 32 in docker-compose.yml), and a check whose requests waited for a free
# thread would spend its budget queueing. Threads are made only when none is idle, so a process
# running one check at a time still has two.
CHECKER_THREADS = 64


def _checker_threads() -> ThreadPoolExecutor:
    """Long-lived threads per process (made after a fork, never inherited): each keeps the
    outbound client's per-thread TLS context from one check to the next."""
    global _threads
    with _threads_lock:
        if _threads is None or _threads[0] != os.getpid():
            pool = ThreadPoolExecutor(CHECKER_THREADS, thread_name_prefix="link-check")
            _threads = (os.getpid(), pool)
        return _threads[1]


def _timeout(deadline: float) -> float:
    """What is left of the stage's budget for one request, at most LINK_TIMEOUT."""
    return max(0.05, min(LINK_TIMEOUT, deadline - time.monotonic()))


def _warn(
    report: LinkReport, where: _Where, pointer: str, code: str, message: str, hint: str = ""
) -> None:
    report.findings.append(
        Finding(
            severity=Severity.WARNING,
            code=code,
            document=where.document,
            pointer=pointer,
            message=message,
            hint=hint,
        )
    )


def _check_logo(url: str, where: _Where, report: LinkReport, deadline: float) -> None:
    hint = "Serve a PNG or JPEG of at most 1 MiB over HTTPS; 512x512 is suggested."
    try:
        with metered(_timeout(deadline)) as timeout:
            result = fetch(
                url, max_bytes=LOGO_MAX_BYTES, timeout=timeout, accept_content_types=IMAGE_TYPES
            )
    except FetchError as exc:
        code = f"links.logo.{exc.code.removeprefix('outbound.')}"
        _warn(report, where, where.logo, code, f"The logo could not be loaded: {exc.message}", hint)
        return
    if result.status != 200:
        _warn(
            report,
            where,
            where.logo,
            "links.logo.http_status",
            f"The logo URL returned HTTP {result.status}.",
            hint,
        )
        return
    sniffed = sniff_image_type(result.content)
    if sniffed is None:
        _warn(
            report,
            where,
            where.logo,
            "links.logo.unsupported_format",
            "The logo is not a PNG, JPEG, WebP or GIF image (SVG logos are not displayed).",
            hint,
        )
        return
    if sniffed == "image/gif":
        _warn(report, where, where.logo, "links.logo.gif", "The logo is a GIF.", hint)
    report.logo, report.logo_content_type = result.content, sniffed


def _check_page(url: str, where: _Where, report: LinkReport, deadline: float) -> None:
    try:
        with metered(_timeout(deadline)) as timeout:
            result = fetch(url, max_bytes=PAGE_PROBE_BYTES, timeout=timeout)
    except FetchError as exc:
        if exc.code == "outbound.too_large":
            return  # it answered; we only probe
        _warn(
            report,
            where,
            where.legal,
            f"links.legal_info_url.{exc.code.removeprefix('outbound.')}",
            f"The legal information page could not be loaded: {exc.message}",
        )
        return
    if result.status >= 400:
        _warn(
            report,
            where,
            where.legal,
            "links.legal_info_url.http_status",
            f"The legal information page returned HTTP {result.status}.",
        )
