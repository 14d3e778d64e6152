"""Fixtures for the proxy: a validated, installed data plugin served by a real loopback upstream."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.utils import timezone

from accounts.models import CredentialKind, Role
from accounts.services import issue_credential
from plugins.installations.services import install_plugin, set_allow_list
from plugins.models import Plugin, PluginVersion, ReviewState, ValidationState, Visibility
from plugins.proxy.assertion import jwks
from tests.support.upstream import Upstream, data_plugin_routes
from tests.tools.specs import data_plugin_spec
from tests.validation.helpers import manifest, validate


def publish_version(
    org, spec_doc: dict, *, base: str, name: str = "data", auth: dict | None = None
):
    """A published plugin served from `base` whose version passed the real validator (the
    documents are given, not fetched)."""
    host = base.split("://", 1)[1]
    report = validate(
        manifest(
            name_for_model=name,
            auth=auth or {"type": "none"},
            api={"type": "openapi", "url": f"{base}/openapi.json"},
            logo_url=f"{base}/logo.png",
            legal_info_url=f"{base}/legal",
        ),
        spec_doc,
        origin=host,
        manifest_url=f"{base}/.well-known/ai-plugin.json",
        openapi_url=f"{base}/openapi.json",
    )
    assert report.passed, [f.to_dict() for f in report.errors]
    plugin = Plugin.objects.create(
        organization=org,
        slug=name,
        name=name.title(),
        name_for_model=name,
        visibility=Visibility.PUBLIC,
        review_state=ReviewState.APPROVED,
    )
    content = json.dumps([report.plugin, spec_doc], sort_keys=True).encode()
    version = PluginVersion.objects.create(
        organization=org,
        plugin=plugin,
        number=1,
        source_kind="upload",
        content_sha256=hashlib.sha256(content).hexdigest(),
        normalized=report.plugin,
        normalized_openapi=report.normalized_openapi,
        validation_state=ValidationState.PASSED,
        validated_at=timezone.now(),
    )
    plugin.published_version = version
    plugin.save()
    return version


def install_with_service_key(org, admin, spec_doc: dict, *, base: str, key: str, name: str):
    """A published plugin whose calls carry the publisher's service key `key` (bearer),
    installed in `org`."""
    from plugins.credentials.services import set_service_credential

    version = publish_version(
        org,
        spec_doc,
        base=base,
        name=name,
        auth={"type": "service_http", "authorization_type": "bearer"},
    )
    installation = install_plugin(organization=org, version=version, installed_by=admin)
    set_service_credential(plugin=installation.plugin, token=key, set_by=admin)
    return installation


@pytest.fixture
def upstream():
    with Upstream() as server:
        server.route_defaults = data_plugin_routes(jwks(), server.url)
        for key, route in server.route_defaults.items():
            server.route(key, route)
        yield server


@pytest.fixture
def data_install(acme, alice, bob, upstream):
    """The data plugin installed in Acme; bob may use the `sales` and `hr` databases."""
    version = publish_version(acme, data_plugin_spec(upstream.url), base=upstream.url)
    installation = install_plugin(organization=acme, version=version, installed_by=alice)
    set_allow_list(
        installation=installation,
        member=bob,
        values={"database": ["sales", "hr"], "container": ["events"]},
        changed_by=alice,
    )
    return installation


@pytest.fixture
def bob_api(acme, bob, api_as):
    return api_as(bob, acme)


def org_key_client(organization, created_by):
    """A test client sending a fresh organization API key of `organization`."""
    from django.test import Client

    _, token = issue_credential(
        organization=organization,
        kind=CredentialKind.ORGANIZATION,
        name="orchestrator",
        created_by=created_by,
        role=Role.MEMBER,
    )
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture
def org_key_api(acme, alice):
    return org_key_client(acme, alice)


def call(client, installation, operation: str, arguments, **headers):
    body = arguments if isinstance(arguments, bytes | str) else json.dumps({"arguments": arguments})
    return client.post(
        f"/api/v1/installations/{installation.pk}/operations/{operation}/call",
        data=body,
        content_type="application/json",
        headers=headers,
    )
