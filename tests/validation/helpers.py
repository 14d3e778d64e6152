"""Small inline plugins for the validator's spec-style tests."""

from __future__ import annotations

import copy
import json
from typing import Any

from plugins.validation import PluginInput, ValidationReport, validate_plugin

ORIGIN = "www.example.com"


def manifest(**overrides: Any) -> dict:
    doc = {
        "schema_version": "v1",
        "name_for_model": "todo",
        "name_for_human": "Todo",
        "description_for_model": "Manage a todo list.",
        "description_for_human": "Manage your todo list.",
        "auth": {"type": "none"},
        "api": {"type": "openapi", "url": "https://api.example.com/openapi.yaml"},
        "logo_url": "https://example.com/logo.png",
        "contact_email": "support@example.com",
        "legal_info_url": "https://example.com/legal",
    }
    for key, value in overrides.items():
        if value is ...:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def operation(**extra: Any) -> dict:
    op = {
        "operationId": "getTodos",
        "summary": "List the todos",
        "parameters": [
            {"name": "username", "in": "query", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Todos"}}},
            }
        },
    }
    op.update(extra)
    return op


def spec(**overrides: Any) -> dict:
    doc = {
        "openapi": "3.0.1",
        "info": {"title": "Todo", "version": "1.0"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {"/todos": {"get": operation()}},
        "components": {"schemas": {"Todos": {"type": "array", "items": {"type": "string"}}}},
    }
    for key, value in overrides.items():
        if value is ...:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def encode(doc: Any) -> bytes:
    return doc if isinstance(doc, bytes) else json.dumps(doc).encode()


def validate(
    manifest_doc: Any = None,
    spec_doc: Any = None,
    *,
    origin: str | None = ORIGIN,
    use_default_manifest: bool = True,
    **kwargs: Any,
) -> ValidationReport:
    if manifest_doc is None and use_default_manifest:
        manifest_doc = manifest()
    if spec_doc is None:
        spec_doc = spec()
    return validate_plugin(
        PluginInput(
            manifest=encode(manifest_doc) if manifest_doc is not None else None,
            openapi=encode(spec_doc),
            origin=origin,
            **kwargs,
        )
    )


def openplugin_spec(**overrides: Any) -> dict:
    doc = spec(**overrides)
    doc.setdefault(
        "x-openplugin",
        {"name": "Todo Plugin", "description": "Manage todos.", "contactEmail": "dev@example.com"},
    )
    return doc


def validate_openplugin(spec_doc: dict, **kwargs: Any) -> ValidationReport:
    kwargs.setdefault("origin", ORIGIN)
    return validate(None, spec_doc, use_default_manifest=False, **kwargs)


def codes(report: ValidationReport, severity: str | None = None) -> set[str]:
    return {f.code for f in report.findings if severity is None or f.severity == severity}


def finding(report: ValidationReport, code: str):
    return next(f for f in report.findings if f.code == code)


def deep(doc: dict) -> dict:
    return copy.deepcopy(doc)
