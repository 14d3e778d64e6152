"""A digest of each version's validated documents, kept by PostgreSQL.

`plugin_documents_sha256(normalized, normalized_openapi)` hashes the two jsonb documents as
PostgreSQL writes them out (`jsonb::text`: keys in its own fixed order, so the same documents
always give the same text), and `pluginversion.documents_sha256` is a stored generated column
over it: adding the column computes it for every existing row, and from then on PostgreSQL
recomputes it on every write of the documents, by the ORM or by hand, and refuses any write of
the column itself. Installations compare it with the digest they were pinned to
(plugins.installations.integrity).

The function is declared IMMUTABLE, as a generated column requires, although `convert_to` is
only STABLE: its one input that is not an argument is the database's encoding, which never
changes for a database, and the target encoding is fixed. SQLite gets a NULL column (it has no
SHA-256); the pin is checked there by hashing the documents in Python.
"""

from django.db import migrations, models

import plugins.models

CREATE_FUNCTION = r"""
CREATE OR REPLACE FUNCTION plugin_documents_sha256(normalized jsonb, normalized_openapi jsonb)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(
        coalesce(normalized::text, 'null') || E'\n' || coalesce(normalized_openapi::text, 'null'),
        'UTF8'
    )), 'hex')
$$;
"""
DROP_FUNCTION = "DROP FUNCTION IF EXISTS plugin_documents_sha256(jsonb, jsonb);"


def create_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_FUNCTION)


def drop_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [
        ("plugins", "0008_plugin_archived_at"),
    ]

    operations = [
        migrations.RunPython(create_function, drop_function),
        migrations.AddField(
            model_name="pluginversion",
            name="documents_sha256",
            field=models.GeneratedField(
                db_persist=True,
                expression=plugins.models.DocumentsDigest("normalized", "normalized_openapi"),
                help_text="A digest of `normalized` and `normalized_openapi` kept by PostgreSQL "
                "(NULL on SQLite): what an installation's pin is checked against.",
                output_field=models.CharField(max_length=64, null=True),
            ),
        ),
    ]
