"""Celery tasks of the credentials app: thin, load by id, idempotent."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from plugins.credentials import webhooks
from plugins.credentials.models import DeliveryStatus


def retry_delay(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: base, 4 * base, 16 * base, … capped at an hour
    (base: settings.MARKETPLACE_WEBHOOK_RETRY_BASE, 10 s by default)."""
    base = float(settings.MARKETPLACE_WEBHOOK_RETRY_BASE)
    return min(base * 4 ** max(attempt - 1, 0), 3600.0)


@shared_task(
    bind=True, acks_late=True, max_retries=webhooks.MAX_ATTEMPTS, soft_time_limit=50, time_limit=60
)
def deliver_webhook(self, delivery_id: int) -> str:
    status = webhooks.attempt_delivery(delivery_id)
    if status == DeliveryStatus.PENDING:
        raise self.retry(countdown=retry_delay(self.request.retries + 1))
    return status
