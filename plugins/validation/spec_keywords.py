"""A proof that openapi-spec-validator's keyword checks have nothing to report, on plain dicts.

The library's own checks (after the meta-schema: duplicate tags and operationIds, duplicate
and unresolved path parameters, each schema object against its dialect's meta-schema, allOf's
`required` against the properties it defines, `default` values against their schema) walk the
document through jsonschema-path, which resolves every step again: most of a strict
validation's time. `keywords_hold` walks the same nodes in the same way over the plain
document, with `#/` references followed by hand, and calls the library's own meta-schema
check and `default` validator for the schemas it reaches. It answers True only when it is
sure the library would yield nothing and raise nothing; at the first error, or anything it
doesn't follow exactly (another kind of reference, an odd type, a dialect, OAS 3.2's tag
tree or additional operations), it answers False and the library decides, so the findings
are always the library's (tests/validation/corpus_findings.tsv holds the whole corpus to it).
"""

from __future__ import annotations

import string
from typing import Any

_OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_MAX_HOPS = 64


class _Unsure(Exception):
    """Something the library would report, or that this walk doesn't mirror exactly."""


def keywords_hold(validator: Any) -> bool:
    """True only if `validator.root_validator(validator.schema_path)` would yield nothing."""
    try:
        _Walk(validator).root()
    except _Unsure:
        return False
    except (RecursionError, TypeError, ValueError, KeyError, IndexError, AttributeError):
        return False
    return True


