"""The installations console, as people use it: install from the storefront, settings,
uninstall, allow-lists, "try it" through the real proxy, usage charts from call events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEvent, Membership, Role
from plugins.installations.models import AllowList, CallEvent, Installation
from plugins.proxy.events import drain_call_events, store_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_web(web_as, alice, acme):
    return web_as(alice)


@pytest.fixture
def bob_web(web_as, bob, acme):
    return web_as(bob)


def detail_url(installation) -> str:
    return f"/o/acme/installations/{installation.pk}/"


def test_an_admin_installs_a_published_plugin_from_its_page(
    alice_web, alice, acme, globex, charlie
):
    from tests.support.trips_plugin import publish_trips

    plugin = publish_trips(globex, charlie)
    page = alice_web.get(f"/plugins/{plugin.public_id}/").content.decode()
    assert "Install in Acme" in page
    r = alice_web.post("/o/acme/installations/new/", {"plugin": plugin.public_id})
    installation = Installation.objects.get(organization=acme, plugin=plugin)
    assert r["Location"] == detail_url(installation)
    assert installation.version_id == plugin.published_version_id
    assert AuditEvent.objects.filter(organization=acme, action="plugin.installed").exists()
    page = alice_web.get(f"/plugins/{plugin.public_id}/").content.decode()
    assert "Installed in Acme" in page


def test_a_member_can_install_only_where_they_are_admin(bob_web, acme, globex, charlie):
    from tests.support.trips_plugin import publish_trips

    plugin = publish_trips(globex, charlie)
    page = bob_web.get(f"/plugins/{plugin.public_id}/").content.decode()
    assert "Install in Acme" not in page  # bob is a plain member there
    assert "Install in bob&#x27;s workspace" in page  # …and the owner of his own space
    r = bob_web.post("/o/acme/installations/new/", {"plugin": plugin.public_id})
    assert r.status_code == 403


def test_nobody_installs_an_unpublished_plugin(alice_web, acme, globex, charlie):
    from tests.support.plugins import upload

    draft = upload(globex, charlie).plugin
    r = alice_web.post("/o/acme/installations/new/", {"plugin": draft.public_id})
    assert r.status_code == 404
    assert not Installation.objects.exists()


def test_the_list_shows_installations_and_their_calls(alice_web, data_install):
    page = alice_web.get("/o/acme/installations/").content.decode()
    assert "Data" in page
    assert detail_url(data_install) in page


def test_an_admin_turns_an_operation_off_and_disables_the_installation(alice_web, data_install):
    r = alice_web.post(detail_url(data_install), {"operation": ["querySqlDatabase", "listTables"]})
    assert r.status_code == 302
    data_install.refresh_from_db()
    assert set(data_install.disabled_operations) == {"queryCosmosDb"}
    assert data_install.enabled is False
    alice_web.post(
        detail_url(data_install),
        {"operation": ["querySqlDatabase", "listTables", "queryCosmosDb"], "enabled": "on"},
    )
    data_install.refresh_from_db()
    assert data_install.disabled_operations == {}
    assert data_install.enabled is True
    assert AuditEvent.objects.filter(action="installation.changed").count() == 2


def test_members_see_the_installation_but_cannot_change_it(bob_web, data_install):
    page = bob_web.get(detail_url(data_install)).content.decode()
    assert "querySqlDatabase" in page
    assert 'name="operation"' not in page
    assert "Uninstall" not in page
    r = bob_web.post(detail_url(data_install), {"enabled": "on"})
    assert r.status_code == 403
    assert "needs the Admin role" in r.content.decode()
    assert bob_web.post(f"{detail_url(data_install)}uninstall/").status_code == 403


def test_uninstalling_asks_first_and_removes_it(alice_web, data_install):
    page = alice_web.get(detail_url(data_install)).content.decode()
    assert 'data-confirm="Uninstall Data from Acme?' in page
    r = alice_web.post(f"{detail_url(data_install)}uninstall/")
    assert r["Location"] == "/o/acme/installations/"
    assert not Installation.objects.filter(pk=data_install.pk).exists()


def test_the_allow_list_editor_sets_members_values_and_the_default(
    alice_web, alice, bob, data_install
):
    url = f"{detail_url(data_install)}allow-lists/"
    page = alice_web.get(url).content.decode()
    assert "<code>database</code>" in page
    assert "<code>container</code>" in page
    assert 'value="hr, sales"' in page  # bob's current databases
    r = alice_web.post(
        url,
        {
            f"v-{bob.pk}-database": "sales",
            f"v-{bob.pk}-container": "events, logs",
            f"v-{alice.pk}-database": "",
            "default-database": "public",
        },
    )
    assert r.status_code == 302
    row = AllowList.objects.get(installation=data_install, user=bob)
    assert row.values == {"database": ["sales"], "container": ["events", "logs"]}
    data_install.refresh_from_db()
    assert data_install.default_allowed == {"database": ["public"]}
    assert AuditEvent.objects.filter(action="installation.allow_list_changed").exists()


def test_try_it_calls_through_the_proxy_and_shows_what_the_model_gets(
    bob_web, data_install, upstream
):
    url = f"{detail_url(data_install)}try/querySqlDatabase/"
    form = bob_web.get(url).content.decode()
    assert '<select name="arg_database"' in form  # bob's allowed databases, nothing else
    assert '<option value="hr">hr</option>' in form
    assert '<option value="sales">sales</option>' in form
    assert 'name="arg_question"' in form
    r = bob_web.post(url, {"arg_database": "sales", "arg_question": "how many orders?"})
    html = r.content.decode()
    assert "What the model reads" in html
    assert "row_count" in html
    (seen,) = upstream.seen
    assert seen.path == "/query"
    drain_call_events()
    event = CallEvent.objects.get()
    assert event.via == "web"
    assert event.decision == "allowed"


def test_try_it_shows_a_refusal_from_the_allow_list(bob_web, data_install, upstream):
    url = f"{detail_url(data_install)}try/querySqlDatabase/"
    r = bob_web.post(url, {"arg_database": "secrets", "arg_question": "all of it"})
    assert "Select a valid choice" in r.content.decode()
    assert not upstream.seen


def test_try_it_says_why_a_member_without_values_cannot_call(web_as, alice, data_install, upstream):
    page = web_as(alice).get(f"{detail_url(data_install)}try/querySqlDatabase/").content.decode()
    assert "You have no allowed values for the parameter" in page
    assert "Edit the allow-lists" in page  # alice is an admin
    assert 'name="arg_question"' not in page


def test_usage_charts_count_calls_errors_and_latency(alice_web, data_install, acme):
    now = timezone.now()
    store_events(
        [
            CallEvent(
                request_id=f"r{i}",
                organization=acme,
                installation=data_install,
                plugin=data_install.plugin,
                operation="querySqlDatabase" if i % 2 else "listTables",
                decision="allowed" if i % 5 else "denied",
                latency_ms=10 + i,
                created_at=now - timedelta(days=i % 3, minutes=i),
            )
            for i in range(30)
        ]
    )
    page = alice_web.get(detail_url(data_install)).content.decode()
    assert "30 calls in the last 7 days." in page
    assert page.count("<svg") == 3
    assert "Calls per day, last 7 days" in page
    assert "<code>querySqlDatabase</code>" in page
    month = alice_web.get(detail_url(data_install), {"days": 30}).content.decode()
    assert "Calls per day, last 30 days" in month


def test_the_usage_page_costs_the_same_queries_with_more_calls(alice_web, data_install, acme):
    def add(n, start):
        store_events(
            [
                CallEvent(
                    request_id=f"q{start + i}",
                    organization=acme,
                    installation=data_install,
                    plugin=data_install.plugin,
                    operation="listTables",
                    decision="allowed",
                    latency_ms=5,
                    created_at=timezone.now() - timedelta(hours=i),
                )
                for i in range(n)
            ]
        )

    add(3, 0)
    alice_web.get(detail_url(data_install))
    with CaptureQueriesContext(connection) as few:
        alice_web.get(detail_url(data_install))
    add(300, 100)
    with CaptureQueriesContext(connection) as many:
        alice_web.get(detail_url(data_install))
    assert len(many) == len(few)


def test_outsiders_get_404(web_as, charlie, globex, data_install):
    web = web_as(charlie)
    assert web.get(f"/o/acme/installations/{data_install.pk}/").status_code == 404
    assert web.get(f"/o/globex/installations/{data_install.pk}/").status_code == 404


def test_a_member_below_admin_cannot_open_the_allow_list_editor(bob_web, data_install):
    assert Membership.objects.get(
        user__email="bob@example.com", organization__slug="acme"
    ).role == (Role.MEMBER)
    assert bob_web.get(f"{detail_url(data_install)}allow-lists/").status_code == 403


def make_calls(acme, installation, users, n=120):
    store_events(
        [
            CallEvent(
                request_id=f"c{i}",
                organization=acme,
                installation=installation,
                plugin=installation.plugin,
                user=users[(i // 4) % len(users)],
                via="web",
                operation="querySqlDatabase" if i % 2 else "listTables",
                decision="allowed" if i % 4 else "denied",
                reason="" if i % 4 else "proxy.not_allowed",
                upstream_status=200 if i % 4 else None,
                latency_ms=12.5,
                created_at=timezone.now() - timedelta(minutes=i),
            )
            for i in range(n)
        ]
    )


def test_the_call_log_filters_pages_and_exports(alice_web, alice, bob, acme, data_install):
    import csv
    import io

    make_calls(acme, data_install, [alice, bob])
    page = alice_web.get("/o/acme/calls/")
    assert len(page.context["calls"]) == 50
    assert page.context["next_url"]
    denied = alice_web.get("/o/acme/calls/", {"decision": "denied", "user": "bob@example.com"})
    rows = denied.context["calls"]
    assert rows
    assert {(c.decision, c.user.email) for c in rows} == {("denied", "bob@example.com")}
    by_plugin = alice_web.get("/o/acme/calls/", {"plugin": "data"}).context["calls"]
    assert len(by_plugin) == 50
    export = alice_web.get("/o/acme/calls.csv", {"decision": "denied"})
    assert export.streaming
    table = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert table[0][:4] == ["time", "user", "plugin", "operation"]
    assert len(table) == 1 + 30
    assert {row[4] for row in table[1:]} == {"denied"}


def test_members_see_neither_the_call_log_nor_its_export(bob_web, data_install):
    assert bob_web.get("/o/acme/calls/").status_code == 403
    assert bob_web.get("/o/acme/calls.csv").status_code == 403


def test_the_call_log_costs_the_same_queries_on_a_deeper_page(
    alice_web, alice, bob, acme, data_install
):
    make_calls(acme, data_install, [alice, bob], n=200)
    first = alice_web.get("/o/acme/calls/")
    with CaptureQueriesContext(connection) as on_first:
        alice_web.get("/o/acme/calls/")
    deep = alice_web.get("/o/acme/calls/" + first.context["next_url"])
    with CaptureQueriesContext(connection) as on_deep:
        alice_web.get("/o/acme/calls/" + deep.context["next_url"])
    assert len(on_deep) == len(on_first)


def test_a_publisher_sees_usage_across_organizations_without_who(
    web_as, alice, bob, acme, data_install
):
    make_calls(acme, data_install, [alice, bob], n=20)
    page = web_as(alice).get(f"/o/acme/plugins/{data_install.plugin_id}/usage/").content.decode()
    assert "20 calls in the last 7 days." in page
    assert "bob@example.com" not in page
    assert page.count("<svg") == 3


def test_install_events_read_as_sentences(alice_web, data_install):
    page = alice_web.get("/o/acme/activity/").content.decode()
    assert "installed plugin #" in page


def test_operators_read_installations_allow_lists_and_calls(client, alice, acme, data_install):
    from accounts.models import User

    User.objects.filter(pk=alice.pk).update(is_staff=True, is_superuser=True)
    client.force_login(alice)
    make_calls(acme, data_install, [alice], n=3)
    for model in ("installation", "allowlist", "callevent"):
        listing = client.get(f"/admin/installations/{model}/")
        assert listing.status_code == 200, model
        assert client.get(f"/admin/installations/{model}/add/").status_code == 403
    change = client.get(f"/admin/installations/installation/{data_install.pk}/change/")
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
