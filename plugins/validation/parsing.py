"""Parse untrusted plugin documents (manifests, OpenAPI specs) into plain JSON data.

Contract of :func:`parse_document`:

* It returns only ``dict``/``list``/``str``/``int``/``float``/``bool``/``None`` with string keys,
  fit for a PostgreSQL ``JSONField``: no NaN or infinities, no dates or bytes. NUL characters and
  unpaired surrogates, which PostgreSQL refuses, are replaced by U+FFFD (an approved store spec has
  ``"\\u0000Geth/..."`` in an example). With ``expect_mapping`` (the default) it is a ``dict``.
* For any input bytes it either returns or raises :class:`DocumentError` with a stable ``code``;
  no other exception escapes (``TypeError`` only for a non-bytes argument).
* Work is bounded by the input: size is checked first, JSON nesting is measured by a linear
  pre-scan before ``json.loads``, and YAML is composed by a loader that bounds nesting and counts
  the size of the document *after* alias expansion before constructing anything. That one count
  refuses both the billion-laughs alias bomb and the merge-key (``<<``) bomb.
* Error messages quote at most a short ``repr()``-escaped excerpt of the input. They are not
  HTML-escaped: render them through an autoescaping template.

Format choice: text whose first non-blank character is ``{`` or ``[`` is parsed as JSON; if that
fails it is tried as YAML (flow-style YAML and JSON with trailing commas are common), and if YAML
fails too the JSON error is reported. Everything else is YAML. The Content-Type header is only used
to recognise HTML: servers label specs text/plain, octet-stream or even text/html, and some
".json" files are YAML, so the bytes decide.

YAML is resolved with the YAML 1.2 core schema (what OpenAPI 3.x asks for and what js-yaml uses),
not PyYAML's YAML 1.1 default: ``NO``/``yes``/``off`` stay strings, ``2024-01-01`` stays a string,
``0123`` is 123 and ``12:30`` is a string. Merge keys (``<<``) are still honoured, within the bound.
Numbers are kept as numbers (``openapi: 3.1`` is the float 3.1); normalising is the caller's job.
Non-string mapping keys (``200:``) become their source text (``"200"``); duplicate keys: last wins.
"""

from __future__ import annotations

import base64
import codecs
import json
import math
import operator
import re
from itertools import accumulate, repeat
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

MANIFEST_MAX_BYTES = 256 * 1024
SPEC_MAX_BYTES = 5 * 1024 * 1024
MAX_NESTING = 200  # containers deep
# Nodes after alias expansion. Corpus YAML specs average ~17 bytes per node and the densest has
# ~7, so even a dense 5 MB spec stays near 750k. PyYAML spends ~4-5 us per node (libyaml events,
# Python composer and constructor), so this also caps one document at ~5 s of CPU: parse big
# YAML in a task, not in a request. A document without aliases over this is "too_large".
MAX_YAML_NODES = 1_000_000
# Characters of scalar text after alias expansion. Without aliases this is at most the input size;
# it stops a few large anchored strings repeated by aliases from becoming gigabytes of JSON.
MAX_YAML_EXPANDED_CHARS = 4 * SPEC_MAX_BYTES

_EXCERPT_CHARS = 60
_HTML_HINT = "the server returned an HTML page, probably an error or login page"
_HTML_START = re.compile(r"<(?:!doctype\s+html|html|head|body)[\s>/]", re.IGNORECASE)
_HTML_ANYWHERE = re.compile(r"<(?:!doctype\s+html|html|head|body|title)[\s>/]", re.IGNORECASE)
_HTML_CONTENT_TYPES = ("text/html", "application/xhtml+xml")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# A JSON string literal (unrolled loop: linear, no backtracking) and everything but brackets.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEPS = bytes.maketrans(b"[]{}", b"\x02\x00\x02\x00")
# Escapes that can produce text PostgreSQL will not store (NUL, lone surrogates); JSON and YAML.
_RISKY_ESCAPE = re.compile(r"\\(?:u0000|u[dD][89a-fA-F]|0|x00|U00000000|U0000[dD][89a-fA-F])")
_UNSTORABLE_CHAR = re.compile(r"[\x00\ud800-\udfff]")


