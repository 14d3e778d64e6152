"""Celery tasks of the proxy."""

from __future__ import annotations

from celery import shared_task

from plugins.proxy.events import drain_call_events


@shared_task(name="plugins.proxy.tasks.drain_call_events", ignore_result=True)
def drain_call_events_task() -> int:
    return drain_call_events()
