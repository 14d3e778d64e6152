"""The link stage: the logo and the legal page must be reachable. Problems are warnings."""

from __future__ import annotations

from plugins.outbound import LOGO_MAX_BYTES, FetchError, fetch
from plugins.validation import Finding, Severity

IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/svg+xml", "image/gif")
PAGE_PROBE_BYTES = 64 * 1024


def _warning(code: str, pointer: str, message: str, hint: str = "") -> Finding:
    return Finding(
        severity=Severity.WARNING,
        code=code,
        document="manifest",
        pointer=pointer,
        message=message,
        hint=hint,
    )


def check_links(plugin: dict) -> list[Finding]:
    findings: list[Finding] = []
    dialect_pointer = "/x-openplugin" if plugin.get("dialect") == "openplugin" else ""
    logo = plugin.get("logo_url") or ""
    if logo:
        findings += _check_logo(logo, f"{dialect_pointer}/logo_url")
    legal = plugin.get("legal_info_url") or ""
    if legal:
        findings += _check_page(legal, f"{dialect_pointer}/legal_info_url")
    return findings


def _check_logo(url: str, pointer: str) -> list[Finding]:
    try:
        result = fetch(url, max_bytes=LOGO_MAX_BYTES, accept_content_types=IMAGE_TYPES)
    except FetchError as exc:
        return [
            _warning(
                f"links.logo.{exc.code.removeprefix('outbound.')}",
                pointer,
                f"The logo could not be loaded: {exc.message}",
                "Serve a PNG or JPEG of at most 1 MiB over HTTPS.",
            )
        ]
    if result.status != 200:
        return [
            _warning(
                "links.logo.http_status", pointer, f"The logo URL returned HTTP {result.status}."
            )
        ]
    if result.content_type == "image/gif":
        return [
            _warning(
                "links.logo.gif",
                pointer,
                "The logo is a GIF.",
                "Use PNG or JPEG; 512x512 is suggested.",
            )
        ]
    return []


def _check_page(url: str, pointer: str) -> list[Finding]:
    try:
        result = fetch(url, max_bytes=PAGE_PROBE_BYTES)
    except FetchError as exc:
        if exc.code == "outbound.too_large":
            return []  # it answered; we only probe
        return [
            _warning(
                f"links.legal_info_url.{exc.code.removeprefix('outbound.')}",
                pointer,
                f"The legal information page could not be loaded: {exc.message}",
            )
        ]
    if result.status >= 400:
        return [
            _warning(
                "links.legal_info_url.http_status",
                pointer,
                f"The legal information page returned HTTP {result.status}.",
            )
        ]
    return []
