"""A catalog at scale for benchmarks: `manage.py seed_catalog --plugins 10000 --organizations 1000`.

Every corpus entry the validator can normalise is validated once; its documents and results are
then copied into as many published, public plugins as asked, spread over the organizations
(`catalog-org-N`, each with an owner `owner@catalog-org-N.example`). Rows are bulk-inserted, so
10,000 plugins take a minute or two. `--reset` first removes what an earlier run created; a run
that finds the catalog already at the asked size does nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Membership, Organization, Role, User
from plugins.listing import listing_fields
from plugins.models import (
    Plugin,
    PluginVersion,
    ReviewState,
    SourceKind,
    ValidationState,
    Visibility,
)
from plugins.validation import validate_plugin
from plugins.validation.corpus import iter_entries

ORG_PREFIX = "catalog-org-"
BATCH = 500


class Command(BaseCommand):
    help = "Build a large published catalog from the plugin corpus (for benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("--plugins", type=int, default=10_000)
        parser.add_argument("--organizations", type=int, default=1_000)
        parser.add_argument("--corpus", default=str(settings.MARKETPLACE_CORPUS_DIR))
        parser.add_argument("--reset", action="store_true", help="Remove an earlier catalog.")

    def handle(self, *args, plugins: int, organizations: int, corpus: str, reset: bool, **opts):
        if plugins < 1 or organizations < 1:
            raise CommandError("--plugins and --organizations must be positive.")
        if reset:
            self._reset()
        existing = Plugin.objects.filter(organization__slug__startswith=ORG_PREFIX).count()
        if existing >= plugins:
            self.stdout.write(f"The catalog already has {existing} plugins; nothing to do.")
            return
        if existing:
            raise CommandError(f"A partial catalog ({existing} plugins) exists: use --reset.")
        started = time.perf_counter()
        templates = self._templates(Path(corpus))
        orgs = self._organizations(organizations)
        self._plugins(plugins, orgs, templates)
        self._analyze()
        self.stdout.write(
            f"Seeded {plugins} plugins in {organizations} organizations from "
            f"{len(templates)} corpus entries in {time.perf_counter() - started:.0f} s."
        )

    def _analyze(self) -> None:
        """Fresh planner statistics for the bulk-loaded tables, as autovacuum would gather soon
        after a load like this one: without them PostgreSQL plans the catalog's queries for a
        near-empty table (measured: the API list's page query took 47 ms instead of 0.8 ms)."""
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for model in (User, Organization, Membership, Plugin, PluginVersion):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")

    def _reset(self) -> None:
        orgs = Organization.objects.filter(slug__startswith=ORG_PREFIX)
        Plugin.objects.filter(organization__in=orgs).update(
            published_version=None, candidate_version=None
        )
        PluginVersion.objects.filter(organization__in=orgs).delete()
        Plugin.objects.filter(organization__in=orgs).delete()
        User.objects.filter(email__endswith=".example", email__contains=f"@{ORG_PREFIX}").delete()
        orgs.delete()

    def _templates(self, root: Path) -> list[dict]:
        if not (root / "SOURCES.tsv").exists():
            raise CommandError(f"No corpus at {root} (set --corpus or MARKETPLACE_CORPUS_DIR).")
        templates = []
        for entry in iter_entries(root):
            report = validate_plugin(entry.source)
            if not report.plugin or not report.passed:
                continue
            source = entry.source
            templates.append(
                {
                    "origin": source.origin or "",
                    "manifest": source.manifest,
                    "openapi": source.openapi,
                    "normalized": report.plugin,
                    "normalized_openapi": report.normalized_openapi,
                }
            )
        if not templates:
            raise CommandError("No corpus entry passed validation.")
        self.stdout.write(f"{len(templates)} corpus entries pass validation.")
        return templates

    @transaction.atomic
    def _organizations(self, count: int) -> list[Organization]:
        users = User.objects.bulk_create(
            [User(email=f"owner@{ORG_PREFIX}{i}.example", name=f"Owner {i}") for i in range(count)]
        )
        for user in users:
            user.set_unusable_password()
        User.objects.bulk_update(users, ["password"])
        orgs = Organization.objects.bulk_create(
            [
                Organization(name=f"Catalog Publisher {i}", slug=f"{ORG_PREFIX}{i}")
                for i in range(count)
            ]
        )
        Membership.objects.bulk_create(
            [
                Membership(organization=org, user=user, role=Role.OWNER)
                for org, user in zip(orgs, users, strict=True)
            ]
        )
        return orgs

    def _plugins(self, count: int, orgs: list[Organization], templates: list[dict]) -> None:
        numbered = zip(range(count), itertools.cycle(templates), strict=False)
        while batch := list(itertools.islice(numbered, BATCH)):
            with transaction.atomic():
                self._batch(batch, orgs)
            self.stdout.write(f"  {batch[-1][0] + 1} plugins", ending="\r")
        self.stdout.write("")

    def _batch(self, batch: list[tuple[int, dict]], orgs: list[Organization]) -> None:
        now = timezone.now()
        plugins, versions = [], []
        for i, template in batch:
            normalized = template["normalized"]
            org = orgs[i % len(orgs)]
            name = (normalized.get("name_for_human") or f"Plugin {i}")[:100]
            plugins.append(
                Plugin(
                    organization=org,
                    slug=f"plugin-{i}",
                    name=name,
                    name_for_model=(normalized.get("name_for_model") or "")[:100],
                    description=(normalized.get("description_for_human") or "")[:1000],
                    logo_url=(normalized.get("logo_url") or "")[:500],
                    origin=template["origin"],
                    visibility=Visibility.PUBLIC,
                    review_state=ReviewState.APPROVED,
                    reviewed_at=now,
                    **listing_fields(normalized=normalized, fallback_name=name),
                )
            )
        Plugin.objects.bulk_create(plugins)
        for plugin, (i, template) in zip(plugins, batch, strict=True):
            digest = hashlib.sha256(
                (template["openapi"] or b"") + (template["manifest"] or b"") + str(i).encode()
            ).hexdigest()
            versions.append(
                PluginVersion(
                    organization_id=plugin.organization_id,
                    plugin=plugin,
                    number=1,
                    source_kind=SourceKind.UPLOAD,
                    origin=template["origin"],
                    raw_manifest=template["manifest"],
                    raw_openapi=template["openapi"],
                    content_sha256=digest,
                    normalized=template["normalized"],
                    normalized_openapi=template["normalized_openapi"],
                    validation_state=ValidationState.PASSED,
                    validated_at=now,
                )
            )
        for version in versions:
            version.refresh_summary()  # bulk_create skips save(), which derives these
        PluginVersion.objects.bulk_create(versions)
        for plugin, version in zip(plugins, versions, strict=True):
            plugin.published_version = version
        Plugin.objects.bulk_update(plugins, ["published_version"])
