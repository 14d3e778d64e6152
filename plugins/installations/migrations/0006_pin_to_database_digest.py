"""Installations on PostgreSQL are pinned to the digest the database keeps of their version's
documents (plugins migration 0009) instead of one computed in Python.

Each installation whose documents still match its pin (the Python digest, the same as
plugins.installations.integrity.documents_digest, copied: migrations don't import app code that
may change) is moved to the database's digest of the same row; one that no longer matches keeps
its old pin, so it stays refused until an administrator pins a version again. Reversed, the
same in the other direction. SQLite keeps the Python digest (its database keeps none).
"""

import hashlib
import json

from django.db import migrations


def python_digest(normalized, openapi) -> str:
    text = json.dumps([normalized, openapi], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def repin(apps, schema_editor, *, forward: bool):
    if schema_editor.connection.vendor != "postgresql":
        return
    Installation = apps.get_model("installations", "Installation")
    PluginVersion = apps.get_model("plugins", "PluginVersion")
    by_version: dict[int, list] = {}
    for pk, version_id, pinned in Installation.objects.values_list(
        "pk", "version_id", "documents_sha256"
    ):
        by_version.setdefault(version_id, []).append((pk, pinned))
    for version_id, installations in by_version.items():
        normalized, openapi, database = (
            PluginVersion.objects.filter(pk=version_id)
            .values_list("normalized", "normalized_openapi", "documents_sha256")
            .get()
        )
        python = python_digest(normalized, openapi)
        old, new = (python, database) if forward else (database, python)
        matching = [pk for pk, pinned in installations if pinned == old]
        Installation.objects.filter(pk__in=matching).update(documents_sha256=new)


def repin_to_database_digest(apps, schema_editor):
    repin(apps, schema_editor, forward=True)


def repin_to_python_digest(apps, schema_editor):
    repin(apps, schema_editor, forward=False)


class Migration(migrations.Migration):
    dependencies = [
        ("installations", "0005_pin_by_content_hash"),
        ("plugins", "0009_documents_digest"),
    ]

    operations = [
        migrations.RunPython(repin_to_database_digest, repin_to_python_digest),
    ]
