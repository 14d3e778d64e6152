"""Call events: off the request path, in bulk, and a crashed drainer loses nothing."""

from __future__ import annotations

import pytest

from plugins.installations.models import CallEvent
from plugins.proxy import events
from tests.proxy.conftest import call


def test_a_drainer_that_dies_before_acknowledging_loses_nothing(data_install, bob_api):
    for _ in range(3):
        call(bob_api, data_install, "listTables", {})
    client = events._redis()
    client.xgroup_create(events.STREAM, events.GROUP, id="0", mkstream=True)  # Redis is fresh
    # a worker reads the batch and dies before writing or acknowledging it
    taken = client.xreadgroup(events.GROUP, "crashed-worker", {events.STREAM: ">"}, count=10)
    assert len(taken[0][1]) == 3
    assert events.drain_call_events() == 0  # not idle long enough to be taken over yet
    assert events.drain_call_events(claim_idle_ms=0) == 3
    assert CallEvent.objects.count() == 3
    assert events.drain_call_events(claim_idle_ms=0) == 0


def test_a_redelivered_batch_is_written_once(data_install, bob_api):
    call(bob_api, data_install, "listTables", {})
    entries = events._redis().xrange(events.STREAM)
    payloads = [events.entry_payload(fields) for _, fields in entries]
    events._insert(payloads)
    events._insert(payloads)  # a worker that wrote, then died before acknowledging
    assert CallEvent.objects.count() == 1
    assert events.drain_call_events() == 1  # the stream still holds it: written once
    assert CallEvent.objects.count() == 1


def test_a_nul_in_the_operation_segment_does_not_stop_event_recording(
    data_install, bob_api, upstream
):
    # the operation is the caller's URL segment: a %00 there once failed every batch holding
    # it, on every redelivery, and no event behind it was ever written
    poisoned = bob_api.post(
        f"/api/v1/installations/{data_install.pk}/operations/list%00Tables/call",
        data='{"arguments": {}}',
        content_type="application/json",
    )
    assert poisoned.status_code == 404
    assert call(bob_api, data_install, "listTables", {}).status_code == 200
    assert events.drain_call_events() == 2
    assert sorted(CallEvent.objects.values_list("operation", "decision")) == [
        ("listTables", "allowed"),
        ("list\ufffdTables", "unavailable"),
    ]


@pytest.mark.parametrize(
    "damage",
    [{"upstream_status": "99999999"}, {"latency_ms": "fast"}, {"created_at": "yesterday"}],
    ids=["out-of-range", "not-a-number", "not-a-date"],
)
def test_an_entry_that_can_never_be_stored_does_not_hold_back_the_others(
    data_install, bob_api, damage
):
    call(bob_api, data_install, "listTables", {})
    client = events._redis()
    (_, fields), *_ = client.xrange(events.STREAM)
    good = events.entry_payload(fields)
    # an entry damaged in the stream (a fault no real call produces), in the per-field form
    # entries had before they became one JSON field
    client.xadd(events.STREAM, {**good, "request_id": "damaged", **damage})
    call(bob_api, data_install, "listTables", {})
    events.drain_call_events()
    assert CallEvent.objects.count() == 2
    assert not CallEvent.objects.filter(request_id="damaged").exists()
    assert client.xlen(events.STREAM) == 0  # acknowledged, not redelivered forever


def test_an_event_is_one_field_of_json_without_arguments_or_secrets(data_install, bob_api):
    call(bob_api, data_install, "querySqlDatabase", {"database": "sales", "question": "how many?"})
    ((_, fields),) = events._redis().xrange(events.STREAM)
    assert list(fields) == [events.ENTRY_FIELD.encode()]
    payload = events.entry_payload(fields)
    assert payload["operation"] == "querySqlDatabase"
    assert payload["decision"] == "allowed"
    assert "sales" not in fields[events.ENTRY_FIELD.encode()].decode()


def test_an_unreadable_entry_does_not_hold_back_the_others(data_install, bob_api):
    client = events._redis()
    client.xadd(events.STREAM, {events.ENTRY_FIELD: "not json"})
    client.xadd(events.STREAM, {events.ENTRY_FIELD: "[1, 2]"})
    call(bob_api, data_install, "listTables", {})
    assert events.drain_call_events() == 1
    assert CallEvent.objects.count() == 1
    assert client.xlen(events.STREAM) == 0
