"""POST /api/v1/installations/{id}/operations/{operationId}/call: the whole pipeline against a
real loopback plugin that verifies the caller assertion."""

from __future__ import annotations

import jwt

from accounts.models import AuditEvent
from plugins.installations.models import CallEvent
from plugins.proxy.events import drain_call_events
from tests.proxy.conftest import call


def test_it_calls_the_plugin_and_answers_status_data_text_and_request_id(
    data_install, bob_api, upstream
):
    response = call(
        bob_api,
        data_install,
        "querySqlDatabase",
        {"database": "sales", "question": "how many orders?"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == 200
    assert body["data"]["database"] == "sales"
    assert '"row_count": 1' in body["text"]
    assert len(body["request_id"]) == 24
    assert response["X-Request-Id"] == body["request_id"]
    assert response["Server-Timing"].startswith("proxy;dur=")
    (seen,) = upstream.seen
    assert seen.method == "POST"
    assert seen.path == "/query"
    assert seen.body == b'{"database":"sales","question":"how many orders?"}'


def test_it_sends_a_short_lived_assertion_the_plugin_verifies_with_the_jwks(
    data_install, bob_api, bob, upstream, client
):
    call(bob_api, data_install, "querySqlDatabase", {"database": "hr", "question": "who?"})
    token = upstream.seen[0].headers["x-marketplace-assertion"]
    keys = client.get("/.well-known/jwks.json").json()
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert header["kid"] in {k["kid"] for k in keys["keys"]}
    key = jwt.PyJWKSet.from_dict(keys)[header["kid"]]
    claims = jwt.decode(token, key.key, algorithms=["ES256"], audience=upstream.url)
    assert claims["sub"] == f"user:{bob.pk}"
    assert claims["org"] == "acme"
    assert claims["operation"] == "querySqlDatabase"
    assert claims["allowed"] == {"database": ["hr", "sales"]}
    assert claims["databases"] == ["hr", "sales"]
    assert claims["exp"] - claims["iat"] <= 60
    assert claims["jti"]
    assert all("d" not in k for k in keys["keys"])  # public halves only


def test_it_lists_every_violation_with_its_json_pointer(data_install, bob_api, upstream):
    response = call(
        bob_api,
        data_install,
        "querySqlDatabase",
        {"question": "x", "limit": "ten", "sql": "DROP TABLE users"},
    )
    assert response.status_code == 422
    violations = response.json()["error"]["violations"]
    pointers = sorted(v["pointer"] for v in violations)
    assert pointers == ["", "", "/limit", "/question"]
    messages = " ".join(v["message"] for v in violations)
    assert "'database' is a required property" in messages
    assert "Unknown argument(s): 'sql'" in messages
    assert upstream.connections == 0


def test_it_refuses_a_value_outside_the_allow_list_naming_the_parameter_not_the_list(
    data_install, bob_api, upstream
):
    response = call(
        bob_api,
        data_install,
        "querySqlDatabase",
        {"database": "finance", "question": "all salaries"},
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "proxy.not_allowed"
    assert error["parameter"] == "database"
    assert "sales" not in response.content.decode()
    assert upstream.connections == 0


def test_it_denies_guarded_parameters_to_members_without_an_allow_list(
    data_install, alice_api, upstream
):
    response = call(
        alice_api, data_install, "querySqlDatabase", {"database": "sales", "question": "how many?"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["parameter"] == "database"
    # an operation without guarded parameters stays callable
    assert call(alice_api, data_install, "listTables", {}).status_code == 200
    assert [s.path for s in upstream.seen] == ["/databases"]


def test_it_percent_encodes_path_parameters(data_install, bob_api, upstream, alice):
    from accounts.models import User
    from plugins.installations.services import set_allow_list

    bob = User.objects.get(email="bob@example.com")
    set_allow_list(
        installation=data_install,
        member=bob,
        values={"container": ["../admin", "a/b?c#d"]},
        changed_by=alice,
    )
    for value, path in (
        ("../admin", "/containers/..%2Fadmin/query"),
        ("a/b?c#d", "/containers/a%2Fb%3Fc%23d/query"),
    ):
        response = call(bob_api, data_install, "queryCosmosDb", {"container": value})
        assert response.status_code == 200, response.content
        assert upstream.seen[-1].path == path


def test_it_records_a_call_event_for_every_decision_off_the_request_path(
    data_install, bob_api, bob
):
    call(bob_api, data_install, "querySqlDatabase", {"database": "sales", "question": "how many?"})
    call(
        bob_api, data_install, "querySqlDatabase", {"database": "finance", "question": "how many?"}
    )
    call(bob_api, data_install, "querySqlDatabase", {"question": 1})
    assert CallEvent.objects.count() == 0  # not written by the request
    assert drain_call_events() == 3
    events = {e.decision: e for e in CallEvent.objects.all()}
    assert set(events) == {"allowed", "denied", "invalid"}
    allowed = events["allowed"]
    assert allowed.user == bob
    assert allowed.installation == data_install
    assert allowed.operation == "querySqlDatabase"
    assert allowed.upstream_status == 200
    assert allowed.bytes_in > 0
    assert allowed.latency_ms > 0
    assert events["denied"].reason == "proxy.not_allowed"
    assert drain_call_events() == 0
    (audit,) = AuditEvent.objects.filter(action="proxy.call_denied")
    assert audit.actor == bob
    assert audit.details["parameter"] == "database"
    assert audit.details["operation"] == "querySqlDatabase"
    assert "finance" not in str(audit.details)


def test_it_rate_limits_per_user_with_retry_after(data_install, bob_api, settings, upstream):
    settings.PROXY_RATE_PER_USER = 2
    assert call(bob_api, data_install, "listTables", {}).status_code == 200
    assert call(bob_api, data_install, "listTables", {}).status_code == 200
    response = call(bob_api, data_install, "listTables", {})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert len(upstream.seen) == 2


def test_a_call_over_the_limit_is_refused_for_the_limit_whatever_its_arguments(
    data_install, bob_api, settings, upstream
):
    # on a cached context (the second call on), a refusal of the arguments or of their values
    # still comes after the rate limit
    settings.PROXY_RATE_PER_USER = 1
    assert call(bob_api, data_install, "listTables", {}).status_code == 200  # context cached
    for arguments in ({"database": "finance", "question": "?"}, {"nonsense": 1}):
        response = call(bob_api, data_install, "querySqlDatabase", arguments)
        assert response.status_code == 429, response.content
    assert len(upstream.seen) == 1


def test_a_change_to_the_allow_list_applies_to_the_next_call(data_install, bob, alice, bob_api):
    from plugins.installations.services import set_allow_list

    sales = {"database": "sales", "question": "how many?"}
    assert call(bob_api, data_install, "querySqlDatabase", sales).status_code == 200
    set_allow_list(
        installation=data_install, member=bob, values={"database": ["hr"]}, changed_by=alice
    )
    assert call(bob_api, data_install, "querySqlDatabase", sales).status_code == 403
    set_allow_list(
        installation=data_install, member=bob, values={"database": ["sales"]}, changed_by=alice
    )
    assert call(bob_api, data_install, "querySqlDatabase", sales).status_code == 200


def test_it_acts_for_the_member_an_organization_key_names(data_install, org_key_api, upstream):
    ok = call(
        org_key_api,
        data_install,
        "querySqlDatabase",
        {"database": "sales", "question": "how many?"},
        **{"X-On-Behalf-Of": "BOB@example.com"},
    )
    assert ok.status_code == 200, ok.content
    nobody = call(
        org_key_api, data_install, "listTables", {}, **{"X-On-Behalf-Of": "charlie@example.com"}
    )
    assert nobody.status_code == 404
    unnamed = call(org_key_api, data_install, "listTables", {})
    assert unnamed.status_code == 403
    assert len(upstream.seen) == 1


def test_a_personal_token_cannot_act_for_someone_else(data_install, bob_api, upstream):
    response = call(
        bob_api, data_install, "listTables", {}, **{"X-On-Behalf-Of": "alice@example.com"}
    )
    assert response.status_code == 403
    assert upstream.connections == 0


def test_it_refuses_operations_an_admin_turned_off_with_the_reason(
    data_install, bob_api, alice, upstream
):
    from plugins.installations.services import update_installation

    update_installation(
        installation=data_install,
        changed_by=alice,
        disabled_operations={"listTables": "Too slow for now."},
    )
    response = call(bob_api, data_install, "listTables", {})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Too slow for now."
    assert call(bob_api, data_install, "noSuchOperation", {}).status_code == 404
    update_installation(installation=data_install, changed_by=alice, enabled=False)
    assert call(bob_api, data_install, "queryCosmosDb", {"container": "events"}).status_code == 403
    assert upstream.connections == 0


def test_outsiders_get_404(data_install, charlie_api, upstream):
    response = call(charlie_api, data_install, "listTables", {})
    assert response.status_code == 404
    assert upstream.connections == 0


def test_a_changed_allow_list_applies_to_the_very_next_call(data_install, bob_api, bob, alice):
    """The async face caches the caller's context; any change to the installation moves its
    generation and the next call reloads it."""
    from plugins.installations.services import set_allow_list

    arguments = {"database": "sales", "question": "how many?"}
    assert call(bob_api, data_install, "querySqlDatabase", arguments).status_code == 200
    set_allow_list(
        installation=data_install, member=bob, values={"database": ["hr"]}, changed_by=alice
    )
    assert call(bob_api, data_install, "querySqlDatabase", arguments).status_code == 403
    from plugins.installations.services import update_installation

    update_installation(installation=data_install, changed_by=alice, enabled=False)
    assert call(bob_api, data_install, "listTables", {}).status_code == 403


def test_a_revoked_token_stops_working(data_install, acme, bob, upstream):
    from django.test import Client
    from django.utils import timezone

    from accounts.models import CredentialKind
    from accounts.services import issue_credential

    credential, token = issue_credential(
        organization=acme, kind=CredentialKind.PERSONAL, name="t", created_by=bob, user=bob
    )
    client = Client(headers={"Authorization": f"Bearer {token}"})
    assert call(client, data_install, "listTables", {}).status_code == 200
    credential.revoked_at = timezone.now()
    credential.save()
    response = call(client, data_install, "listTables", {})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
