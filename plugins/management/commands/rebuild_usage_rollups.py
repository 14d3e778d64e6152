"""Recompute the daily usage rollups from the call events (a repair; the drain keeps them)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from plugins.installations.rollups import rebuild


class Command(BaseCommand):
    help = "Recompute the usage charts' daily rollups from the stored call events."

    def handle(self, *args, **options):
        written = rebuild()
        self.stdout.write(f"{written} rollup rows written.")
