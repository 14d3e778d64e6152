"""Celery tasks of the credentials app: thin, load by id, idempotent."""

from __future__ import annotations

from celery import shared_task

from plugins.credentials import webhooks
from plugins.credentials.models import DeliveryStatus


def retry_delay(attempt: int) -> int:
    """Seconds before attempt `attempt + 1`: 10 s, 40 s, 160 s, … capped at an hour."""
    return min(10 * 4 ** max(attempt - 1, 0), 3600)


@shared_task(bind=True, acks_late=True, max_retries=webhooks.MAX_ATTEMPTS, time_limit=60)
def deliver_webhook(self, delivery_id: int) -> str:
    status = webhooks.attempt_delivery(delivery_id)
    if status == DeliveryStatus.PENDING:
        raise self.retry(countdown=retry_delay(self.request.retries + 1))
    return status
