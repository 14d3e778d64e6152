"""The project's one outbound HTTP client: every request to a URL from outside goes here.

    from plugins.outbound import DOCUMENT_CONTENT_TYPES, FetchError, fetch

    result = fetch(url, max_bytes=256 * 1024, accept_content_types=DOCUMENT_CONTENT_TYPES)

Modules: `urls` (URL vetting, `precheck_url`), `addresses` (deny list), `private_destinations`,
`transport` (resolve once, vet, connect to that IP; holds the `resolve` test seam),
`redirects` (hop rules), `decoding` (capped decompression), `client` (`fetch`),
`oauth` (`OAuthSession`: authlib's transport, redirects never followed), `aio` (`async_fetch`:
the same rules, awaited, over a long-lived connection pool; the proxy's hot path).
"""

from plugins.outbound.addresses import is_blocked_address
from plugins.outbound.aio import async_fetch, close_loop_session
from plugins.outbound.client import (
    DEFAULT_MAX_BYTES,
    DOCUMENT_TIMEOUT,
    USER_AGENT,
    FetchResult,
    fetch,
)
from plugins.outbound.content_types import (
    DOCUMENT_CONTENT_TYPES,
    LOGO_CONTENT_TYPES,
    document_media_type,
)
from plugins.outbound.errors import FetchError
from plugins.outbound.oauth import OAuthResponse, OAuthSession
from plugins.outbound.redirects import IDEMPOTENT_METHODS, same_site_redirects_only
from plugins.outbound.urls import CheckedURL, precheck, precheck_url

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DOCUMENT_CONTENT_TYPES",
    "DOCUMENT_TIMEOUT",
    "IDEMPOTENT_METHODS",
    "LOGO_CONTENT_TYPES",
    "USER_AGENT",
    "CheckedURL",
    "FetchError",
    "FetchResult",
    "OAuthResponse",
    "OAuthSession",
    "async_fetch",
    "close_loop_session",
    "document_media_type",
    "fetch",
    "is_blocked_address",
    "precheck",
    "precheck_url",
    "same_site_redirects_only",
]
