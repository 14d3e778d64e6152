"""A requests-like session for authlib's OAuth2Client, sending everything through `fetch`.

Authlib builds token, refresh and revocation requests (bodies, client authentication, PKCE);
this session sends them with the outbound client's guarantees and **never follows a
redirect**: a 307 from a token endpoint would re-post the client secret, the code and the
verifier to wherever it points (SECURITY.md pitfall 5). The 3xx is returned as the response.

    session = OAuthSession(json_body=False)
    client = authlib.oauth2.client.OAuth2Client(session, client_id=…, …)

`json_body=True` sends the form fields authlib prepared as a JSON object instead (for
providers whose manifest says `authorization_content_type: application/json`).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

from plugins.outbound import errors
from plugins.outbound.client import FetchResult, fetch
from plugins.outbound.errors import FetchError

TOKEN_MAX_BYTES = 64 * 1024


def token_timeout() -> float:
    """The total deadline of one token, refresh or revocation request, in seconds."""
    from django.conf import settings

    return float(getattr(settings, "MARKETPLACE_OAUTH_TIMEOUT", 10))


HTTP_STATUS = "outbound.http_status"
NOT_JSON = "outbound.not_json"

# Never forwarded by us; authlib sets Content-Length sometimes, the client sets its own.
_DROPPED_HEADERS = {"content-length", "host"}


class OAuthResponse:
    """The subset of a requests.Response that authlib reads."""

    def __init__(self, result: FetchResult):
        self._result = result
        self.status_code = result.status
        self.headers = result.headers
        self.content = result.content
        self.content_type = result.content_type

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self):
        try:
            return json.loads(self.content)
        except (ValueError, UnicodeDecodeError):
            raise ValueError("the response is not JSON") from None

    def raise_for_status(self) -> None:
        if self.status_code >= 300:
            raise FetchError(
                HTTP_STATUS,
                f"The server answered HTTP {self.status_code}.",
                transient=self.status_code >= 500 or self.status_code == 429,
            )


class OAuthSession:
    def __init__(
        self,
        *,
        json_body: bool = False,
        timeout: float | None = None,
        max_bytes: int = TOKEN_MAX_BYTES,
    ):
        self.json_body = json_body
        self.timeout = timeout if timeout is not None else token_timeout()
        self.max_bytes = max_bytes

    def post(self, url, data=None, headers=None, auth=None, **_ignored) -> OAuthResponse:
        return self.request("POST", url, data=data, headers=headers, auth=auth)

    def request(self, method, url, data=None, headers=None, auth=None, **_ignored):
        body = urlencode(list((data or {}).items())) if method.upper() != "GET" else ""
        sent_headers = {
            k: v for k, v in dict(headers or {}).items() if k.lower() not in _DROPPED_HEADERS
        }
        if auth is not None:
            url, sent_headers, body = auth.prepare(method.upper(), url, sent_headers, body)
        sent_headers = {k: v for k, v in sent_headers.items() if k.lower() not in _DROPPED_HEADERS}
        payload: bytes | None = None
        if method.upper() != "GET":
            if self.json_body:
                payload = json.dumps(dict(parse_qsl(body or "", keep_blank_values=True))).encode()
                _set_header(sent_headers, "Content-Type", "application/json")
            else:
                payload = (body or "").encode("utf-8")
                _set_header(sent_headers, "Content-Type", "application/x-www-form-urlencoded")
        _set_header(sent_headers, "Accept", "application/json")
        result = fetch(
            url,
            method=method,
            headers=sent_headers,
            body=payload,
            max_bytes=self.max_bytes,
            timeout=self.timeout,
            follow_redirects=False,
        )
        return OAuthResponse(result)


def _set_header(headers: dict, name: str, value: str) -> None:
    for existing in [k for k in headers if k.lower() == name.lower()]:
        del headers[existing]
    headers[name] = value


__all__ = ["HTTP_STATUS", "NOT_JSON", "OAuthResponse", "OAuthSession", "errors"]
