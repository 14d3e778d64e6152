"""Organization webhooks: signed deliveries about connections failing and recovering,
retried by a real Celery worker."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from celery.contrib.testing.worker import start_worker

from accounts.models import AuditEvent
from marketplace.celery import app as celery_app
from plugins.credentials import NeedsReconnect, resolve_credential
from plugins.credentials.announce import notify
from plugins.credentials.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from plugins.credentials.webhooks import attempt_delivery, create_webhook
from tests.credentials.helpers import expire_access_token


def _receiver(serve, statuses: list[int]):
    """A loopback endpoint answering `statuses` in turn (then 200)."""
    answers = list(statuses)

    def hook(handler):
        handler.reply(answers.pop(0) if answers else 200, b"ok", content_type="text/plain")

    return serve({"/hook": hook})


def _verify(secret: str, seen) -> dict:
    timestamp, signature = (
        part.split("=", 1)[1] for part in seen.headers["x-marketplace-signature"].split(",")
    )
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + seen.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert abs(int(timestamp) - time.time()) < 300
    return json.loads(seen.body)


def test_a_delivery_is_signed_with_the_webhooks_secret(acme, alice, serve):
    receiver = _receiver(serve, [])
    webhook, secret = create_webhook(
        organization=acme, url=f"{receiver.url}/hook", created_by=alice
    )
    assert secret.startswith("whsec_")
    assert secret not in webhook.sealed_secret
    assert (
        notify(
            organization_id=acme.pk,
            event=WebhookEvent.CONNECTION_FAILING,
            payload={"connection": 1},
        )
        == 1
    )
    delivery = WebhookDelivery.objects.get()

    assert attempt_delivery(delivery.pk) == DeliveryStatus.DELIVERED

    seen = receiver.seen[0]
    assert seen.headers["x-marketplace-event"] == "connection.failing"
    assert seen.headers["x-marketplace-delivery"] == str(delivery.pk)
    body = _verify(secret, seen)
    assert body["event"] == "connection.failing"
    assert body["data"] == {"connection": 1}
    assert AuditEvent.objects.filter(action="webhook.created").exists()


def test_a_failing_endpoint_is_retried_and_then_given_up(acme, alice, serve):
    from plugins.credentials.webhooks import MAX_ATTEMPTS

    receiver = _receiver(serve, [500] * 10)
    create_webhook(organization=acme, url=f"{receiver.url}/hook", created_by=alice)
    notify(organization_id=acme.pk, event=WebhookEvent.CONNECTION_FAILING, payload={})
    delivery = WebhookDelivery.objects.get()
    for _ in range(MAX_ATTEMPTS - 1):
        assert attempt_delivery(delivery.pk) == DeliveryStatus.PENDING
    assert attempt_delivery(delivery.pk) == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert delivery.attempts == MAX_ATTEMPTS
    assert delivery.last_status_code == 500


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retries_a_delivery_until_the_endpoint_answers(acme, alice, serve, settings):
    settings.MARKETPLACE_WEBHOOK_RETRY_BASE = 1
    receiver = _receiver(serve, [500, 503])
    create_webhook(organization=acme, url=f"{receiver.url}/hook", created_by=alice)
    celery_app.control.purge()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        from django.db import transaction

        with transaction.atomic():
            notify(organization_id=acme.pk, event=WebhookEvent.CONNECTION_RECOVERED, payload={})
        deadline = time.monotonic() + 60
        delivery = WebhookDelivery.objects.get()
        while time.monotonic() < deadline:
            delivery.refresh_from_db()
            if delivery.status != DeliveryStatus.PENDING:
                break
            time.sleep(0.2)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 3
    assert len(receiver.seen) == 3


def test_connections_failing_and_recovering_are_announced(make_world, alice, acme, serve):
    receiver = _receiver(serve, [])
    _, secret = create_webhook(organization=acme, url=f"{receiver.url}/hook", created_by=alice)
    world = make_world()
    world.connect(alice)
    expire_access_token(world.installation, alice)
    world.server.inject("invalid_grant")
    with pytest.raises(NeedsReconnect):
        resolve_credential(installation=world.installation, user=alice)
    world.connect(alice)

    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert [d.event for d in deliveries] == ["connection.failing", "connection.recovered"]
    for delivery in deliveries:
        attempt_delivery(delivery.pk)
    failing, recovered = (_verify(secret, seen) for seen in receiver.seen)
    assert failing["data"]["state"] == "needs_reconnect"
    assert failing["data"]["previous_state"] == "connected"
    assert failing["data"]["plugin"] == world.plugin.public_id
    assert failing["data"]["user"] == "alice@example.com"
    assert recovered["data"]["state"] == "connected"
    assert "access_token" not in json.dumps([failing, recovered])


def test_webhook_urls_must_be_fetchable_addresses(acme, alice):
    from plugins.outbound import FetchError

    with pytest.raises(FetchError):
        create_webhook(organization=acme, url="http://169.254.169.254/latest", created_by=alice)


def test_admins_manage_webhooks_through_the_api(acme, alice, bob, alice_api, api_as):
    created = alice_api.post(
        "/api/v1/webhooks/", {"url": "https://hooks.example.com/a"}, content_type="application/json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["secret_hint"] == "••••" + body["secret"][-4:]
    listed = alice_api.get("/api/v1/webhooks/")
    assert [w["url"] for w in listed.json()] == ["https://hooks.example.com/a"]
    assert body["secret"] not in listed.content.decode()
    assert api_as(bob, acme).get("/api/v1/webhooks/").status_code == 403
    refused = alice_api.post(
        "/api/v1/webhooks/", {"url": "http://127.0.0.1:6379/"}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert alice_api.delete(f"/api/v1/webhooks/{body['id']}").status_code == 204
    assert alice_api.get("/api/v1/webhooks/").json() == []
