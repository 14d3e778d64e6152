"""Hostile calls found by an adversarial pass: each is answered with a 4xx (never a 500), nothing
the member may not send reaches the plugin, and nothing secret comes back."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from plugins.installations.selectors import toolset_of
from plugins.installations.services import install_plugin, set_allow_list
from tests.proxy.conftest import call, install_with_service_key, publish_version
from tests.support.upstream import reply_json
from tests.tools.specs import data_plugin_spec


def install_with(acme, alice, bob, upstream, path_item: dict, name: str = "extra"):
    """The data plugin plus one operation at GET/POST /things; bob may use `sales`."""
    spec = data_plugin_spec(upstream.url)
    spec["paths"]["/things"] = path_item
    version = publish_version(acme, spec, base=upstream.url, name=name)
    installation = install_plugin(organization=acme, version=version, installed_by=alice)
    set_allow_list(
        installation=installation, member=bob, values={"database": ["sales"]}, changed_by=alice
    )
    upstream.route("GET /things", lambda h: reply_json(h, 200, {"ok": True}))
    return installation


def argument_at(installation, operation: str, location: str, name: str) -> str:
    tool = next(t for t in toolset_of(installation.version).tools if t.operation == operation)
    return tool.argument_for(location, name)


GUARDED_QUERY_AND_OBJECT = {
    "get": {
        "operationId": "searchThings",
        "parameters": [
            {
                "name": "database",
                "in": "query",
                "required": True,
                "x-marketplace-resource": "database",
                "schema": {"type": "string"},
            },
            {"name": "filter", "in": "query", "schema": {"type": "object"}},
        ],
        "responses": {"200": {"description": "OK"}},
    }
}


def test_an_object_query_parameter_cannot_carry_a_guarded_parameter(
    acme, alice, bob, bob_api, upstream
):
    # form/explode spreads an object's properties as query parameters: `filter` must not
    # become a second `database=finance` beside the allowed one, nor stand in for it
    installation = install_with(acme, alice, bob, upstream, GUARDED_QUERY_AND_OBJECT)
    for arguments in (
        {"database": "sales", "filter": {"database": "finance"}},
        {"database": "sales", "filter": {"status": "open", "database": "finance"}},
    ):
        response = call(bob_api, installation, "searchThings", arguments)
        assert response.status_code == 422, response.content
        assert response.json()["error"]["violations"][0]["pointer"] == "/filter"
    assert upstream.connections == 0
    allowed = call(
        bob_api, installation, "searchThings", {"database": "sales", "filter": {"status": "open"}}
    )
    assert allowed.status_code == 200, allowed.content
    assert [s.path for s in upstream.seen] == ["/things?database=sales&status=open"]


@pytest.mark.parametrize(
    ("operation", "arguments", "pointer"),
    [
        ("querySqlDatabase", {"database": "sales", "question": "\\ud800 lone"}, "/question"),
        ("queryCosmosDb", {"container": "events", "question": "\\udfff"}, "/question"),
    ],
    ids=["in-the-body", "in-the-query"],
)
def test_a_lone_surrogate_is_a_422_not_a_500(
    data_install, bob_api, upstream, operation, arguments, pointer
):
    # valid JSON (an escaped lone surrogate) that no UTF-8 request can carry
    raw = '{"arguments": {' + ", ".join(f'"{k}": "{v}"' for k, v in arguments.items()) + "}}"
    response = call(bob_api, data_install, operation, raw)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["violations"][0]["pointer"] == pointer
    assert upstream.connections == 0


SERVICE_KEY = "svc-canary-echo-9f8e7d6c5b4a"


def install_svc(acme, alice, bob, upstream, key: str):
    """The data plugin with the publisher's service key; bob may use `sales`."""
    installation = install_with_service_key(
        acme, alice, data_plugin_spec(upstream.url), base=upstream.url, key=key, name="svc"
    )
    set_allow_list(
        installation=installation, member=bob, values={"database": ["sales"]}, changed_by=alice
    )
    return installation


def echo_headers(status: int, content_type: str = "application/json"):
    """A plugin that echoes the request's headers back (a debug endpoint, a chatty error)."""

    def route(handler):
        seen = {name.lower(): value for name, value in handler.headers.items()}
        if content_type == "application/json":
            body = json.dumps({"error": "bad key", "you_sent": seen}).replace("/", "\\/")
        else:
            body = "\n".join(f"{name}: {value}" for name, value in seen.items())
        handler.reply(status, body.encode(), content_type=content_type)

    return route


