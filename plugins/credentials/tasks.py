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


@shared_task(acks_late=True)
def purge_finished_flows() -> int:
    """Delete connect flows a day after they expired or were used (they hold sealed PKCE
    verifiers and state hashes nobody needs any more) and deliveries older than 30 days."""
    from datetime import timedelta

    from django.db.models import Q
    from django.utils import timezone

    from plugins.credentials.models import OAuthFlow, WebhookDelivery

    day_ago = timezone.now() - timedelta(days=1)
    flows, _ = OAuthFlow.objects.filter(Q(expires_at__lt=day_ago) | Q(used_at__lt=day_ago)).delete()
    old = timezone.now() - timedelta(days=30)
    deliveries, _ = (
        WebhookDelivery.objects.filter(created_at__lt=old)
        .exclude(status=DeliveryStatus.PENDING)
        .delete()
    )
    return flows + deliveries


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def disconnect_former_member(organization_id: int, user_id: int) -> int:
    """Revoke and delete the OAuth connections of someone no longer in the organization
    (unless they came back meanwhile)."""
    from accounts.models import Membership
    from plugins.credentials.models import OAuthConnection
    from plugins.credentials.oauth.disconnect import disconnect

    if Membership.objects.filter(organization_id=organization_id, user_id=user_id).exists():
        return 0
    done = 0
    for connection in OAuthConnection.objects.filter(
        organization_id=organization_id, user_id=user_id
    ).select_related("installation__organization", "installation__version", "user"):
        done += disconnect(installation=connection.installation, user=connection.user)
    return done