class DocumentError(Exception):
    """A document was refused. ``code`` is stable; ``message`` and ``hint`` are safe to show."""

    def __init__(self, code: str, message: str, *, hint: str = "", line: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.line = line

    def __repr__(self) -> str:
        return f"DocumentError({self.code!r}, {self.message!r}, line={self.line!r})"


def parse_document(
    data: bytes,
    *,
    max_bytes: int = SPEC_MAX_BYTES,
    content_type: str | None = None,
    expect_mapping: bool = True,
) -> Any:
    """Parse a JSON or YAML document from untrusted bytes; see the module docstring."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"parse_document() needs bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise DocumentError(
            "document.too_large",
            f"The document is {len(data):,} bytes; the limit is {max_bytes:,}.",
            hint="split the document or remove unused parts",
        )
    text = _decode(data)
    start = text.lstrip()
    if not start:
        raise DocumentError("document.empty", "The document is empty.")
    if _looks_like_html(start, content_type):
        raise DocumentError(
            "document.html", f"Expected JSON or YAML, got HTML: {_excerpt(start)}", hint=_HTML_HINT
        )
    result = _parse_json(text) if start[0] in "{[" else _parse_yaml(text)
    if expect_mapping and not isinstance(result, dict):
        raise DocumentError(
            "document.not_a_mapping",
            f"Expected an object (a mapping) at the top level, got {_kind(result)}"
            + (f": {_excerpt(result)}" if isinstance(result, str) else "."),
            hint="the URL may point at something other than the document",
        )
    return result


def _decode(data: bytes) -> str:
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1 if encoding == "utf-8" else None
        raise DocumentError(
            "document.not_utf8",
            f"The document is not valid {encoding.upper().removesuffix('-SIG')} text "
            f"(bad byte at offset {exc.start:,}).",
            hint="save the file as UTF-8",
            line=line,
        ) from None
    if "\x00" in text:
        raise DocumentError(
            "document.not_utf8",
            "The document contains NUL bytes; it may be UTF-16 without a byte-order mark.",
            hint="save the file as UTF-8",
        )
    return text


def _looks_like_html(start: str, content_type: str | None) -> bool:
    if _HTML_START.match(start):
        return True
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type in _HTML_CONTENT_TYPES and start.startswith("<"):
        return True
    return start.startswith("<!--") and _HTML_ANYWHERE.search(start, 0, 2048) is not None


# --- JSON -------------------------------------------------------------------------------------


def _parse_json(text: str) -> Any:
    depth = _json_depth(text)
    if depth > MAX_NESTING:
        raise _too_deep(None)
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        return _json_fallback_to_yaml(text, exc)
    except RecursionError:  # unreachable after the pre-scan; kept so it can never escape
        raise _too_deep(None) from None
    except ValueError as exc:  # int() digit limit
        raise DocumentError(
            "document.invalid_json", f"Invalid JSON: {_clip(str(exc))}", hint=_json_hint()
        ) from None
    return _storable(value) if _RISKY_ESCAPE.search(text) else value


def _json_depth(text: str) -> int:
    """Deepest bracket nesting outside string literals, in linear time without recursion."""
    skeleton = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    steps = skeleton.encode("ascii").translate(_BRACKET_STEPS)  # open -> 2, close -> 0
    return max(accumulate(map(operator.sub, steps, repeat(1))), default=0)


def _json_fallback_to_yaml(text: str, json_error: json.JSONDecodeError) -> Any:
    try:
        return _parse_yaml(text)
    except DocumentError as yaml_error:
        if yaml_error.code != "document.invalid_yaml":
            raise
    raise DocumentError(
        "document.invalid_json",
        f"Invalid JSON: {json_error.msg} (line {json_error.lineno}, column {json_error.colno}).",
        hint=_json_hint(),
        line=json_error.lineno,
    ) from None


def _refuse_constant(name: str) -> Any:
    raise DocumentError(
        "document.invalid_json", f"Invalid JSON: {name} is not a JSON number.", hint=_json_hint()
    )


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise DocumentError(
            "document.invalid_json",
            f"Invalid JSON: the number {_excerpt(literal)} is out of range.",
            hint=_json_hint(),
        )
    return value


def _json_hint() -> str:
    return "check the document with a JSON linter"


# --- YAML -------------------------------------------------------------------------------------


class _CoreSchemaResolver(BaseResolver):
    """YAML 1.2 core schema implicit types, plus merge keys."""

    yaml_implicit_resolvers: dict = {}


for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("merge", r"^<<$", "<"),
):
    _CoreSchemaResolver.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first)
    )


class _BoundedComposer(Composer):
    """Composes the node graph while bounding depth and the size after alias expansion.

    Every finished node gets ``_expanded = (nodes, chars)``: its node count and scalar characters
    as if each alias were a copy. A running total of the same measure for the whole document is
    checked as each node arrives, so a bomb (or a huge flat list) is refused early, before any
    construction. Aliased nodes are shared, so this is linear in the input. An alias to a node
    that is not finished yet is a cycle (``&a [*a]``).
    """

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._nodes = 0
        self._chars = 0
        self._saw_alias = False

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)
            if not hasattr(node, "_expanded"):
                raise DocumentError(
                    "document.yaml_bomb",
                    f"The YAML alias *{_clip(event.anchor, 40)} refers to itself.",
                    hint="remove recursive anchors",
                    line=event.start_mark.line + 1,
                )
            self._saw_alias = True
            self._count(*node._expanded, event)
            return node
        container = isinstance(event, SequenceStartEvent | MappingStartEvent)
        if container:
            self._depth += 1
            if self._depth > MAX_NESTING:
                raise _too_deep(event.start_mark.line + 1)
            self._count(1, 0, event)
        node = super().compose_node(parent, index)
        if container:
            self._depth -= 1
            node._expanded = _expanded_size(node)
        else:
            node._expanded = (1, len(node.value))
            self._count(*node._expanded, event)
        return node

    def _count(self, nodes: int, chars: int, event: Any) -> None:
        self._nodes += nodes
        self._chars += chars
        if self._nodes <= MAX_YAML_NODES and self._chars <= MAX_YAML_EXPANDED_CHARS:
            return
        line = event.start_mark.line + 1
        if not self._saw_alias:
            raise DocumentError(
                "document.too_large",
                f"The document has more than {MAX_YAML_NODES:,} elements.",
                hint="split the document or remove unused parts",
                line=line,
            )
        raise DocumentError(
            "document.yaml_bomb",
            f"The YAML aliases and merge keys expand to more than {MAX_YAML_NODES:,} "
            f"elements or {MAX_YAML_EXPANDED_CHARS:,} characters.",
            hint="write the document without deeply repeated anchors",
            line=line,
        )


def _expanded_size(node: Any) -> tuple[int, int]:
    children = node.value if isinstance(node, SequenceNode) else [c for p in node.value for c in p]
    nodes, chars = 1, 0
    for child in children:
        child_nodes, child_chars = child._expanded
        nodes += child_nodes
        chars += child_chars
    return nodes, chars


class _JSONConstructor(SafeConstructor):
    """SafeConstructor that only produces JSON-compatible values (see module docstring)."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, DocumentError, RecursionError):
            raise
        except Exception:  # an explicit tag on a value it cannot take (!!bool maybe), a huge int
            raise ConstructorError(
                None,
                None,
                f"cannot read this value as {node.tag.rsplit(':', 1)[-1]}",
                node.start_mark,
            ) from None

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        if not isinstance(node, MappingNode):
            raise ConstructorError(
                None, None, f"expected a mapping node, but found {node.id}", node.start_mark
            )
        self.flatten_mapping(node)
        mapping = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found a mapping key that is not a scalar",
                    key_node.start_mark,
                )
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                key = key_node.value
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_core_int(self, node: Any) -> int:
        text = self.construct_scalar(node)
        if text.startswith(("0x", "0o")):
            return int(text[2:], 16 if text[1] == "x" else 8)
        return int(text, 10)

    def construct_finite_float(self, node: Any) -> float | str:
        value = self.construct_yaml_float(node)
        return value if math.isfinite(value) else node.value

    def construct_timestamp_text(self, node: Any) -> str:
        return self.construct_yaml_timestamp(node).isoformat()

    def construct_binary_text(self, node: Any) -> str:
        return base64.b64encode(self.construct_yaml_binary(node)).decode("ascii")

    def construct_set_list(self, node: Any) -> list:
        return list(self.construct_mapping(node))

    def construct_pairs_list(self, node: Any) -> list:
        """``!!omap``/``!!pairs``: a sequence of one-pair mappings, as ``[[key, value], ...]``."""
        if not isinstance(node, SequenceNode):
            raise ConstructorError(
                None, None, f"expected a sequence, but found {node.id}", node.start_mark
            )
        pairs = []
        for item in node.value:
            if not isinstance(item, MappingNode) or len(item.value) != 1:
                raise ConstructorError(
                    None, None, "expected a mapping with one key", item.start_mark
                )
            pairs.extend([key, value] for key, value in self.construct_mapping(item).items())
        return pairs


