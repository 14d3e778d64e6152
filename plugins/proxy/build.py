"""Building the upstream request from the pinned spec and a tool's bindings, nothing else.

The URL is the validated version's server URL plus the operation's path with each path
parameter percent-encoded (a `/`, `?`, `#` or `..` can't change the path or the host); query
(by its OpenAPI style: plugins.proxy.query), header, cookie and body fields go where their
bindings say. Caller headers are never copied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit

from plugins.proxy.errors import invalid_arguments
from plugins.proxy.query import query_pairs
from plugins.proxy.query import scalar as _scalar
from plugins.tools import Tool
from plugins.tools.canonical import FORM_BODY
from plugins.tools.nested import to_real


@dataclass
class UpstreamRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    # every value sent, by argument, for the allow-list re-check on what actually goes out
    sent: dict[str, object] = field(default_factory=dict)
    # what the request carried that its answer must never give back (credential, assertion)
    secrets: set[str] = field(default_factory=set, repr=False)


def build_request(*, server_url: str, tool: Tool, arguments: dict) -> UpstreamRequest:
    try:
        return _build(server_url, tool, arguments)
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" is valid JSON, not valid UTF-8)
        bad = next((a for a, v in arguments.items() if not _encodable(v)), "")
        raise invalid_arguments("Not valid Unicode text.", f"/{bad}" if bad else "") from None


def _encodable(value: object) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def _build(server_url: str, tool: Tool, arguments: dict) -> UpstreamRequest:
    base = server_url.rstrip("/")
    path = tool.path
    query: list[tuple[str, str]] = []
    headers: dict[str, str] = {}
    cookies: list[str] = []
    body_fields: dict[str, object] = {}
    whole_body: object = None
    has_whole_body = False
    sent: dict[str, object] = {}
    for arg, value in arguments.items():
        binding = tool.bindings.get(arg)
        if binding is None:  # schema validation refuses these first; never guess
            raise invalid_arguments("Unknown argument.", f"/{arg}")
        if value is None and binding.location != "body":
            continue
        value = to_real(value, binding.renames)
        sent[arg] = value
        if binding.location == "path":
            text = _scalar(value)
            if text in ("", ".", "..") or isinstance(value, dict | list):
                raise invalid_arguments("Not a valid path segment.", f"/{arg}")
            path = path.replace("{" + binding.name + "}", quote(text, safe=""))
        elif binding.location == "query":
            query.extend(query_pairs(tool, arg, binding, value))
        elif binding.location == "header":
            text = ",".join(map(_scalar, value)) if isinstance(value, list) else _scalar(value)
            if any(ord(c) < 0x20 or ord(c) > 0xFF or c == "\x7f" for c in text):
                raise invalid_arguments("Not a valid header value.", f"/{arg}")
            headers[binding.name] = text
        elif binding.location == "cookie":
            cookies.append(f"{binding.name}={quote(_scalar(value), safe='')}")
        elif binding.location == "body":
            body_fields[binding.name] = value
        elif binding.location == "body_whole":
            whole_body, has_whole_body = value, True
    if "{" in path:
        raise invalid_arguments("A path parameter is missing.", "")
    url = base + path
    if query:
        url += "?" + urlencode(query)
    _same_origin_or_refuse(base, url)
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    body = None
    if has_whole_body or body_fields or (tool.body_content_type and tool.method != "get"):
        payload = whole_body if has_whole_body else body_fields
        if tool.body_content_type == FORM_BODY:
            body = urlencode([(k, _scalar(v)) for k, v in (payload or {}).items()]).encode()
            headers["Content-Type"] = FORM_BODY
        elif tool.body_content_type:
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
            headers["Content-Type"] = tool.body_content_type
    headers["Accept"] = "application/json, text/plain;q=0.9, */*;q=0.5"
    return UpstreamRequest(
        method=tool.method.upper(), url=url, headers=headers, body=body, sent=sent
    )


def _same_origin_or_refuse(base: str, url: str) -> None:
    a, b = urlsplit(base), urlsplit(url)
    if (a.scheme, a.netloc) != (b.scheme, b.netloc) or not b.path.startswith(a.path):
        raise invalid_arguments("The arguments would change where the request goes.", "")
