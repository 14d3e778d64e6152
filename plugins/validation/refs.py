"""JSON pointers, `$ref` classification, and bounded dereferencing.

Nothing here fetches anything. A `$ref` is either local (`#/...`), or names another document:
a file (or a relative path with no http(s) base to resolve it against), a remote URL on the
plugin's root domain (the fetch stage may bundle it: `PluginInput.bundled_refs`), a remote URL
off the root domain, or some other scheme. Only local refs and bundled documents are followed.

`Dereferencer.expand` inlines refs within a budget: a maximum output depth, a maximum number of
output nodes (per Dereferencer, so per plugin), and cycle detection (a ref already being
expanded on the current branch becomes a `{"$recursive": ref}` marker). Recursive schemas are
legal OpenAPI; exponential ref trees (SECURITY.md pitfall 2) hit the node budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from plugins.validation.domains import host_of, on_root_domain, resolve_url

MAX_DEPTH = 40
MAX_NODES = 250_000


def escape_token(token: object) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*parts: object) -> str:
    return "".join("/" + escape_token(p) for p in parts)


def join_pointer(base: str, *parts: object) -> str:
    return base + pointer(*parts)


def parse_pointer(value: str) -> list[str]:
    if value == "":
        return []
    if not value.startswith("/"):
        raise LookupError("not a JSON pointer")
    return [t.replace("~1", "/").replace("~0", "~") for t in value[1:].split("/")]


def resolve_pointer(doc: Any, value: str) -> Any:
    """The node `value` points at in `doc`; LookupError when there is none."""
    node = doc
    for token in parse_pointer(value):
        if isinstance(node, dict):
            if token not in node:
                raise LookupError(token)
            node = node[token]
        elif isinstance(node, list):
            if not token.isdigit() or int(token) >= len(node):
                raise LookupError(token)
            node = node[int(token)]
        else:
            raise LookupError(token)
    return node


def iter_refs(node: Any, base: str = "", max_depth: int = 200) -> Iterator[tuple[str, dict]]:
    """(pointer, node) for every mapping holding a string `$ref`, iteratively, document order."""
    stack: list[tuple[str, Any, int]] = [(base, node, 0)]
    while stack:
        where, current, depth = stack.pop()
        if depth > max_depth:
            continue
        if isinstance(current, dict):
            if isinstance(current.get("$ref"), str):
                yield where, current
            children = [(where + "/" + escape_token(k), v) for k, v in current.items()]
        elif isinstance(current, list):
            children = [(f"{where}/{i}", v) for i, v in enumerate(current)]
        else:
            continue
        stack.extend((p, v, depth + 1) for p, v in reversed(children))


class RefKind(StrEnum):
    LOCAL = "local"  # "#/..."
    LOCAL_OTHER = "local_other"  # "#", "#anchor": not a pointer we follow
    FILE = "file"  # file: URL, or a relative path with nothing to resolve it against
    REMOTE_SAME_ROOT = "remote_same_root"
    REMOTE_OFF_DOMAIN = "remote_off_domain"
    REMOTE_UNKNOWN_ROOT = "remote_unknown_root"  # remote, but the plugin's root domain is unknown
    UNSUPPORTED = "unsupported"  # another scheme (data:, ftp:, urn:, ...) or unparsable


@dataclass(frozen=True)
class RefTarget:
    kind: RefKind
    url: str | None  # the document's absolute URL without fragment (remote kinds only)
    fragment: str  # the JSON pointer inside that document (percent-decoded)


def classify_ref(ref: str, *, base_url: str | None, root: str | None) -> RefTarget:
    ref = ref.strip()
    if ref.startswith("#"):
        fragment = unquote(ref[1:])
        kind = RefKind.LOCAL if fragment.startswith("/") else RefKind.LOCAL_OTHER
        return RefTarget(kind, None, fragment)
    try:
        parts = urlsplit(ref)
    except ValueError:
        return RefTarget(RefKind.UNSUPPORTED, None, "")
    fragment = unquote(parts.fragment)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return RefTarget(RefKind.FILE, None, fragment)
    if scheme and scheme not in ("http", "https"):
        # One-letter "schemes" are Windows drive letters: C:\... is a file.
        kind = RefKind.FILE if len(scheme) == 1 else RefKind.UNSUPPORTED
        return RefTarget(kind, None, fragment)
    absolute = resolve_url(base_url, ref) if not scheme else ref
    if absolute is None:
        kind = RefKind.UNSUPPORTED if scheme else RefKind.FILE
        return RefTarget(kind, None, fragment)
    url = urlunsplit(urlsplit(absolute)._replace(fragment=""))
    host = host_of(url)
    if host is None:
        return RefTarget(RefKind.UNSUPPORTED, None, fragment)
    if root is None:
        return RefTarget(RefKind.REMOTE_UNKNOWN_ROOT, url, fragment)
    kind = RefKind.REMOTE_SAME_ROOT if on_root_domain(host, root) else RefKind.REMOTE_OFF_DOMAIN
    return RefTarget(kind, url, fragment)


# Marks a schema that stands for a `$ref` that could not be followed (any value would pass it).
UNRESOLVED_KEY = "x-unresolved-ref"

# (url or None for the main document) -> the parsed document, or None when not available.
DocumentLoader = Callable[[str], Any]


class Dereferencer:
    """Inline `$ref`s of one plugin's documents within a shared budget.

    `problems` collects (ref, base_url, reason) for refs that could not be followed; callers that
    already reported a ref's problem (the ref repairs) see the same refs skipped here.
    """

    def __init__(
        self,
        main: Any,
        *,
        main_url: str | None = None,
        root: str | None = None,
        load: DocumentLoader | None = None,
        max_depth: int = MAX_DEPTH,
        max_nodes: int = MAX_NODES,
    ) -> None:
        self.main = main
        self.main_url = main_url
        self.root = root
        self.load = load
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.nodes = 0
        self.truncated: set[str] = set()  # "depth" and/or "nodes"
        self.problems: list[tuple[str, RefTarget]] = []
        self.missing_remote: set[str] = set()

    def expand(self, node: Any, base: str | None = None) -> Any:
        """`node` (from the document at `base`; None = the main one) with every ref inlined."""
        return self._expand(node, base, 0, ())

    def _locate(self, ref: str, base: str | None) -> tuple[str | None, Any] | None:
        """(document key, target node) for a ref, or None (recorded in `problems`)."""
        if ref.startswith("#/") or ref.startswith("#%2F"):
            doc = self.main if base is None else self._load(base)
            target = RefTarget(RefKind.LOCAL, None, unquote(ref[1:]))
            key = base
        else:
            target = classify_ref(ref, base_url=base or self.main_url, root=self.root)
            if target.kind is not RefKind.REMOTE_SAME_ROOT or target.url is None:
                self.problems.append((ref, target))
                return None
            doc = self._load(target.url)
            if doc is None:
                self.missing_remote.add(target.url)
                self.problems.append((ref, target))
                return None
            key = target.url
        try:
            return key, resolve_pointer(doc, target.fragment)
        except LookupError:
            self.problems.append((ref, RefTarget(RefKind.LOCAL_OTHER, target.url, target.fragment)))
            return None

    def _load(self, url: str) -> Any:
        return self.load(url) if self.load is not None else None

    def _expand(self, node: Any, base: str | None, depth: int, stack: tuple[str, ...]) -> Any:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            self.truncated.add("nodes")
            return {"$truncated": "nodes"}
        if depth > self.max_depth:
            self.truncated.add("depth")
            return {"$truncated": "depth"}
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                return self._expand_ref(node, ref, base, depth, stack)
            return {str(k): self._expand(v, base, depth + 1, stack) for k, v in node.items()}
        if isinstance(node, list):
            return [self._expand(v, base, depth + 1, stack) for v in node]
        return node

    def _expand_ref(
        self, node: dict, ref: str, base: str | None, depth: int, stack: tuple[str, ...]
    ) -> Any:
        located = self._locate(ref, base)
        if located is None:
            resolved: Any = {UNRESOLVED_KEY: ref[:500]}
        else:
            key, target = located
            marker = f"{key or ''}#{ref.split('#', 1)[1] if '#' in ref else ''}"
            if marker in stack:
                return {"$recursive": ref}
            resolved = self._expand(target, key, depth + 1, (*stack, marker))
        siblings = [(k, v) for k, v in node.items() if k != "$ref"]
        if not siblings or not isinstance(resolved, dict) or "$truncated" in resolved:
            return resolved
        merged = dict(resolved)
        for k, v in siblings:
            merged[str(k)] = self._expand(v, base, depth + 1, stack)
        return merged
