"""Every way we know to slip a denied value past the allow-list: each is refused before the
plugin sees anything (the loopback upstream accepts no connection)."""

from __future__ import annotations

import json

import pytest

from plugins.installations.services import set_allow_list
from tests.proxy.conftest import call

QUESTION = "how many rows?"


@pytest.mark.parametrize(
    ("database", "status"),
    [
        pytest.param("Sales", 403, id="another-case"),
        pytest.param("SALES", 403, id="upper-case"),
        pytest.param("\u0455ales", 403, id="cyrillic-dze-look-alike"),
        pytest.param("\uff53\uff41\uff4c\uff45\uff53", 403, id="fullwidth-look-alike"),
        pytest.param("sales\u200b", 403, id="zero-width-space"),
        pytest.param(" sales", 403, id="leading-space"),
        pytest.param("sales\x00", 403, id="nul-suffix"),
        pytest.param(["sales"], 422, id="array-for-string"),
        pytest.param(["sales", "finance"], 422, id="array-of-both"),
        pytest.param({"name": "sales"}, 422, id="object-for-string"),
        pytest.param(None, 422, id="null"),
        pytest.param("finance", 403, id="plainly-other"),
    ],
)
def test_it_refuses_look_alike_and_wrongly_typed_values(
    data_install, bob_api, upstream, database, status
):
    response = call(
        bob_api, data_install, "querySqlDatabase", {"database": database, "question": QUESTION}
    )
    assert response.status_code == status, response.content
    assert upstream.connections == 0


def test_it_refuses_a_repeated_key(data_install, bob_api, upstream):
    raw = '{"arguments": {"database": "sales", "question": "abcd", "database": "finance"}}'
    response = call(bob_api, data_install, "querySqlDatabase", raw)
    assert response.status_code == 400
    assert "repeated keys" in response.json()["error"]["message"]
    assert upstream.connections == 0


def test_it_refuses_the_value_smuggled_as_an_extra_property(data_install, bob_api, upstream):
    for extra in ({"databases": ["finance"]}, {"body_database": "finance"}, {"Database": "x"}):
        arguments = {"database": "sales", "question": QUESTION, **extra}
        response = call(bob_api, data_install, "querySqlDatabase", arguments)
        assert response.status_code == 422
    assert upstream.connections == 0


def test_it_refuses_the_value_smuggled_in_another_location_through_the_passthrough(
    data_install, bob_api, upstream
):
    base = f"/api/v1/installations/{data_install.pk}/passthrough"
    body = json.dumps({"database": "sales", "question": QUESTION})
    in_query = bob_api.post(
        f"{base}/query?database=finance", data=body, content_type="application/json"
    )
    assert in_query.status_code == 422
    repeated = bob_api.get(f"{base}/containers/events/query?question=a&question=b")
    assert repeated.status_code == 422
    in_path = bob_api.get(f"{base}/containers/finance/query")
    assert in_path.status_code == 403
    # Django decodes %2F before routing: the path no longer matches the operation's template
    traversal = bob_api.get(f"{base}/containers/events%2F..%2Ffinance/query")
    assert traversal.status_code == 404
    twice = bob_api.post(
        f"{base}/query",
        data='{"database": "sales", "question": "abcd", "database": "finance"}',
        content_type="application/json",
    )
    assert twice.status_code == 400
    assert upstream.connections == 0


def test_caller_headers_are_never_forwarded(data_install, bob_api, upstream):
    response = call(
        bob_api,
        data_install,
        "querySqlDatabase",
        {"database": "sales", "question": QUESTION},
        **{"X-Database": "finance", "Cookie": "session=stolen", "X-Forwarded-Host": "evil"},
    )
    assert response.status_code == 200
    (seen,) = upstream.seen
    assert "x-database" not in seen.headers
    assert "cookie" not in seen.headers
    assert "x-forwarded-host" not in seen.headers
    assert not seen.headers.get("authorization", "").startswith("Bearer mkp_")


def test_another_members_values_are_not_yours(data_install, bob_api, alice, upstream):
    set_allow_list(
        installation=data_install, member=alice, values={"database": ["finance"]}, changed_by=alice
    )
    response = call(
        bob_api, data_install, "querySqlDatabase", {"database": "finance", "question": QUESTION}
    )
    assert response.status_code == 403
    assert upstream.connections == 0


def test_another_organizations_installation_is_404(data_install, charlie_api, upstream):
    response = call(
        charlie_api, data_install, "querySqlDatabase", {"database": "sales", "question": QUESTION}
    )
    assert response.status_code == 404
    passthrough = charlie_api.get(f"/api/v1/installations/{data_install.pk}/passthrough/databases")
    assert passthrough.status_code == 404
    assert upstream.connections == 0
