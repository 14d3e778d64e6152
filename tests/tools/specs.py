"""Inline plugin specs for the tool-definition and proxy tests, validated by the real validator."""

from __future__ import annotations

from typing import Any

from tests.validation.helpers import manifest, validate


def data_plugin_spec(server: str = "https://api.example.com") -> dict:
    """Like the seed's data plugin: a guarded `database` in the body, a `container` in the path."""
    return {
        "openapi": "3.0.1",
        "info": {"title": "Data", "version": "1.0"},
        "servers": [{"url": server}],
        "paths": {
            "/query": {
                "post": {
                    "operationId": "querySqlDatabase",
                    "summary": "Run a read-only SQL question against a database",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SqlQuery"}
                            }
                        },
                    },
                    "responses": {"200": {"description": "OK"}},
                }
            },
            "/containers/{container}/query": {
                "get": {
                    "operationId": "queryCosmosDb",
                    "summary": "Ask a question about a Cosmos DB container",
                    "parameters": [
                        {
                            "name": "container",
                            "in": "path",
                            "required": True,
                            "x-marketplace-resource": "container",
                            "schema": {"type": "string"},
                        },
                        {"name": "question", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {"200": {"description": "OK"}},
                }
            },
            "/databases": {
                "get": {
                    "operationId": "listTables",
                    "summary": "List the tables of the public sample",
                    "responses": {"200": {"description": "OK"}},
                }
            },
        },
        "components": {
            "schemas": {
                "SqlQuery": {
                    "type": "object",
                    "required": ["database", "question"],
                    "properties": {
                        "database": {
                            "type": "string",
                            "description": "The database to query.",
                            "x-marketplace-resource": "database",
                        },
                        "question": {"type": "string", "minLength": 3},
                        "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                }
            },
            "securitySchemes": {
                "key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
        },
    }


def normalized(spec_doc: dict, **manifest_overrides: Any) -> dict:
    """The normalised plugin the validator makes of `spec_doc` (it must pass)."""
    manifest_overrides.setdefault("name_for_model", "data")
    report = validate(manifest(**manifest_overrides), spec_doc)
    assert report.passed, [f.to_dict() for f in report.errors]
    return report.plugin
