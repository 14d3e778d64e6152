"""Re-encrypt every sealed value under the key ring's primary key, online and resumable.

Rows are taken in primary-key order, in small batches, each batch in its own transaction with
its rows locked (`SELECT … FOR UPDATE`), so live traffic keeps reading and writing: a reader
decrypts either the old or the new value (both keys are in the ring), and a writer waits for
at most one batch. Progress needs no bookkeeping: a value already under the primary key is
not selected again, so a rotation killed halfway resumes where it stopped when run again.
A value that cannot be opened (tampered, or its key already removed) is counted and left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from plugins import vault
from plugins.credentials.sealed import SEALED_FIELDS, SealedField


@dataclass
class Counts:
    resealed: int = 0
    unreadable: int = 0
    remaining: int = 0


def pending(sealed_field: SealedField, primary: str):
    """Rows of the field whose value is not under the primary key."""
    name = sealed_field.field
    return (
        sealed_field.model._default_manager.exclude(**{name: ""})
        .exclude(**{f"{name}__startswith": f"v1.{primary}."})
        .order_by("pk")
    )


def rotate_field(
    sealed_field: SealedField,
    *,
    batch_size: int = 500,
    pause: float = 0.0,
    progress: Callable[[SealedField, Counts], None] | None = None,
) -> Counts:
    primary = vault.primary_key_id()
    counts = Counts()
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(
                pending(sealed_field, primary)
                .filter(pk__gt=last_pk)
                .select_for_update()[:batch_size]
            )
            if not rows:
                break
            changed = []
            for row in rows:
                try:
                    value = vault.reseal(
                        getattr(row, sealed_field.field), context=sealed_field.context(row)
                    )
                except vault.CredentialUnreadable:
                    counts.unreadable += 1
                    continue
                setattr(row, sealed_field.field, value)
                changed.append(row)
            sealed_field.model._default_manager.bulk_update(changed, [sealed_field.field])
            counts.resealed += len(changed)
            last_pk = rows[-1].pk
        if progress is not None:
            progress(sealed_field, counts)
        if pause:
            time.sleep(pause)
    counts.remaining = pending(sealed_field, primary).count() - counts.unreadable
    return counts


def rotate_all(*, batch_size: int = 500, pause: float = 0.0, progress=None) -> dict[str, Counts]:
    return {
        sealed_field.label: rotate_field(
            sealed_field, batch_size=batch_size, pause=pause, progress=progress
        )
        for sealed_field in SEALED_FIELDS
    }
