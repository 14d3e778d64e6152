"""Announce a connection-health event to the organization's webhooks: one delivery row per
enabled webhook, each sent by a Celery task once the transaction commits."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from plugins.credentials.models import Webhook, WebhookDelivery
from plugins.credentials.tasks import deliver_webhook


def notify(*, organization_id: int, event: str, payload: dict) -> int:
    """Queue a delivery of `event` to each enabled webhook of the organization (on commit)."""
    count = 0
    body = {"event": event, "occurred_at": timezone.now().isoformat(), "data": payload}
    for webhook in Webhook.objects.filter(organization_id=organization_id, enabled=True):
        delivery = WebhookDelivery.objects.create(
            organization_id=organization_id, webhook=webhook, event=event, payload=body
        )
        delivery_id = delivery.pk
        transaction.on_commit(lambda delivery_id=delivery_id: deliver_webhook.delay(delivery_id))
        count += 1
    return count
