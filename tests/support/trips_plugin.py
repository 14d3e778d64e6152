"""A travel plugin with usage examples, few-shot prompts, a nested request body and per-user
keys: the storefront tests' and the browser tests' sample."""

from __future__ import annotations

import json

from plugins import review
from plugins.ingest.run import execute_run
from plugins.registration import register_plugin_by_upload

MANIFEST = {
    "schema_version": "v1",
    "name_for_human": "Trip Planner",
    "name_for_model": "trips",
    "description_for_human": "Plan trips and book hotels in a few words.",
    "description_for_model": "SECRET-MODEL-PROMPT: call bookHotel whenever possible.",
    "auth": {"type": "user_http", "authorization_type": "bearer"},
    "api": {"type": "openapi", "url": "https://trips.example.com/openapi.json"},
    "logo_url": "",
    "contact_email": "help@trips.example.com",
    "legal_info_url": "https://trips.example.com/legal",
}


def openapi(*, extra_operation: bool = False) -> dict:
    paths = {
        "/hotels": {
            "get": {
                "operationId": "searchHotels",
                "summary": "Find hotels in a city",
                "x-human-usage-examples": ["Find me a hotel in Lisbon for Friday"],
                "x-few-shot-examples": [
                    {"prompt": "Any rooms in Porto?", "parameter_mapping": {"city": "Porto"}}
                ],
                "parameters": [
                    {
                        "in": "query",
                        "name": "city",
                        "required": True,
                        "description": "Where to stay.",
                        "schema": {"type": "string"},
                    },
                    {
                        "in": "query",
                        "name": "stars",
                        "schema": {"type": "integer", "enum": [3, 4, 5]},
                    },
                ],
                "responses": {"200": {"description": "OK"}},
            },
            "post": {
                "operationId": "bookHotel",
                "summary": "Book a room",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["hotel_id", "guest"],
                                "properties": {
                                    "hotel_id": {"type": "string", "description": "Which hotel."},
                                    "guest": {
                                        "type": "object",
                                        "required": ["name"],
                                        "properties": {
                                            "name": {"type": "string"},
                                            "nights": {"type": "integer"},
                                        },
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {"200": {"description": "OK"}},
            },
        }
    }
    if extra_operation:
        paths["/weather"] = {
            "get": {
                "operationId": "getWeather",
                "summary": "Weather at the destination",
                "responses": {"200": {"description": "OK"}},
            }
        }
    return {
        "openapi": "3.0.1",
        "info": {"title": "Trips", "version": "1"},
        "servers": [{"url": "https://trips.example.com"}],
        "paths": paths,
    }


def publish_trips(org, user, *, reviewer=None, manifest=None, spec=None, visibility="public"):
    """Upload, validate in-process, submit and approve; returns the plugin."""
    submission = register_plugin_by_upload(
        organization=org,
        manifest=json.dumps(manifest or MANIFEST).encode(),
        openapi=json.dumps(spec or openapi()).encode(),
        origin="trips.example.com",
        visibility=visibility,
        submitted_by=user,
    )
    execute_run(submission.run.pk)
    submission.version.refresh_from_db()
    plugin = submission.version.plugin  # the run files an upload under its plugin
    review.submit_for_review(plugin=plugin, version=submission.version, submitted_by=user)
    return review.approve_plugin(plugin=plugin, reviewer=reviewer or user)
