"""x-bootstrap: the marketplace runs bootstrap operations once per member session, with values
from the member's credential, and serves the filtered answers as context in the lookup API."""

from __future__ import annotations

from plugins.credentials.services import set_user_credential
from plugins.installations.services import install_plugin
from plugins.proxy.bootstrap import run_bootstrap
from tests.proxy.conftest import publish_version
from tests.proxy.test_filters import chain
from tests.support.upstream import reply_json
from tests.tools.specs import data_plugin_spec

USER_KEY = "usr-bootstrap-key-5e4d3c2b1a"


def profile_plugin(acme, alice, upstream):
    spec = data_plugin_spec(upstream.url)
    del spec["components"]["securitySchemes"]
    spec["paths"]["/profile"] = {
        "get": {
            "operationId": "getProfile",
            "x-bootstrap": True,
            "parameters": [
                {
                    "name": "token",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string"},
                    "x-bootstrap-value": "{{ auth.token }}",
                }
            ],
            "responses": {"200": {"description": "OK"}},
            "x-filter": chain("The user is {{ data.name }} on the {{ data.plan }} plan."),
        }
    }
    version = publish_version(
        acme,
        spec,
        base=upstream.url,
        name="profiled",
        auth={"type": "user_http", "authorization_type": "bearer"},
    )
    return install_plugin(organization=acme, version=version, installed_by=alice)


def test_bootstrap_context_is_queued_run_once_and_served(
    acme, alice, bob, bob_api, upstream, django_capture_on_commit_callbacks
):
    upstream.route(
        "GET /profile", lambda h: reply_json(h, 200, {"name": "Bob", "plan": "pro", "id": 7})
    )
    installation = profile_plugin(acme, alice, upstream)
    set_user_credential(installation=installation, user=bob, token=USER_KEY)

    with django_capture_on_commit_callbacks() as queued:
        first = bob_api.get("/api/v1/installed-plugins/").json()[0]
    assert first["bootstrap"] == {"state": "pending"}
    assert len(queued) == 1  # the run is queued once…
    with django_capture_on_commit_callbacks() as again:
        bob_api.get("/api/v1/installed-plugins/")
    assert again == []  # …not again while it is pending

    state = run_bootstrap(installation=installation, user=bob)
    assert state["state"] == "ready"
    (seen,) = upstream.seen
    assert seen.path == f"/profile?token={USER_KEY}"
    assert seen.headers["authorization"] == f"Bearer {USER_KEY}"

    served = bob_api.get("/api/v1/installed-plugins/").json()[0]["bootstrap"]
    assert served["state"] == "ready"
    (context,) = served["context"]
    assert context["operation"] == "getProfile"
    assert context["text"] == "The user is Bob on the pro plan."
    assert USER_KEY not in str(served)


def test_a_member_without_a_credential_gets_not_connected(acme, alice, bob, upstream):
    installation = profile_plugin(acme, alice, upstream)
    state = run_bootstrap(installation=installation, user=bob)
    assert state["state"] == "not_connected"
    assert upstream.connections == 0


def test_plugins_without_bootstrap_operations_say_none(data_install, bob_api):
    assert bob_api.get("/api/v1/installed-plugins/").json()[0]["bootstrap"] == {"state": "none"}
