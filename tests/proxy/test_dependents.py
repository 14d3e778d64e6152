"""x-dependent and x-lookup: the marketplace runs the referenced operation itself when it needs
no model input, for the same member and through the same rules, against a real upstream."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from plugins.installations.models import CallEvent
from plugins.installations.selectors import toolset_of
from plugins.installations.services import install_plugin, set_allow_list
from plugins.proxy.call import call_operation
from plugins.proxy.events import drain_call_events
from plugins.proxy.ids import new_request_id
from tests.proxy.conftest import call, install_with_service_key, publish_version
from tests.proxy.test_filters import chain
from tests.support.upstream import Upstream, reply_json
from tests.tools.specs import trains_spec
from tests.validation.helpers import manifest, validate


def query_of(seen) -> dict:
    return dict(parse_qs(urlsplit(seen.path).query).items())


@pytest.fixture
def trains_upstream():
    with Upstream() as server:
        server.route(
            "GET /home_city",
            lambda h: reply_json(h, 200, {"city": {"id": "c-42", "name": "Austin"}}),
        )
        server.route(
            "GET /trains",
            lambda h: reply_json(
                h,
                200,
                [
                    {"name": "Texas Eagle", "provider_id": "amtrak"},
                    {"name": "Sunset", "provider_id": "amtrak"},
                    {"name": "Lone Star", "provider_id": "tx-rail"},
                ],
            ),
        )
        names = {"amtrak": "Amtrak", "tx-rail": "Texas Rail"}
        server.route(
            "GET /providers",
            lambda h: reply_json(
                h, 200, {"name": names[query_of(h.server.seen[-1])["provider_id"][0]]}
            ),
        )
        yield server


def install_trains(acme, alice, upstream, **spec_options):
    version = publish_version(
        acme, trains_spec(upstream.url, **spec_options), base=upstream.url, name="trains"
    )
    return install_plugin(organization=acme, version=version, installed_by=alice)


def paths(upstream) -> list[str]:
    return [seen.path.split("?", 1)[0] for seen in upstream.seen]


def test_the_model_is_not_asked_for_a_value_the_marketplace_fills(acme, alice, trains_upstream):
    installation = install_trains(acme, alice, trains_upstream)
    tool = toolset_of(installation.version).tool("searchTrains")
    assert "origin_city_id" not in tool.parameters["properties"]
    assert "origin_city_id" not in tool.parameters.get("required", [])
    assert tool.dependents["origin_city_id"].operation == "getHomeCity"
    assert [lk.operation for lk in tool.lookups] == ["getProvider"]


def test_it_runs_the_dependent_first_then_the_call_with_its_value_then_the_lookups(
    acme, alice, bob_api, trains_upstream
):
    installation = install_trains(acme, alice, trains_upstream)
    response = call(bob_api, installation, "searchTrains", {"date": "2026-12-07"})
    assert response.status_code == 200, response.json()
    body = response.json()

    home, trains, *providers = trains_upstream.seen
    assert home.path == "/home_city?units=metric"
    assert query_of(trains) == {"origin_city_id": ["c-42"], "date": ["2026-12-07"]}
    assert [query_of(p)["provider_id"] for p in providers] == [["amtrak"], ["tx-rail"]]
    # every extra call carries the member's signed assertion, like the call itself
    assert all("x-marketplace-assertion" in seen.headers for seen in trains_upstream.seen)

    assert body["data"][0]["name"] == "Texas Eagle"
    assert [(lk["field"], lk["value"], lk["data"]) for lk in body["lookups"]] == [
        ("provider_id", "amtrak", {"name": "Amtrak"}),
        ("provider_id", "tx-rail", {"name": "Texas Rail"}),
    ]
    assert {lk["operation"] for lk in body["lookups"]} == {"getProvider"}

    drain_call_events()
    events = {e.request_id: e for e in CallEvent.objects.all()}
    request_id = body["request_id"]
    assert events[request_id].operation == "searchTrains"
    assert events[f"{request_id}-d1"].via == "dependent"
    assert events[f"{request_id}-d1"].operation == "getHomeCity"
    assert events[f"{request_id}-l1"].via == "lookup"
    assert len(events) == 4
    assert all(e.decision == "allowed" for e in events.values())


@pytest.mark.parametrize("filtered", [False, True], ids=["no-filter", "x-filter"])
def test_the_answer_is_parsed_once_and_lookups_read_it_before_the_filter(
    acme, alice, bob_api, trains_upstream, monkeypatch, filtered
):
    """The call's answer is parsed once (pipeline.answer); the x-lookups read that parse, as
    the plugin answered (an x-filter shapes what the model reads, not what is looked up)."""
    from plugins.proxy import dependents, pipeline

    parsed: list[bytes] = []
    for module in (pipeline, dependents):
        real = module.parse_body

        def spy(content, *args, real=real):
            parsed.append(content)
            return real(content, *args)

        monkeypatch.setattr(module, "parse_body", spy)
    spec = trains_spec(trains_upstream.url)
    if filtered:
        spec["paths"]["/trains"]["get"]["x-filter"] = chain(
            "{% for t in data %}{{ t.name }};{% endfor %}"
        )
    version = publish_version(acme, spec, base=trains_upstream.url, name="trains")
    installation = install_plugin(organization=acme, version=version, installed_by=alice)
    response = call(bob_api, installation, "searchTrains", {})
    assert response.status_code == 200, response.content
    body = response.json()
    if filtered:
        assert body["text"] == "Texas Eagle;Sunset;Lone Star;"
    assert [(lk["value"], lk["data"]) for lk in body["lookups"]] == [
        ("amtrak", {"name": "Amtrak"}),
        ("tx-rail", {"name": "Texas Rail"}),
    ]
    trains_answer = next(c for c in parsed if b"Texas Eagle" in c)
    assert parsed.count(trains_answer) == 1


def test_the_dependent_answer_is_reused_briefly_for_the_same_member(
    acme, alice, bob_api, trains_upstream
):
    installation = install_trains(acme, alice, trains_upstream)
    assert call(bob_api, installation, "searchTrains", {}).status_code == 200
    assert call(bob_api, installation, "searchTrains", {}).status_code == 200
    assert paths(trains_upstream).count("/home_city") == 1
    assert paths(trains_upstream).count("/trains") == 2


def test_the_sync_face_resolves_them_too(acme, alice, bob, trains_upstream):
    installation = install_trains(acme, alice, trains_upstream)
    result = call_operation(
        installation=installation,
        user=bob,
        via="session",
        operation="searchTrains",
        arguments={},
        request_id=new_request_id(),
    )
    assert result.http_status == 200, result.body
    assert paths(trains_upstream)[:2] == ["/home_city", "/trains"]
    assert query_of(trains_upstream.seen[1])["origin_city_id"] == ["c-42"]
    assert len(result.body["lookups"]) == 2


def test_a_model_may_not_supply_the_filled_value(acme, alice, bob_api, trains_upstream):
    installation = install_trains(acme, alice, trains_upstream)
    response = call(bob_api, installation, "searchTrains", {"origin_city_id": "c-1"})
    assert response.status_code == 422
    (violation,) = response.json()["error"]["violations"]
    assert violation["pointer"] == "/origin_city_id"
    assert "getHomeCity" in violation["message"]
    assert trains_upstream.seen == []


def test_invalid_arguments_send_nothing_not_even_the_dependent(
    acme, alice, bob_api, trains_upstream
):
    installation = install_trains(acme, alice, trains_upstream)
    response = call(bob_api, installation, "searchTrains", {"date": 7})
    assert response.status_code == 422
    assert trains_upstream.seen == []


def test_a_failing_dependent_fails_the_call_naming_it(acme, alice, bob_api, trains_upstream):
    trains_upstream.route("GET /home_city", lambda h: reply_json(h, 500, {"error": "boom"}))
    installation = install_trains(acme, alice, trains_upstream)
    response = call(bob_api, installation, "searchTrains", {})
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "proxy.dependent_failed"
    assert error["dependent"] == "getHomeCity"
    assert "'getHomeCity'" in error["message"]
    assert "HTTP 500" in error["message"]
    assert paths(trains_upstream) == ["/home_city"]  # the call itself never went out

    drain_call_events()
    request_id = response.json()["request_id"]
    main = CallEvent.objects.get(request_id=request_id)
    assert (main.decision, main.reason) == ("upstream_error", "proxy.dependent_failed")
    dependent = CallEvent.objects.get(request_id=f"{request_id}-d1")
    assert (dependent.operation, dependent.upstream_status) == ("getHomeCity", 500)


def test_a_dependent_answer_without_the_field_fails_the_call(acme, alice, bob_api, trains_upstream):
    trains_upstream.route("GET /home_city", lambda h: reply_json(h, 200, {"city": {}}))
    installation = install_trains(acme, alice, trains_upstream)
    response = call(bob_api, installation, "searchTrains", {})
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "proxy.dependent_failed"
    assert "/city/id" in error["message"]
    assert paths(trains_upstream) == ["/home_city"]


def test_a_failing_lookup_leaves_the_answer_and_says_why(acme, alice, bob_api, trains_upstream):
    trains_upstream.route("GET /providers", lambda h: reply_json(h, 503, {}))
    installation = install_trains(acme, alice, trains_upstream)
    response = call(bob_api, installation, "searchTrains", {})
    assert response.status_code == 200
    body = response.json()
    assert len(body["data"]) == 3
    assert all("failed" in lk["error"] for lk in body["lookups"])


def test_a_reference_to_an_operation_that_does_not_exist_is_refused_at_validation():
    spec = trains_spec("https://api.example.com")
    origin = spec["paths"]["/trains"]["get"]["parameters"][0]
    origin["x-dependent"] = {"path": "/nowhere", "method": "get"}
    report = validate(manifest(), spec, origin="api.example.com")
    assert not report.passed
    assert "openplugin.dependent.unknown_operation" in {f.code for f in report.errors}


def test_a_guarded_default_never_reaches_the_plugin_through_a_dependent(
    acme, alice, bob, bob_api, trains_upstream
):
    """getHomeCity sends `database` (guarded) with the spec's default, finance: bob may only
    use sales, so neither the dependent nor the call goes out."""
    guarded = {
        "name": "database",
        "in": "query",
        "required": True,
        "x-marketplace-resource": "database",
        "schema": {"type": "string", "default": "finance"},
    }
    installation = install_trains(acme, alice, trains_upstream, home_params=[guarded])
    set_allow_list(
        installation=installation, member=bob, values={"database": ["sales"]}, changed_by=alice
    )
    response = call(bob_api, installation, "searchTrains", {})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "proxy.not_allowed"
    assert error["dependent"] == "getHomeCity"
    assert trains_upstream.seen == []


def test_a_dependent_value_outside_the_allow_list_is_refused_before_the_call(
    acme, alice, bob, bob_api, trains_upstream
):
    """The filled value is checked like a model's: the city is guarded, bob may use c-1 only,
    and getHomeCity answers c-42."""
    installation = install_trains(acme, alice, trains_upstream, guarded_origin=True)
    set_allow_list(
        installation=installation,
        member=bob,
        values={"origin_city_id": ["c-1"]},
        changed_by=alice,
    )
    response = call(bob_api, installation, "searchTrains", {})
    assert response.status_code == 403
    assert response.json()["error"]["parameter"] == "origin_city_id"
    assert paths(trains_upstream) == ["/home_city"]  # the call itself never went out


def test_the_dependent_and_the_call_share_one_deadline(
    acme, alice, bob_api, trains_upstream, settings
):
    """Each answer alone comes in time; together they don't: the call is cut at the call's
    deadline (PROXY_TIMEOUT), not given a fresh one after its dependent."""
    settings.PROXY_TIMEOUT = 2

    def slowly(payload):
        def route(handler):
            handler.wait(1.3)
            reply_json(handler, 200, payload)

        return route

    trains_upstream.route("GET /home_city", slowly({"city": {"id": "c-42"}}))
    trains_upstream.route("GET /trains", slowly([]))
    installation = install_trains(acme, alice, trains_upstream)
    response = call(bob_api, installation, "searchTrains", {})
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "proxy.upstream_timeout"
    assert paths(trains_upstream) == ["/home_city", "/trains"]


def test_a_dependent_gets_its_values_from_the_members_credential(acme, alice, bob, bob_api):
    """x-bootstrap-value templates on the dependent are rendered (in the sandbox) with the
    member's own key, and the key goes out as their credential too."""
    from plugins.credentials.services import set_user_credential

    key = "usr-dependent-key-8f7e6d5c"
    token = {
        "name": "token",
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
        "x-bootstrap-value": "{{ auth.token }}",
    }
    with Upstream() as upstream:
        upstream.route("GET /home_city", lambda h: reply_json(h, 200, {"city": {"id": "c-7"}}))
        upstream.route("GET /trains", lambda h: reply_json(h, 200, []))
        version = publish_version(
            acme,
            trains_spec(upstream.url, home_params=[token]),
            base=upstream.url,
            name="keyed",
            auth={"type": "user_http", "authorization_type": "bearer"},
        )
        installation = install_plugin(organization=acme, version=version, installed_by=alice)
        set_user_credential(installation=installation, user=bob, token=key)
        response = call(bob_api, installation, "searchTrains", {})
        assert response.status_code == 200, response.json()
        home, trains = upstream.seen
        assert query_of(home) == {"units": ["metric"], "token": [key]}
        assert home.headers["authorization"] == f"Bearer {key}"
        assert query_of(trains)["origin_city_id"] == ["c-7"]
        assert key not in response.content.decode()


