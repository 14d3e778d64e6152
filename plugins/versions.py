"""What registration and the validation run share about versions: the content digest, the
plugin a version belongs to, and version numbering."""

from __future__ import annotations

import hashlib

from django.db.models import Max, Q

from accounts.models import Organization
from plugins.models import Plugin


def content_sha256(
    *,
    manifest: bytes | None,
    openapi: bytes | None,
    origin: str,
    bundled_refs: dict[str, str] | None = None,
) -> str:
    """A digest of everything validation depends on, framed so fields can't run together."""
    digest = hashlib.sha256()
    for label, value in (("manifest", manifest), ("openapi", openapi), ("origin", origin.encode())):
        digest.update(label.encode() + b"\0")
        if value is None:
            digest.update(b"-\0")
        else:
            digest.update(str(len(value)).encode() + b"\0" + value)
    for url in sorted(bundled_refs or {}):
        digest.update(b"ref\0" + url.encode() + b"\0" + bundled_refs[url].encode())
    return digest.hexdigest()


def find_plugin(*, organization: Organization, name_for_model: str, origin: str) -> Plugin | None:
    if not name_for_model:
        return None
    return Plugin.objects.filter(
        organization=organization, name_for_model=name_for_model, origin=origin
    ).first()


def lock_numbering(plugin: Plugin, *, content_sha256: str) -> tuple[int | None, int]:
    """Lock the plugin's version numbering until the transaction ends, then read in one query
    the id of its version with this content, if it has one, and the next version number."""
    Plugin.objects.select_for_update().filter(pk=plugin.pk).values_list("pk").first()
    found = plugin.versions.aggregate(
        top=Max("number"), same=Max("pk", filter=Q(content_sha256=content_sha256))
    )
    return found["same"], (found["top"] or 0) + 1
