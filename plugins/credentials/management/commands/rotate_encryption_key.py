"""manage.py rotate_encryption_key: re-encrypt every secret under the primary key.

Deploy the new key first in front of the ring (MARKETPLACE_ENCRYPTION_KEYS=k2:…,k1:…), run
this (online, resumable: just run it again after a crash), and remove the old key once it
reports nothing remaining.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from accounts.audit import record_event
from accounts.models import Organization
from plugins import vault
from plugins.credentials import rotation


class Command(BaseCommand):
    help = "Re-encrypt every stored secret under the primary encryption key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--pause", type=float, default=0.0, help="Seconds to wait between batches."
        )

    def handle(self, *args, batch_size: int, pause: float, **options):
        primary = vault.primary_key_id()
        self.stdout.write(f"Re-encrypting under key {primary!r} in batches of {batch_size}")

        def progress(sealed_field, counts):
            self.stdout.write(f"  {sealed_field.label}: {counts.resealed} re-encrypted so far")
            self.stdout.flush()

        results = rotation.rotate_all(batch_size=batch_size, pause=pause, progress=progress)
        total = rotation.Counts()
        for label, counts in results.items():
            total.resealed += counts.resealed
            total.unreadable += counts.unreadable
            total.remaining += counts.remaining
            self.stdout.write(
                f"{label}: {counts.resealed} re-encrypted, {counts.unreadable} unreadable, "
                f"{counts.remaining} remaining"
            )
        self.stdout.write(
            f"Total: {total.resealed} re-encrypted, {total.unreadable} unreadable, "
            f"{total.remaining} remaining"
        )
        for organization in Organization.objects.filter(
            pk__in=_organizations_with_secrets()
        ).iterator():
            record_event(
                organization=organization,
                action="vault.rotated",
                actor=None,
                actor_label="manage.py rotate_encryption_key",
                key=primary,
            )
        if total.remaining or total.unreadable:
            self.stdout.write(
                self.style.WARNING(
                    "Keep the old keys: some values are not under the primary key yet "
                    "(run again) or cannot be read."
                )
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Every secret is under {primary!r}; older keys can go.")
            )


def _organizations_with_secrets() -> set[int]:
    from plugins.credentials.sealed import SEALED_FIELDS

    ids: set[int] = set()
    for sealed_field in SEALED_FIELDS:
        ids.update(
            sealed_field.model._default_manager.values_list("organization_id", flat=True).distinct()
        )
    return ids
