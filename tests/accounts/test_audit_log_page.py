"""The organization's audit log: sentences, filters, keyset pages and a streamed CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.audit import record_event
from accounts.audit_text import describe
from accounts.models import AuditEvent, Role
from accounts.services import change_role, invite_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_web(web_as, alice, acme):
    return web_as(alice)


def rows(response) -> list[str]:
    return [sentence for _, sentence in response.context["rows"]]


def bulk_events(org, count: int, *, start=None, **fields) -> None:
    start = start or timezone.now() - timedelta(days=1)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                organization=org,
                actor_label=fields.get("actor_label", "proxy"),
                action=fields.get("action", "call.decided"),
                target=fields.get("target", "Weather"),
                details=fields.get("details", {"decision": "allowed", "n": i}),
            )
            for i in range(count)
        ]
    )
    # created_at is auto_now_add: spread the events over time, one second apart.
    for offset, pk in enumerate(
        AuditEvent.objects.filter(organization=org, action=fields.get("action", "call.decided"))
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        AuditEvent.objects.filter(pk=pk).update(created_at=start + timedelta(seconds=offset))


def test_it_writes_events_as_sentences(acme, alice, bob, alice_web):
    change_role(membership=acme.memberships.get(user=bob), role=Role.ADMIN, changed_by=alice)
    invite_member(organization=acme, email="dave@example.com", role="developer", invited_by=alice)
    text = rows(alice_web.get("/o/acme/activity/"))
    assert "alice@example.com invited dave@example.com as Developer." in text
    assert "alice@example.com changed bob@example.com's role from Member to Admin." in text
    assert "alice@example.com created the organization acme." in text


def test_an_unknown_action_still_reads_as_a_sentence(acme):
    event = record_event(
        organization=acme, action="proxy.call", target="Weather", decision="denied", status=None
    )
    assert describe(event) == "system — proxy: call — Weather (decision denied)."


def test_it_filters_by_person_plugin_decision_and_date(acme, alice, bob, alice_web):
    change_role(membership=acme.memberships.get(user=bob), role=Role.ADMIN, changed_by=alice)
    record_event(organization=acme, action="call.decided", target="Weather", decision="denied")
    record_event(organization=acme, action="call.decided", target="Weather", decision="allowed")
    record_event(organization=acme, action="call.decided", target="Todo", decision="denied")

    by_bob = alice_web.get("/o/acme/activity/", {"user": "BOB@example.com"})
    assert rows(by_bob) == []  # bob did nothing; filtering is by who acted
    by_alice = rows(alice_web.get("/o/acme/activity/", {"user": "alice@example.com"}))
    assert any("changed bob@example.com's role" in s for s in by_alice)
    assert all("alice@example.com" in s for s in by_alice)

    weather = alice_web.get("/o/acme/activity/", {"plugin": "weather"}).context["rows"]
    assert {e.target for e, _ in weather} == {"Weather"}
    assert len(weather) == 2

    denied = alice_web.get("/o/acme/activity/", {"decision": "denied"}).context["rows"]
    assert {e.target for e, _ in denied} == {"Weather", "Todo"}
    both = alice_web.get("/o/acme/activity/", {"decision": "denied", "plugin": "Todo"})
    assert [e.target for e, _ in both.context["rows"]] == ["Todo"]

    today = timezone.localdate().isoformat()
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert len(alice_web.get("/o/acme/activity/", {"since": today}).context["rows"]) >= 4
    assert alice_web.get("/o/acme/activity/", {"until": yesterday}).context["rows"] == []
    bad = alice_web.get("/o/acme/activity/", {"since": today, "until": yesterday})
    assert "The end date is before the start date." in bad.content.decode()


def test_it_pages_through_the_log_without_gaps_or_repeats(acme, alice_web):
    bulk_events(acme, 120)
    seen, url, pages = [], "/o/acme/activity/?plugin=Weather", 0
    while url:
        response = alice_web.get(url)
        page = [event.pk for event, _ in response.context["rows"]]
        assert len(page) <= 50
        seen += page
        pages += 1
        next_url = response.context["next_url"]
        url = f"/o/acme/activity/{next_url}" if next_url else None
    assert pages == 3
    assert len(seen) == 120
    assert len(set(seen)) == 120
    stamps = list(AuditEvent.objects.filter(pk__in=seen).order_by("-created_at", "-pk"))
    assert [e.pk for e in stamps] == seen


def test_a_page_costs_the_same_queries_deep_in_a_long_log(acme, alice_web):
    bulk_events(acme, 400)
    first = alice_web.get("/o/acme/activity/")
    with CaptureQueriesContext(connection) as on_first:
        alice_web.get("/o/acme/activity/")
    deep = first
    for _ in range(5):
        deep = alice_web.get("/o/acme/activity/" + deep.context["next_url"])
    with CaptureQueriesContext(connection) as on_deep:
        alice_web.get("/o/acme/activity/" + deep.context["next_url"])
    assert len(on_deep) == len(on_first)
    assert not any("OFFSET" in q["sql"].upper() for q in on_deep.captured_queries)
    assert not any("COUNT(" in q["sql"].upper() for q in on_deep.captured_queries)


def test_a_garbled_cursor_shows_the_first_page(acme, alice_web):
    r = alice_web.get("/o/acme/activity/", {"before": "'; drop table--~x"})
    assert r.status_code == 200
    assert rows(r)


def test_it_exports_the_filtered_log_as_streamed_csv(acme, alice, bob, alice_web):
    bulk_events(acme, 30)
    record_event(organization=acme, action="call.decided", target="=cmd|'/c calc'!A1")
    change_role(membership=acme.memberships.get(user=bob), role=Role.ADMIN, changed_by=alice)

    response = alice_web.get("/o/acme/activity.csv", {"plugin": "Weather"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="audit-acme-' in response["Content-Disposition"]
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[0] == ["time", "actor", "action", "target", "description", "details"]
    assert len(table) == 31
    assert {row[3] for row in table[1:]} == {"Weather"}

    everything = b"".join(alice_web.get("/o/acme/activity.csv").streaming_content).decode()
    assert "'=cmd|" in everything  # a formula is defused, not evaluated by a spreadsheet
    assert "changed bob@example.com's role from Member to Admin" in everything


def test_members_see_neither_the_log_nor_its_export(web_as, acme, bob):
    bob_web = web_as(bob)
    assert bob_web.get("/o/acme/activity/").status_code == 403
    assert bob_web.get("/o/acme/activity.csv").status_code == 403


def test_destructive_actions_ask_for_confirmation(acme, alice, alice_web):
    invite_member(organization=acme, email="dave@example.com", role="member", invited_by=alice)
    members = alice_web.get("/o/acme/members/").content.decode()
    assert 'data-confirm="Remove bob@example.com from Acme?' in members
    assert 'data-confirm="Revoke the invitation of dave@example.com?' in members
    assert 'data-confirm="Leave Acme?' in members


def test_a_person_is_found_by_their_account_even_under_another_label(acme, alice, alice_web):
    record_event(organization=acme, actor=alice, actor_label="alice via the API", action="x.y")
    record_event(organization=acme, actor_label="alice@example.com", action="x.z")  # she left

    found = alice_web.get("/o/acme/activity/", {"user": "Alice@Example.com"}).context["rows"]

    assert {e.action for e, _ in found} >= {"x.y", "x.z"}


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"user": "alice@example.com"}, "audit_by_actor_label"),
        ({"plugin": "weather"}, "audit_by_target"),
        ({"plugin": "weather"}, "audit_by_details_plugin"),
    ],
)
def test_each_text_filter_is_answered_from_an_index(acme, alice, filters, index):
    """In a long log where the filter is selective, the planner picks the index whose
    expression is exactly the filter's; if they drift apart, it walks the whole log instead."""
    from accounts.audit import AuditFilters, filtered_events

    AuditEvent.objects.bulk_create(
        AuditEvent(
            organization=acme,
            actor_label=f"someone{i}@example.com",
            action="call.decided",
            target=f"Other{i}",
            details={"plugin": f"Other{i}", "decision": "allowed"},
        )
        for i in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_auditevent")
    events = filtered_events(organization=acme, filters=AuditFilters(**filters))
    sql, params = events.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert index in plan, plan