class _Walk:
    def __init__(self, validator: Any):
        self.validator = validator
        self.document = validator.schema
        self.version = str(getattr(validator, "openapi_version", ""))
        self.registry = validator.keyword_validators_registry
        self.meta_checked: set[int] = set()
        self.visited: set[int] = set()
        self.operation_ids: list[Any] = []
        self._meta_check = None

    # -- references, as jsonschema-path resolves them ------------------------------------
    def resolve(self, node: Any) -> Any:
        hops = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/") or "%" in ref:
                raise _Unsure
            hops += 1
            if hops > _MAX_HOPS:
                raise _Unsure
            node = self.document
            for token in ref[2:].split("/"):
                token = token.replace("~1", "/").replace("~0", "~")
                if isinstance(node, dict) and token in node:
                    node = node[token]
                elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                    node = node[int(token)]
                else:
                    raise _Unsure
        return node

    def typed(self, node: Any, kind: type) -> Any:
        node = self.resolve(node)
        if not isinstance(node, kind):
            raise _Unsure
        return node

    def mapping(self, node: Any) -> dict:
        return self.typed(node, dict)

    def sequence(self, node: Any) -> list:
        return self.typed(node, list)

    def text(self, node: Any) -> str:
        return self.typed(node, str)

    # -- RootValidator and what it calls -----------------------------------------------
    def root(self) -> None:
        spec = self.mapping(self.document)
        if self.version not in ("3.0", "3.1"):
            raise _Unsure  # 3.2's tag tree and additional operations are left to the library
        if "jsonSchemaDialect" in spec:
            raise _Unsure
        if "tags" in spec:
            tags = self.sequence(spec["tags"])
            names = [self.text(self.mapping(tag).get("name")) for tag in tags]
            if len(set(names)) != len(names):
                raise _Unsure
        if "paths" in spec:
            for url, item in self.mapping(spec["paths"]).items():
                self.path(url, self.mapping(item), ("paths", url))
        if "components" in spec:
            components = self.mapping(spec["components"])
            if "schemas" in components:
                for name, schema in self.mapping(components["schemas"]).items():
                    self.schema(schema, ("components", "schemas", name))

    def path(self, url: Any, item: dict, at: tuple) -> None:
        if not isinstance(url, str):
            raise _Unsure
        shared = None
        if "parameters" in item:
            shared = self.parameters(item["parameters"], (*at, "parameters"))
        for name, operation in item.items():
            if name in _OPERATIONS:
                self.operation(url, self.mapping(operation), shared, (*at, name))

    def parameters(self, node: Any, at: tuple) -> list[dict]:
        seen = set()
        params = []
        for i, param in enumerate(self.sequence(node)):
            param = self.mapping(param)
            if "schema" in param:
                self.schema(param["schema"], (*at, i, "schema"))
            key = (self.text(param.get("name")), self.text(param.get("in")))
            if key in seen:
                raise _Unsure
            seen.add(key)
            params.append(param)
        return params

    def operation(self, url: str, operation: dict, shared: list[dict] | None, at: tuple) -> None:
        if "operationId" in operation:
            operation_id = self.resolve(operation["operationId"])
            if operation_id is not None and operation_id in self.operation_ids:
                raise _Unsure
            self.operation_ids.append(operation_id)
        if "responses" in operation:
            for code, response in self.mapping(operation["responses"]).items():
                if not isinstance(code, str):
                    raise _Unsure
                response = self.mapping(response)
                if "content" in response:
                    for media_type, media in self.mapping(response["content"]).items():
                        media = self.mapping(media)
                        if "schema" in media:
                            where = (*at, "responses", code, "content", media_type, "schema")
                            self.schema(media["schema"], where)
        names = []
        if "parameters" in operation:
            own = self.parameters(operation["parameters"], (*at, "parameters"))
            names += [self.text(p.get("name")) for p in own if self.text(p.get("in")) == "path"]
        if shared is not None:
            names += [self.text(p.get("name")) for p in shared if self.text(p.get("in")) == "path"]
        in_url = {item[1] for item in string.Formatter().parse(url) if item[1]}
        if set(names) != in_url:
            raise _Unsure

    # -- SchemaValidator ------------------------------------------------------------------
    def schema(self, node: Any, at: tuple, *, require_properties=True, meta_checked=False) -> None:
        value = self.resolve(node)
        if not isinstance(value, dict) or "$schema" in value:
            raise _Unsure  # not a schema (an error), a boolean schema or a dialect: the library's
        if not meta_checked and id(value) not in self.meta_checked:
            self.meta_checked.add(id(value))
            self.check_meta(value)
        if id(value) in self.visited:
            return
        self.visited.add(id(value))
        nested_properties: set[str] = set()
        for keyword in ("allOf", "anyOf", "oneOf"):
            if keyword in value:
                for i, inner in enumerate(self.sequence(value[keyword])):
                    self.nested(inner, (*at, keyword, i))
                    if keyword == "allOf":
                        nested_properties |= self.collect_properties(inner)
        for keyword in ("not", "items"):
            if keyword in value:
                self.nested(value[keyword], (*at, keyword))
        properties = self.mapping(value["properties"]) if "properties" in value else {}
        for name, inner in properties.items():
            self.nested(inner, (*at, "properties", name))
        if "allOf" in value and require_properties:
            required = self.resolve(value["required"]) if "required" in value else []
            if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
                raise _Unsure
            if set(required) - set(properties) - nested_properties:
                raise _Unsure
        if "default" in value:
            self.check_default(value, at)

    def nested(self, node: Any, at: tuple) -> None:
        self.schema(node, at, require_properties=False, meta_checked=True)

    def collect_properties(self, node: Any) -> set[str]:
        value = self.mapping(node)
        names: set[str] = set()
        if "properties" in value:
            names |= set(self.mapping(value["properties"]))
        for keyword in ("allOf", "anyOf", "oneOf"):
            if keyword in value:
                for inner in self.sequence(value[keyword]):
                    names |= self.collect_properties(inner)
        for keyword in ("items", "not"):
            if keyword in value:
                names |= self.collect_properties(value[keyword])
        return names

    def check_meta(self, value: dict) -> None:
        """The library's own meta-schema check of one schema object (compiled first)."""
        if self._meta_check is None:
            keyword = self.registry["schema"]
            self._meta_check = keyword._get_schema_checker(self.validator.schema_path, value)
        try:
            self._meta_check(value)
        except Exception as exc:
            raise _Unsure from exc

    def check_default(self, value: dict, at: tuple) -> None:
        """The library's own `default` validator, on the library's path to this schema."""
        default, nullable = value["default"], value.get("nullable", False)
        if any(isinstance(v, dict) and "$ref" in v for v in (default, nullable)):
            raise _Unsure
        if default is None and nullable is True:
            return
        path = self.validator.schema_path
        for part in at:
            path = path / part
        for _error in self.registry["default"](path, default):
            raise _Unsure
