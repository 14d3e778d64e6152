"""Writes on installations."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.audit import record_event
from accounts.models import Organization, User
from plugins.installations.models import Installation
from plugins.models import PluginVersion, ValidationState


@transaction.atomic
def install_plugin(
    *, organization: Organization, version: PluginVersion, installed_by: User | None
) -> Installation:
    """Install `version`'s plugin in `organization`, pinned to that version.

    Installing a plugin that is already installed re-pins the existing installation.
    The caller has checked that the organization may see the plugin.
    """
    if version.validation_state != ValidationState.PASSED or version.number is None:
        raise ValidationError("Only a version that passed validation can be installed.")
    installation, created = Installation.objects.select_for_update().get_or_create(
        organization=organization,
        plugin_id=version.plugin_id,
        defaults={"version": version, "installed_by": installed_by},
    )
    if not created and installation.version_id != version.pk:
        installation.version = version
        installation.save(update_fields=["version"])
    record_event(
        organization=organization,
        action="plugin.installed" if created else "plugin.repinned",
        actor=installed_by,
        target=f"installation:{installation.pk}",
        plugin=version.plugin_id,
        version=version.number,
    )
    return installation
