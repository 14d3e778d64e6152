"""Celery tasks of the proxy."""

from __future__ import annotations

from celery import shared_task

from plugins.proxy.events import drain_call_events


@shared_task(name="plugins.proxy.tasks.drain_call_events", ignore_result=True)
def drain_call_events_task() -> int:
    return drain_call_events()


@shared_task(name="plugins.proxy.tasks.run_bootstrap", ignore_result=True, acks_late=True)
def run_bootstrap_task(installation_id: int, user_id: int) -> None:
    """Run an installation's bootstrap operations for one member (queued by the lookup API)."""
    from accounts.models import User
    from plugins.installations.models import Installation
    from plugins.proxy.bootstrap import run_bootstrap

    installation = (
        Installation.objects.select_related("organization", "plugin", "version")
        .filter(pk=installation_id)
        .first()
    )
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if installation is None or user is None:
        return
    if not installation.organization.memberships.filter(user=user).exists():
        return
    run_bootstrap(installation=installation, user=user)
