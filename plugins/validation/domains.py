"""Host and domain helpers for the domain rules (docs/plugin-formats.md §3).

From the OpenAI production notes:

- root domain: the manifest's host minus a leading "www.";
- "on the root domain": the same host or a subdomain of it;
- registrable domain ("SLD"): the last two labels, or three under a known two-level public suffix
  (co.uk, com.au, ...). Limitation: this is a short built-in list, not the Public Suffix List, so
  hosts under private suffixes (repl.co, pages.dev, ...) compare by their platform's domain. It only
  feeds warnings.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urljoin, urlsplit

# Second-level labels that act as public suffixes under many country TLDs ("co.uk", "com.br").
_GENERIC_SECOND_LEVEL = frozenset(
    {
        "ac",
        "co",
        "com",
        "edu",
        "gov",
        "net",
        "org",
        "ne",
        "or",
        "go",
        "gob",
        "nic",
        "mil",
        "ltd",
        "plc",
        "sch",
        "nhs",
        "police",
        "info",
        "biz",
        "asn",
        "id",
        "gen",
        "web",
        "res",
        "nom",
    }
)


def host_of(url: str | None) -> str | None:
    """Lower-case host of an absolute http(s) URL; None for anything else (or unparsable)."""
    if not isinstance(url, str) or "\\" in url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return host.rstrip(".").lower()


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str | None) -> str | None:
    """A plugin's origin (scheme, host and port) as one string, or None for a non-http(s) URL.

    Origins differ whenever any of the three do, so `localhost:3333` is never the plugin of
    `localhost:8001`. The usual case, https on port 443, is written as the bare host
    ("api.example.com"); any other is written in full ("http://localhost:8001",
    "https://api.example.com:8443").
    """
    host = host_of(url)
    if host is None:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    port = port or _DEFAULT_PORTS[scheme]
    if scheme == "https" and port == 443:
        return host
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def normalize_host(host: str | None) -> str | None:
    """A bare host ("www.klarna.com", "www.klarna.com:443", or a URL) as a lower-case host."""
    if not host or not isinstance(host, str):
        return None
    host = host.strip()
    if "://" in host:
        return host_of(host)
    host = host.split("/", 1)[0].rsplit("@", 1)[-1]
    if host.startswith("["):
        return host.split("]", 1)[0].strip("[").lower() or None
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".").lower() or None


def root_domain(host: str | None) -> str | None:
    host = normalize_host(host)
    if host is None:
        return None
    return host[4:] if host.startswith("www.") and host.count(".") >= 2 else host


def on_root_domain(host: str | None, root: str | None) -> bool:
    if not host or not root:
        return False
    host = host.rstrip(".").lower()
    return host == root or host.endswith("." + root)


def registrable_domain(host: str | None) -> str | None:
    host = normalize_host(host)
    if host is None:
        return None
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    labels = [label for label in host.split(".") if label]
    if len(labels) <= 2:
        return ".".join(labels)
    if len(labels[-1]) == 2 and labels[-2] in _GENERIC_SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def same_registrable_domain(a: str | None, b: str | None) -> bool:
    ra, rb = registrable_domain(a), registrable_domain(b)
    return ra is not None and ra == rb


def email_domain(email: str | None) -> str | None:
    if not isinstance(email, str) or email.count("@") != 1:
        return None
    local, domain = email.strip().split("@")
    if not local or not domain or "." not in domain or any(c.isspace() for c in domain):
        return None
    return domain.lower()


def is_absolute_http_url(url: object) -> bool:
    return isinstance(url, str) and host_of(url) is not None


def resolve_url(base: str | None, ref: str) -> str | None:
    """`ref` made absolute against `base` (an absolute http(s) URL); None when it can't be."""
    if is_absolute_http_url(ref):
        return ref
    if not is_absolute_http_url(base) or "\\" in ref:
        return None
    try:
        joined = urljoin(base, ref)
    except ValueError:
        return None
    return joined if is_absolute_http_url(joined) else None


def is_local_host(host: str | None) -> bool:
    if not host:
        return False
    if host in ("localhost", "0.0.0.0") or host.endswith(".localhost"):  # noqa: S104
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
