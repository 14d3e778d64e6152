"""What a plugin shows to people: its name, description and links, from a validated version.

The catalogue (storefront, search, the API for other organizations) shows the *published*
version, copied onto the plugin when an operator approves it (`listing_fields`); the publisher
sees its latest validated version. A link is shown only when it is a vetted http(s) URL (the
outbound client's own rules): a URL the validator refused, such as `javascript:…`, is never
returned or rendered, it becomes nothing.
"""

from __future__ import annotations

from plugins.outbound import FetchError, precheck_url


def vetted_link(url: object) -> str:
    """`url` normalised if it is an http(s) URL the outbound client would accept, else ''."""
    if not isinstance(url, str) or not url.strip():
        return ""
    try:
        return precheck_url(url.strip())[:500]
    except FetchError:
        return ""


def listing_fields(*, normalized: dict | None, fallback_name: str) -> dict[str, str]:
    """The catalogue's fields of a plugin, from its published version's normalised form."""
    normalized = normalized or {}
    name = normalized.get("name_for_human")
    description = normalized.get("description_for_human")
    return {
        "listed_name": (name if isinstance(name, str) and name.strip() else fallback_name)[:100],
        "listed_description": (description if isinstance(description, str) else "")[:1000],
        "listed_logo_url": vetted_link(normalized.get("logo_url")),
    }