@pytest.mark.parametrize(
    ("status", "content_type"),
    [(401, "application/json"), (200, "application/json"), (200, "text/plain")],
)
def test_a_plugin_echoing_its_credential_or_the_assertion_gives_neither_to_the_caller(
    acme, alice, bob, bob_api, upstream, status, content_type
):
    installation = install_svc(acme, alice, bob, upstream, SERVICE_KEY)
    upstream.route("GET /databases", echo_headers(status, content_type))
    answers = [
        call(bob_api, installation, "listTables", {}),
        bob_api.get(f"/api/v1/installations/{installation.pk}/passthrough/databases"),
    ]
    for answer, seen in zip(answers, upstream.seen, strict=True):
        assert answer.status_code in (200, status), answer.content
        assert seen.headers["x-api-key"] == SERVICE_KEY  # the plugin did get it
        body = answer.content.decode()
        assert SERVICE_KEY not in body
        assert seen.headers["x-marketplace-assertion"] not in body
        assert "[redacted]" in body
        assert "pluginmarketplace" in body.lower()  # the rest of the echo is kept


def test_the_passthrough_decodes_a_path_value_once(data_install, bob_api, bob, alice, upstream):
    # the server already decoded the path: decoding again turned "%2565vents" into "events"
    # and made a value holding a literal "%41" unreachable
    set_allow_list(
        installation=data_install,
        member=bob,
        values={"database": ["sales"], "container": ["events", "a%41"]},
        changed_by=alice,
    )
    base = f"/api/v1/installations/{data_install.pk}/passthrough"
    literal = bob_api.get(f"{base}/containers/a%2541/query")
    assert literal.status_code == 200, literal.content
    assert literal.json()["container"] == "a%2541"  # the plugin's own route sees it encoded
    assert bob_api.get(f"{base}/containers/%2565vents/query").status_code == 403
    assert [s.path for s in upstream.seen] == ["/containers/a%2541/query"]


@pytest.mark.parametrize("status", [204, 205, 304])
def test_the_passthrough_answers_a_bodiless_status_without_a_body(
    data_install, bob_api, upstream, status
):
    # a stray body on a 204/205/304 is left on a keep-alive connection and read as the start
    # of the client's next answer
    upstream.route("GET /databases", lambda h: h.reply(status, b""))
    response = bob_api.get(f"/api/v1/installations/{data_install.pk}/passthrough/databases")
    assert response.status_code == status
    assert response.content == b""
    assert response.get("Content-Length", "0") == "0"


def test_a_switching_protocols_answer_is_a_502_on_both_faces(data_install, bob_api, upstream):
    def switch(handler):
        handler.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
        handler.close_connection = True

    upstream.route("GET /databases", switch)
    called = call(bob_api, data_install, "listTables", {})
    assert called.status_code == 502, called.content
    passthrough = bob_api.get(f"/api/v1/installations/{data_install.pk}/passthrough/databases")
    assert passthrough.status_code == 502


STYLED = {
    "get": {
        "operationId": "styled",
        "parameters": [
            {
                "name": "ids",
                "in": "query",
                "explode": False,
                "schema": {"type": "array", "items": {"type": "string"}},
            },
            {
                "name": "tags",
                "in": "query",
                "style": "pipeDelimited",
                "schema": {"type": "array", "items": {"type": "string"}},
            },
            {
                "name": "filter",
                "in": "query",
                "style": "deepObject",
                "explode": True,
                "schema": {"type": "object", "properties": {"status": {"type": "string"}}},
            },
            {
                "name": "many",
                "in": "query",
                "schema": {"type": "array", "items": {"type": "integer"}},
            },
        ],
        "responses": {"200": {"description": "OK"}},
    }
}


def test_query_parameters_are_sent_in_their_declared_style(acme, alice, bob, bob_api, upstream):
    installation = install_with(acme, alice, bob, upstream, STYLED, name="styled")
    arguments = {"ids": ["a", "b,c"], "tags": ["x", "y"], "filter": {"status": "open"}}
    response = call(bob_api, installation, "styled", {**arguments, "many": [1, 2]})
    assert response.status_code == 200, response.content
    # the passthrough reads them back the same way
    base = f"/api/v1/installations/{installation.pk}/passthrough"
    through = bob_api.get(f"{base}/things?ids=a,b&tags=x|y&many=1&many=2")
    assert through.status_code == 200, through.content
    first, second = (parse_qsl(urlsplit(s.path).query) for s in upstream.seen)
    assert first == [
        ("ids", "a,b,c"),
        ("tags", "x|y"),
        ("filter[status]", "open"),
        ("many", "1"),
        ("many", "2"),
    ]
    assert second == [("ids", "a,b"), ("tags", "x|y"), ("many", "1"), ("many", "2")]


FORM = {
    "post": {
        "operationId": "addNote",
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["text"],
                        "properties": {"text": {"type": "string"}, "stars": {"type": "integer"}},
                    }
                }
            },
        },
        "responses": {"200": {"description": "OK"}},
    }
}


