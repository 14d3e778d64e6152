"""Media types: parse a Content-Type header and match it against what the caller accepts."""

from __future__ import annotations

import re
from collections.abc import Collection

# The one rule for what may arrive as a JSON or YAML document (a manifest, an OpenAPI document,
# a bundled $ref). Plugin servers send them under many names (text/json, text/yaml, text/plain,
# application/x-yaml, application/octet-stream, none at all): the JSON and YAML families and
# anything textual are read; where the header is vague, `document_media_type` sniffs the body.
DOCUMENT_CONTENT_TYPES = frozenset(
    {
        "application/json",
        "application/*+json",
        "application/x-json",
        "application/yaml",
        "application/x-yaml",
        "application/*+yaml",
        "application/vnd.oai.openapi",
        "application/octet-stream",
        "text/*",
    }
)
# Headers that say nothing about which document format the body is in.
VAGUE_DOCUMENT_TYPES = frozenset(
    {"", "application/octet-stream", "text/plain", "binary/octet-stream"}
)

# SVG is an image but also a script carrier: callers must sanitise it before serving it.
LOGO_CONTENT_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/webp", "image/svg+xml", "image/gif"}
)

# RFC 9110: a response without Content-Type may be treated as application/octet-stream.
DEFAULT_MEDIA_TYPE = "application/octet-stream"

_TOKEN = r"[!#$%&'*+.^_`|~0-9a-z-]+"
_MEDIA_TYPE = re.compile(rf"^{_TOKEN}/{_TOKEN}$")


def media_type(content_type: str | None) -> str:
    """The lower-cased ``type/subtype`` of a Content-Type value, or "" if absent or malformed."""
    if not content_type:
        return ""
    candidate = content_type.split(";", 1)[0].strip().lower()
    return candidate if _MEDIA_TYPE.match(candidate) else ""


def is_acceptable(media: str, patterns: Collection[str]) -> bool:
    """True if `media` matches one of `patterns`.

    A pattern is an exact ``type/subtype``, ``type/*``, ``type/*+suffix`` (structured syntax
    suffix, e.g. ``application/*+json``) or ``*/*``.
    """
    kind, _, subtype = (media or DEFAULT_MEDIA_TYPE).partition("/")
    for pattern in patterns:
        pattern_kind, _, pattern_subtype = pattern.strip().lower().partition("/")
        if pattern_kind not in ("*", kind):
            continue
        if pattern_subtype in ("*", subtype):
            return True
        if pattern_subtype.startswith("*+") and subtype.endswith(pattern_subtype[1:]):
            return True
    return False


def document_media_type(declared: str, content: bytes) -> str:
    """What a document that arrived as `declared` really is: the declared media type when it
    names a format, else the format sniffed from the body: application/json, application/yaml,
    text/html, or application/octet-stream for bytes that aren't text."""
    declared = media_type(declared)
    if declared not in VAGUE_DOCUMENT_TYPES:
        return declared
    return sniff_document(content)


def sniff_document(content: bytes) -> str:
    head = content[:2048]
    if b"\x00" in head:
        return "application/octet-stream"
    try:
        text = head.decode("utf-8", errors="strict").lstrip("\ufeff \t\r\n")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the 2 KiB mark
            return "application/octet-stream"
        text = head[: exc.start].decode("utf-8").lstrip("\ufeff \t\r\n")
    if text[:1] in ("{", "["):
        return "application/json"
    if text[:1] == "<":
        return "text/html"
    return "application/yaml"
