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


def trains_spec(server: str, *, guarded_origin: bool = False, home_params=()) -> dict:
    """searchTrains: its origin city comes from getHomeCity (x-dependent, which needs no model
    input: its one required parameter has a default); its answer's provider ids are made
    readable by getProvider (x-lookup)."""
    origin = {
        "name": "origin_city_id",
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
        "x-dependent": {"path": "/home_city", "method": "get", "field": "/city/id"},
    }
    if guarded_origin:
        origin["x-marketplace-resource"] = "city"
    trains_answer = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "provider_id": {
                    "type": "string",
                    "x-lookup": {
                        "path": "/providers",
                        "method": "get",
                        "parameter": "$request.query.provider_id",
                    },
                },
            },
        },
    }
    return {
        "openapi": "3.0.1",
        "info": {"title": "Trains", "version": "1.0"},
        "servers": [{"url": server}],
        "paths": {
            "/trains": {
                "get": {
                    "operationId": "searchTrains",
                    "summary": "Trains leaving the member's home city",
                    "parameters": [
                        origin,
                        {"name": "date", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {"application/json": {"schema": trains_answer}},
                        }
                    },
                }
            },
            "/home_city": {
                "get": {
                    "operationId": "getHomeCity",
                    "parameters": [
                        {
                            "name": "units",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "default": "metric"},
                        },
                        *home_params,
                    ],
                    "responses": {"200": {"description": "OK"}},
                }
            },
            "/providers": {
                "get": {
                    "operationId": "getProvider",
                    "parameters": [
                        {
                            "name": "provider_id",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {"200": {"description": "OK"}},
                }
            },
        },
    }


def normalized(spec_doc: dict, **manifest_overrides: Any) -> dict:
    """The normalised plugin the validator makes of `spec_doc` (it must pass)."""
    manifest_overrides.setdefault("name_for_model", "data")
    report = validate(manifest(**manifest_overrides), spec_doc)
    assert report.passed, [f.to_dict() for f in report.errors]
    return report.plugin