def test_the_passthrough_takes_a_form_body_for_a_form_operation(
    acme, alice, bob, bob_api, upstream
):
    # a spec-reading client sends the body the spec declares: urlencoded, not JSON
    installation = install_with(acme, alice, bob, upstream, FORM, name="notes")
    upstream.route("POST /things", lambda h: reply_json(h, 200, {"saved": True}))
    base = f"/api/v1/installations/{installation.pk}/passthrough"
    form = "application/x-www-form-urlencoded"
    saved = bob_api.post(f"{base}/things", data="text=caf%C3%A9+%26+co&stars=4", content_type=form)
    assert saved.status_code == 200, saved.content
    assert saved.json() == {"saved": True}
    (seen,) = upstream.seen
    assert parse_qsl(seen.body.decode()) == [("text", "café & co"), ("stars", "4")]
    repeated = bob_api.post(f"{base}/things", data="text=a&text=b", content_type=form)
    assert repeated.status_code == 422
    wrong = bob_api.post(f"{base}/things", data="text=a&stars=many", content_type=form)
    assert wrong.status_code == 422
    assert len(upstream.seen) == 1


@pytest.mark.parametrize(
    "values",
    [{"database": ["sales\x00"]}, {"database": ["\ud800"]}, {"data\x00base": ["sales"]}],
    ids=["nul-in-a-value", "lone-surrogate-in-a-value", "nul-in-a-name"],
)
def test_an_allow_list_postgresql_cannot_store_is_a_400_not_a_500(data_install, alice_api, values):
    url = f"/api/v1/installations/{data_install.pk}/allow-lists/bob@example.com"
    body = json.dumps(values)  # escaped: \\u0000, \\ud800
    response = alice_api.put(url, data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert alice_api.get(url).json()["values"] == {
        "database": ["hr", "sales"],
        "container": ["events"],
    }


@pytest.mark.parametrize(
    "q", ["da\x00ta", "\x00", "data\x00", "\x07da\x1bta\x7f", "da\u2028ta", "zq\x00data"], ids=repr
)
def test_nul_and_control_characters_in_a_lookup_search_only_separate_words(
    data_install, bob_api, q
):
    """As in the catalogue's search (one rule: plugins.selectors.search_terms), never a 500 and
    never a refusal: the lookup finds exactly the installed plugins the catalogue finds."""
    lookup = bob_api.get("/api/v1/installed-plugins/", {"q": q})
    catalogue = bob_api.get("/api/v1/plugins/", {"q": q})
    assert lookup.status_code == catalogue.status_code == 200, lookup.content
    found = [entry["plugin_id"] for entry in lookup.json()]
    assert found == [plugin["id"] for plugin in catalogue.json()]
    assert found == ([] if q.startswith("zq") else [data_install.plugin_id])


SCORE = {
    "post": {
        "operationId": "score",
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": {"weight": {"type": "number"}}}
                }
            }
        },
        "responses": {"200": {"description": "OK"}},
    }
}


def test_a_number_too_large_for_a_float_is_refused_not_sent_as_infinity(
    acme, alice, bob, bob_api, upstream
):
    # json.loads reads 1e999 as inf, which would go upstream as the non-JSON `Infinity`
    installation = install_with(acme, alice, bob, upstream, SCORE, name="score")
    upstream.route("POST /things", lambda h: reply_json(h, 200, {"ok": True}))
    for number in ("1e999", "-1e999"):
        raw = '{"arguments": {"weight": ' + number + "}}"
        assert call(bob_api, installation, "score", raw).status_code == 400
    base = f"/api/v1/installations/{installation.pk}/passthrough"
    through = bob_api.post(
        f"{base}/things", data='{"weight": 1e999}', content_type="application/json"
    )
    assert through.status_code == 400
    assert upstream.connections == 0
    assert (
        call(bob_api, installation, "score", '{"arguments": {"weight": 1.5e3}}').status_code == 200
    )
    assert upstream.seen[0].body == b'{"weight":1500.0}'


@pytest.mark.parametrize("body", [b'{"rows": NaN}', b'{"rows": Infinity}', b"[1e999]"])
def test_a_plugin_answering_nan_or_infinity_is_invalid_json_not_passed_on(
    data_install, bob_api, upstream, body
):
    # Python's json reads them; the caller's JSON parser would not read our answer
    upstream.route("GET /databases", lambda h: h.reply(200, body))
    called = call(bob_api, data_install, "listTables", {})
    assert called.status_code == 502
    assert called.json()["error"]["code"] == "proxy.upstream_invalid_json"
    through = bob_api.get(f"/api/v1/installations/{data_install.pk}/passthrough/databases")
    assert through.status_code == 502
    json.loads(through.content, parse_constant=pytest.fail)
