"""The validator's data types: its input, its findings, its report, and the normalised plugin.

The normalised plugin (`NormalizedPlugin.to_dict()`) is what the rest of the product stores and
serves; its key names are a contract (the models, the Celery task and the UI read them):

    dialect                "openai-manifest" | "openplugin"
    name_for_model, name_for_human, description_for_model, description_for_human,
    logo_url, contact_email, legal_info_url, schema_version
    root_domain            manifest host minus a leading "www." (None when the origin is unknown)
    auth                   Auth.to_dict(): type none|service_http|user_http|oauth, and the fields
                           that type uses (the others are None)
    api_url                the spec's URL, absolute when it could be resolved
    servers                every `servers[].url` of the spec, as written
    server_url             the base URL calls go to (first server on the root domain or below it;
                           else the spec's host)
    openapi_version        the (normalised) `openapi` value, e.g. "3.0.1"
    operations             [Operation.to_dict()]
    output_modules         root `x-output-modules`, normalised
    openplugin             the `x-openplugin` block with snake_case keys (None for manifests)

Schemas inside operations have every `$ref` inlined within a budget: a cycle becomes
`{"$recursive": "#/components/schemas/X"}`, and a schema cut by the depth or node budget becomes
`{"$truncated": "depth" | "nodes"}`; a `$ref` that could not be followed becomes
`{"x-unresolved-ref": ref}`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class PluginInput:
    """Raw documents and where they came from. Nothing here is fetched by the validator."""

    manifest: bytes | None = None
    openapi: bytes | None = None
    origin: str | None = None
    manifest_url: str | None = None
    openapi_url: str | None = None
    manifest_content_type: str | None = None
    openapi_content_type: str | None = None
    bundled_refs: Mapping[str, bytes] = field(default_factory=dict)
    # The token this marketplace issued the publisher for `auth.verification_tokens`, if any;
    # or a function giving it, called only when the manifest's auth scheme wants one (so the
    # worker reads or issues the token only then).
    expected_verification_token: str | Callable[[], str] | None = None


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str
    document: str  # "manifest" | "openapi" | "plugin"
    pointer: str  # RFC 6901 pointer into `document`; "" = the whole document
    message: str
    hint: str = ""

    def to_dict(self) -> dict:
        return {
            "severity": str(self.severity),
            "code": self.code,
            "document": self.document,
            "pointer": self.pointer,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass(frozen=True)
class ValidationReport:
    findings: tuple[Finding, ...]
    plugin: dict | None
    normalized_openapi: dict | None
    remote_refs: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not any(f.severity == Severity.ERROR for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == Severity.ERROR)

    def counts(self) -> dict[str, int]:
        """Findings per severity ("error", "warning", "info"), zeros included."""
        found = Counter(str(f.severity) for f in self.findings)
        return {str(s): found.get(str(s), 0) for s in Severity}

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}


@dataclass
class Auth:
    type: str = "none"
    authorization_type: str | None = None
    client_url: str | None = None
    authorization_url: str | None = None
    scope: str | None = None
    authorization_content_type: str | None = None
    token_validation_url: str | None = None
    verification_tokens: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "type": self.type,
            "authorization_type": self.authorization_type,
            "client_url": self.client_url,
            "authorization_url": self.authorization_url,
            "scope": self.scope,
            "authorization_content_type": self.authorization_content_type,
            "token_validation_url": self.token_validation_url,
            "verification_tokens": dict(self.verification_tokens),
        }


@dataclass
class Parameter:
    name: str
    location: str  # "query" | "path" | "header" | "cookie" (serialised as "in")
    required: bool = False
    description: str | None = None
    schema: Any = None
    x_helpers: Any = None
    x_dependent: dict | None = None
    bootstrap_value: str | None = None
    # `x-marketplace-resource: <kind>`: the value names a resource (a database…) that the
    # marketplace checks against each user's allow-list.
    x_marketplace_resource: str | None = None
    # OpenAPI serialisation, kept only when the spec declares it (the defaults need no key)
    style: str | None = None
    explode: bool | None = None

    def to_dict(self) -> dict:
        serialisation = {"style": self.style} if self.style is not None else {}
        if self.explode is not None:
            serialisation["explode"] = self.explode
        return {
            **serialisation,
            "name": self.name,
            "in": self.location,
            "required": self.required,
            "description": self.description,
            "schema": self.schema,
            "x_helpers": self.x_helpers,
            "x_dependent": self.x_dependent,
            "x_marketplace_resource": self.x_marketplace_resource,
        }


@dataclass
class RequestBody:
    required: bool
    content_type: str | None
    schema: Any

    def to_dict(self) -> dict:
        return {
            "required": self.required,
            "content_type": self.content_type,
            "schema": self.schema,
        }


@dataclass
class Operation:
    """One callable operation. `pointer` locates it in the OpenAPI document (not serialised)."""

    name: str
    operation_id: str | None
    method: str
    path: str
    pointer: str = ""
    summary: str | None = None
    description: str | None = None
    parameters: list[Parameter] = field(default_factory=list)
    request_body: RequestBody | None = None
    responses: dict[str, Any] = field(default_factory=dict)
    human_usage_examples: list[str] = field(default_factory=list)
    helpers: Any = None
    bootstrap: bool = False
    filter: dict | None = None
    lookup: list[dict] = field(default_factory=list)
    output_modules: list[dict] = field(default_factory=list)
    few_shot_examples: list[dict] = field(default_factory=list)

    @property
    def bootstrap_values(self) -> dict[str, str]:
        return {p.name: p.bootstrap_value for p in self.parameters if p.bootstrap_value}

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "operation_id": self.operation_id,
            "method": self.method,
            "path": self.path,
            "summary": self.summary,
            "description": self.description,
            "parameters": [p.to_dict() for p in self.parameters],
            "request_body": self.request_body.to_dict() if self.request_body else None,
            "responses": dict(self.responses),
            "human_usage_examples": list(self.human_usage_examples),
            "helpers": self.helpers,
            "bootstrap": self.bootstrap,
            "bootstrap_values": self.bootstrap_values,
            "filter": self.filter,
            "lookup": list(self.lookup),
            "output_modules": list(self.output_modules),
            "few_shot_examples": list(self.few_shot_examples),
        }


@dataclass
class NormalizedPlugin:
    dialect: str
    name_for_model: str | None = None
    name_for_human: str | None = None
    description_for_model: str | None = None
    description_for_human: str | None = None
    logo_url: str | None = None
    contact_email: str | None = None
    legal_info_url: str | None = None
    schema_version: str | None = None
    root_domain: str | None = None
    auth: Auth = field(default_factory=Auth)
    api_url: str | None = None
    servers: list[str] = field(default_factory=list)
    server_url: str | None = None
    openapi_version: str | None = None
    operations: list[Operation] = field(default_factory=list)
    output_modules: list[dict] = field(default_factory=list)
    openplugin: dict | None = None

    def operation(self, method: str, path: str) -> Operation | None:
        method = method.lower()
        return next((o for o in self.operations if o.method == method and o.path == path), None)

    def to_dict(self) -> dict:
        return {
            "dialect": self.dialect,
            "name_for_model": self.name_for_model,
            "name_for_human": self.name_for_human,
            "description_for_model": self.description_for_model,
            "description_for_human": self.description_for_human,
            "logo_url": self.logo_url,
            "contact_email": self.contact_email,
            "legal_info_url": self.legal_info_url,
            "schema_version": self.schema_version,
            "root_domain": self.root_domain,
            "auth": self.auth.to_dict(),
            "api_url": self.api_url,
            "servers": list(self.servers),
            "server_url": self.server_url,
            "openapi_version": self.openapi_version,
            "operations": [o.to_dict() for o in self.operations],
            "output_modules": list(self.output_modules),
            "openplugin": self.openplugin,
        }
