"""The API's JSON body parser: DRF's, with a nesting bound and no RecursionError escaping.

A body nested deeper than settings.MARKETPLACE_MAX_JSON_DEPTH is refused with 400 (DRF's
ParseError, rendered as the uniform error), as is one so deep that the decoder itself gives up.
"""

from __future__ import annotations

import codecs
import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise _too_deep() from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {str(exc)[:200]}") from None
        if _depth(data) > settings.MARKETPLACE_MAX_JSON_DEPTH:
            raise _too_deep()
        return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _too_deep() -> ParseError:
    return ParseError(
        f"JSON is nested more than {settings.MARKETPLACE_MAX_JSON_DEPTH} levels deep."
    )


def _depth(value) -> int:
    """Nesting depth of decoded JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest
