"""Plugins and installations made directly, for tests that need an installed plugin."""

from __future__ import annotations

from django.utils import timezone

from plugins.models import Plugin, PluginVersion, SourceKind, ValidationState


def make_version(
    organization,
    *,
    plugin=None,
    number=1,
    passed=True,
    auth=None,
    slug="todo",
    api_url="http://127.0.0.1:8150/openapi.json",
):
    """A version whose normalized manifest declares `auth` (default: none)."""
    if plugin is None:
        plugin = Plugin.objects.create(organization=organization, slug=slug, name=slug.title())
    normalized = {
        "name_for_model": slug,
        "auth": auth or {"type": "none"},
        "api": {"url": api_url},
    }
    return PluginVersion.objects.create(
        organization=organization,
        plugin=plugin,
        number=number,
        source_kind=SourceKind.UPLOAD,
        normalized=normalized,
        validation_state=ValidationState.PASSED if passed else ValidationState.FAILED,
        validated_at=timezone.now(),
    )