for _tag, _constructor in (
    ("int", _JSONConstructor.construct_core_int),
    ("float", _JSONConstructor.construct_finite_float),
    ("timestamp", _JSONConstructor.construct_timestamp_text),
    ("binary", _JSONConstructor.construct_binary_text),
    ("set", _JSONConstructor.construct_set_list),
    ("pairs", _JSONConstructor.construct_pairs_list),
    ("omap", _JSONConstructor.construct_pairs_list),
):
    _JSONConstructor.add_constructor(f"tag:yaml.org,2002:{_tag}", _constructor)

if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser

    class _Loader(_BoundedComposer, CParser, _JSONConstructor, _CoreSchemaResolver):
        """libyaml parses; our composer (listed first, so its methods win) builds nodes."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _BoundedComposer.__init__(self)
            _JSONConstructor.__init__(self)
            _CoreSchemaResolver.__init__(self)

    class _PlainLoader(CParser, _JSONConstructor, _CoreSchemaResolver):
        """libyaml parses and composes (in C, several times faster than _BoundedComposer); our
        resolver and constructor as in _Loader. Only for `_parse_plain_yaml`, which takes its
        result only when the node tree proves it needed no bound."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _JSONConstructor.__init__(self)
            _CoreSchemaResolver.__init__(self)

else:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Loader(Reader, Scanner, Parser, _BoundedComposer, _JSONConstructor, _CoreSchemaResolver):
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            _BoundedComposer.__init__(self)
            _JSONConstructor.__init__(self)
            _CoreSchemaResolver.__init__(self)

    _PlainLoader = None


_NOT_PLAIN = object()


def _parse_yaml(text: str) -> Any:
    value = _parse_plain_yaml(text)
    return _parse_bounded_yaml(text) if value is _NOT_PLAIN else value


def _parse_plain_yaml(text: str) -> Any:
    """The fast path for the common document: composed by libyaml, then taken only if its node
    tree has no alias (no node reached twice, so nothing to expand), is at most MAX_NESTING deep
    and within MAX_YAML_NODES / MAX_YAML_EXPANDED_CHARS, counted as _BoundedComposer counts.

    Anything else, including every error, gives _NOT_PLAIN and the bounded path parses the text
    again: its result or error is the answer, so both paths always agree. A bomb costs libyaml's
    composition of the shared nodes (linear in the input) before the bounded path refuses it.
    """
    if _PlainLoader is None:  # pragma: no cover - PyYAML built without libyaml
        return _NOT_PLAIN
    loader = _PlainLoader(text)
    try:
        node = loader.get_single_node()
        if node is None or not _within_bounds_without_aliases(node):
            return _NOT_PLAIN
        value = loader.construct_document(node)
    except Exception:  # RecursionError included: the bounded path reports it as it does
        return _NOT_PLAIN
    finally:
        loader.dispose()
    return _storable(value) if _RISKY_ESCAPE.search(text) else value


def _within_bounds_without_aliases(root: Any) -> bool:
    seen: set[int] = set()
    nodes = chars = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            return False  # an alias (or a cycle)
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            nodes += 1
            chars += len(node.value)
        else:
            if depth > MAX_NESTING:
                return False
            nodes += 1
            children = (
                node.value
                if isinstance(node, SequenceNode)
                else [child for pair in node.value for child in pair]
            )
            stack.extend((child, depth + 1) for child in reversed(children))
        if nodes > MAX_YAML_NODES or chars > MAX_YAML_EXPANDED_CHARS:
            return False
    return True


def _parse_bounded_yaml(text: str) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise DocumentError("document.empty", "The document has no content (only comments).")
        value = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "maximum nesting depth" in (exc.problem or ""):  # libyaml's own flow-level limit
            raise _too_deep(mark.line + 1 if mark else None) from None
        raise DocumentError(
            "document.invalid_yaml",
            f"Invalid YAML: {_clip(' '.join(filter(None, (exc.context, exc.problem))))}"
            + (f" (line {mark.line + 1}, column {mark.column + 1})." if mark else "."),
            hint="check the document with a YAML linter",
            line=mark.line + 1 if mark else None,
        ) from None
    except DocumentError:
        raise
    except RecursionError:  # depth is bounded while composing; kept so it can never escape
        raise _too_deep(None) from None
    except yaml.YAMLError as exc:  # reader errors (control characters)
        raise DocumentError(
            "document.invalid_yaml",
            f"Invalid YAML: {_clip(str(exc))}",
            hint="check the document with a YAML linter",
        ) from None
    except Exception as exc:  # construct_object converts these; kept so none can escape
        raise DocumentError(
            "document.invalid_yaml", f"Invalid YAML: unreadable value ({type(exc).__name__})."
        ) from None
    finally:
        loader.dispose()
    return _storable(value) if _RISKY_ESCAPE.search(text) else value


# --- shared helpers ---------------------------------------------------------------------------


def _storable(value: Any) -> Any:
    """Replace NUL characters and unpaired surrogates, which PostgreSQL JSON cannot store.

    Recursion is safe: nesting is at most MAX_NESTING by now.
    """
    if isinstance(value, str):
        return _UNSTORABLE_CHAR.sub("\ufffd", value)
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


def _too_deep(line: int | None) -> DocumentError:
    return DocumentError(
        "document.too_deep",
        f"The document is nested more than {MAX_NESTING} levels deep.",
        hint="flatten the document",
        line=line,
    )


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {list: "a list", str: "a string"}.get(type(value), "nothing (null)")


def _clip(text: str, limit: int = 200) -> str:
    """Collapse whitespace, escape what is not printable, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _excerpt(text: str) -> str:
    """A short, repr()-escaped excerpt of untrusted text (quotes, control and bidi characters)."""
    head = " ".join(text[: _EXCERPT_CHARS * 2].split())
    clipped = head[:_EXCERPT_CHARS]
    return repr(clipped) + ("…" if len(text) > len(clipped) else "")