def test_the_passthrough_leaves_filled_parameters_out_and_fills_them(
    acme, alice, bob_api, trains_upstream
):
    installation = install_trains(acme, alice, trains_upstream)
    spec = bob_api.get(f"/api/v1/installed-plugins/{installation.pk}/openapi").json()
    names = [p["name"] for p in spec["paths"]["/trains"]["get"]["parameters"]]
    assert names == ["date"]

    base = f"/api/v1/installations/{installation.pk}/passthrough"
    response = bob_api.get(f"{base}/trains?date=2026-12-07")
    assert response.status_code == 200
    assert response.json()[0]["name"] == "Texas Eagle"  # answered as the plugin would
    assert query_of(trains_upstream.seen[1])["origin_city_id"] == ["c-42"]
    assert paths(trains_upstream) == ["/home_city", "/trains"]  # no lookups it can't show
    assert bob_api.get(f"{base}/trains?origin_city_id=c-1").status_code == 422


def test_a_lookup_value_outside_the_allow_list_is_never_sent(
    acme, alice, bob, bob_api, trains_upstream
):
    """Values a plugin's answer holds are checked like a model's before a lookup sends them:
    the provider is guarded and bob may look up amtrak only."""
    spec = trains_spec(trains_upstream.url)
    provider = spec["paths"]["/providers"]["get"]["parameters"][0]
    provider["x-marketplace-resource"] = "provider"
    version = publish_version(acme, spec, base=trains_upstream.url, name="guarded")
    installation = install_plugin(organization=acme, version=version, installed_by=alice)
    set_allow_list(
        installation=installation, member=bob, values={"provider_id": ["amtrak"]}, changed_by=alice
    )
    response = call(bob_api, installation, "searchTrains", {})
    assert response.status_code == 200
    amtrak, tx_rail = response.json()["lookups"]
    assert amtrak["data"] == {"name": "Amtrak"}
    assert tx_rail["value"] == "tx-rail"
    assert "not allowed" in tx_rail["error"]
    sent = [query_of(s)["provider_id"] for s in trains_upstream.seen if "/providers" in s.path]
    assert sent == [["amtrak"]]


def test_a_looked_up_value_echoing_the_service_key_is_redacted_like_the_answer(
    acme, alice, bob_api, trains_upstream
):
    """A plugin that puts the key it was sent where an x-lookup sits: the caller gets neither
    it in the answer's data nor in `lookups[].value`."""
    key = "svc-key-0123456789abcdef"

    def echo_key(handler):
        sent = handler.headers["Authorization"].removeprefix("Bearer ")
        reply_json(handler, 200, [{"name": "Echo", "provider_id": sent}])

    trains_upstream.route("GET /trains", echo_key)
    installation = install_with_service_key(
        acme,
        alice,
        trains_spec(trains_upstream.url),
        base=trains_upstream.url,
        key=key,
        name="trains",
    )
    response = call(bob_api, installation, "searchTrains", {})
    assert response.status_code == 200, response.content
    assert key not in response.content.decode()
    assert [lk["value"] for lk in response.json()["lookups"]] == ["[redacted]"]
