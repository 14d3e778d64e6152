"""Media types: parse a Content-Type header and match it against what the caller accepts."""

from __future__ import annotations

import re
from collections.abc import Collection

# Plugin servers often send JSON or YAML as text/plain or application/octet-stream: documents
# accept those and leave HTML detection to the parser.
DOCUMENT_CONTENT_TYPES = frozenset(
    {
        "application/json",
        "application/*+json",
        "application/yaml",
        "application/x-yaml",
        "application/*+yaml",
        "application/octet-stream",
        "text/*",
    }
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
