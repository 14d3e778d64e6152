"""Catalog at scale: full-text search (PostgreSQL), small display columns, listing indexes.

On PostgreSQL a trigger keeps `plugins_plugin.search_vector` in step with the reviewed listing:
listed_name (weight A), name_for_model (B) and listed_description (C) - never
description_for_model, never a publisher's unreviewed text - and a GIN index serves the search.
SQLite gets the columns only; search there falls back to substring matching.
"""

import django.contrib.postgres.search
from django.conf import settings
from django.db import migrations, models

SEARCH_FUNCTION = """
CREATE OR REPLACE FUNCTION plugins_plugin_search_vector() RETURNS trigger AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('english', coalesce(NEW.listed_name, '')), 'A')
        || setweight(to_tsvector('simple', coalesce(NEW.name_for_model, '')), 'B')
        || setweight(to_tsvector('english', coalesce(NEW.listed_description, '')), 'C');
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER plugins_plugin_search_vector
    BEFORE INSERT OR UPDATE OF listed_name, name_for_model, listed_description, search_vector
    ON plugins_plugin FOR EACH ROW EXECUTE FUNCTION plugins_plugin_search_vector();
UPDATE plugins_plugin SET search_vector = NULL;
CREATE INDEX plugin_search_vector_gin ON plugins_plugin USING gin (search_vector);
"""

DROP_SEARCH = """
DROP INDEX IF EXISTS plugin_search_vector_gin;
DROP TRIGGER IF EXISTS plugins_plugin_search_vector ON plugins_plugin;
DROP FUNCTION IF EXISTS plugins_plugin_search_vector();
"""


def create_search(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SEARCH_FUNCTION)


def drop_search(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SEARCH)


def fill_summaries(apps, schema_editor):
    from plugins.models import summarize_normalized

    PluginVersion = apps.get_model("plugins", "PluginVersion")
    pending = PluginVersion.objects.filter(normalized__isnull=False).only("pk", "normalized")
    batch = []
    for version in pending.iterator(chunk_size=200):
        operations, auth_type = summarize_normalized(version.normalized)
        version.operations, version.auth_type = operations, auth_type
        version.operation_count = len(operations)
        batch.append(version)
        if len(batch) >= 200:
            PluginVersion.objects.bulk_update(batch, ["operations", "operation_count", "auth_type"])
            batch = []
    if batch:
        PluginVersion.objects.bulk_update(batch, ["operations", "operation_count", "auth_type"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_audit_event"),
        ("plugins", "0006_run_budget"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="plugin",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="pluginversion",
            name="auth_type",
            field=models.CharField(blank=True, editable=False, max_length=32),
        ),
        migrations.AddField(
            model_name="pluginversion",
            name="operation_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="pluginversion",
            name="operations",
            field=models.JSONField(
                blank=True,
                default=list,
                editable=False,
                help_text="Each operation's name, method, path and a short summary.",
            ),
        ),
        migrations.AddIndex(
            model_name="plugin",
            index=models.Index(fields=["name", "id"], name="plugin_name_id"),
        ),
        migrations.AddIndex(
            model_name="plugin",
            index=models.Index(
                models.OrderBy(models.F("updated_at"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(
                    ("published_version__isnull", False),
                    ("review_state__in", ["approved", "pending"]),
                    ("visibility", "public"),
                ),
                name="plugin_listed_recent",
            ),
        ),
        migrations.RunPython(create_search, drop_search),
        migrations.RunPython(fill_summaries, migrations.RunPython.noop),
    ]
