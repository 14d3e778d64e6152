"""Give every plugin an unguessable public id for storefront links (unlisted plugins must not be
reachable by counting integer ids)."""

import secrets

from django.db import migrations, models

import plugins.models


def fill_public_ids(apps, schema_editor):
    Plugin = apps.get_model("plugins", "Plugin")
    for plugin in Plugin.objects.filter(public_id__isnull=True).only("pk"):
        plugin.public_id = secrets.token_urlsafe(12)
        plugin.save(update_fields=["public_id"])


class Migration(migrations.Migration):
    dependencies = [("plugins", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="plugin",
            name="public_id",
            field=models.CharField(max_length=32, null=True, editable=False),
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="plugin",
            name="public_id",
            field=models.CharField(
                default=plugins.models.new_public_id, editable=False, max_length=32, unique=True
            ),
        ),
    ]
