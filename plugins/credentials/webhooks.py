"""Organization webhooks about connection health: HMAC-signed, delivered and retried by Celery.

Each delivery is a POST of a JSON body with the headers

    X-Marketplace-Event: connection.failing | connection.recovered
    X-Marketplace-Delivery: <delivery id>
    X-Marketplace-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>

Receivers recompute the HMAC with the secret shown once at creation and reject old `t`s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

from django.db import transaction
from django.utils import timezone

from accounts.audit import record_event
from plugins import vault
from plugins.credentials.models import (
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
)
from plugins.outbound import FetchError, fetch

MAX_ATTEMPTS = 6
DELIVERY_TIMEOUT = 10.0


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


@transaction.atomic
def create_webhook(*, organization, url: str, created_by) -> tuple[Webhook, str]:
    """A new webhook and its signing secret (returned once; stored sealed)."""
    from plugins.outbound import precheck_url

    precheck_url(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    webhook = Webhook.objects.create(organization=organization, url=url, created_by=created_by)
    webhook.sealed_secret = vault.seal(secret, context=webhook.vault_context())
    webhook.secret_hint = vault.mask(secret)
    webhook.save(update_fields=["sealed_secret", "secret_hint"])
    record_event(
        organization=organization,
        action="webhook.created",
        actor=created_by,
        target=f"webhook:{webhook.pk}",
        url=url,
    )
    return webhook, secret


@transaction.atomic
def delete_webhook(*, webhook: Webhook, deleted_by) -> None:
    record_event(
        organization=webhook.organization,
        action="webhook.deleted",
        actor=deleted_by,
        target=f"webhook:{webhook.pk}",
        url=webhook.url,
    )
    webhook.delete()


def attempt_delivery(delivery_id: int) -> str:
    """Send one delivery once. Returns the delivery's status afterwards ("pending" = retry)."""
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return delivery.status if delivery else DeliveryStatus.FAILED
    webhook = delivery.webhook
    body = json.dumps(delivery.payload, sort_keys=True).encode()
    delivery.attempts += 1
    try:
        secret = vault.open_sealed(webhook.sealed_secret, context=webhook.vault_context())
        timestamp = int(time.time())
        result = fetch(
            webhook.url,
            method="POST",
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Marketplace-Event": delivery.event,
                "X-Marketplace-Delivery": str(delivery.pk),
                "X-Marketplace-Signature": sign(secret, timestamp, body),
            },
            sensitive_headers=frozenset({"x-marketplace-signature"}),
            follow_redirects=False,
            max_bytes=16 * 1024,
            timeout=DELIVERY_TIMEOUT,
        )
    except vault.CredentialUnreadable:
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = "The webhook's secret is unreadable; recreate the webhook."
    except FetchError as exc:
        delivery.last_error = exc.message[:300]
        delivery.last_status_code = None
    else:
        delivery.last_status_code = result.status
        if 200 <= result.status < 300:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.last_error = ""
        else:
            delivery.last_error = f"The endpoint answered HTTP {result.status}."
    if delivery.status == DeliveryStatus.PENDING and delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
    delivery.save()
    return delivery.status
