"""Published plugins made directly (no validation run), for catalog, search and paging tests."""

from __future__ import annotations

import hashlib

from django.utils import timezone

from plugins.models import (
    Plugin,
    PluginVersion,
    ReviewState,
    SourceKind,
    ValidationState,
    Visibility,
)


def publish(
    organization,
    name: str,
    *,
    description: str = "",
    name_for_model: str = "",
    description_for_model: str = "",
    operations: tuple[str, ...] = ("getThings",),
    visibility: str = Visibility.PUBLIC,
) -> Plugin:
    """A public, approved plugin whose published version was (notionally) validated."""
    slug = hashlib.sha256(f"{organization.pk}:{name}".encode()).hexdigest()[:12]
    plugin = Plugin.objects.create(
        organization=organization,
        slug=slug,
        name=name,
        name_for_model=name_for_model or slug,
        description=description,
        listed_name=name,
        listed_description=description,
        visibility=visibility,
        review_state=ReviewState.APPROVED,
    )
    normalized = {
        "dialect": "manifest",
        "name_for_human": name,
        "name_for_model": name_for_model or slug,
        "description_for_human": description,
        "description_for_model": description_for_model,
        "auth": {"type": "none"},
        "operations": [
            {
                "name": op,
                "method": "get",
                "path": f"/{op}",
                "summary": f"Calls {op}",
                "parameters": [],
            }
            for op in operations
        ],
    }
    version = PluginVersion.objects.create(
        organization=organization,
        plugin=plugin,
        number=1,
        source_kind=SourceKind.UPLOAD,
        raw_manifest=b"{}",
        raw_openapi=b'{"openapi": "3.0.1"}',
        content_sha256=slug,
        normalized=normalized,
        normalized_openapi={"openapi": "3.0.1", "paths": {}},
        validation_state=ValidationState.PASSED,
        validated_at=timezone.now(),
    )
    plugin.published_version = version
    plugin.save()
    return plugin
