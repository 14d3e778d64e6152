"""Writes on installations."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.audit import record_event
from accounts.models import Organization, User
from plugins.credentials.oauth.disconnect import disconnect_everyone
from plugins.installations.generations import bump_generation
from plugins.installations.integrity import pin_fields
from plugins.installations.models import Installation
from plugins.installations.selectors import argument_names_of, guarded_arguments_of
from plugins.models import Plugin, PluginVersion, ValidationState


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
    Plugin.objects.get(pk=version.plugin_id).refuse_if_archived("installed")
    installation, created = Installation.objects.select_for_update().get_or_create(
        organization=organization,
        plugin_id=version.plugin_id,
        defaults={"version": version, "installed_by": installed_by, **pin_fields(version)},
    )
    if not created and installation.version_id != version.pk:
        _pin(installation, version)
        installation.save(update_fields=["version", "pinned_sha256", "documents_sha256"])
        bump_generation(installation.pk)
    record_event(
        organization=organization,
        action="plugin.installed" if created else "plugin.repinned",
        actor=installed_by,
        target=f"installation:{installation.pk}",
        plugin=version.plugin_id,
        version=version.number,
    )
    return installation


def _pin(installation: Installation, version: PluginVersion) -> None:
    installation.version = version
    # The database's check loaded with the installation (integrity.pin_intact) was of the old pin.
    vars(installation).pop("pin_intact", None)
    for name, value in pin_fields(version).items():
        setattr(installation, name, value)


# -- grown by the proxy issue ----------------------------------------------------------------

MAX_ALLOWED_VALUES = 500
MAX_VALUE_LENGTH = 300


def storable(text: str) -> bool:
    """Text PostgreSQL can keep: no NUL, no lone surrogate."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def clean_values(values: object) -> dict[str, list[str]]:
    """An allow-list body: {argument: [string, …]} with bounded sizes; ValidationError else."""
    if not isinstance(values, dict):
        raise ValidationError("An allow-list is an object of parameter names to lists of values.")
    cleaned: dict[str, list[str]] = {}
    for argument, entries in values.items():
        if not isinstance(argument, str) or not 0 < len(argument) <= 64 or not storable(argument):
            raise ValidationError("Parameter names are strings of 1 to 64 characters.")
        if not isinstance(entries, list) or len(entries) > MAX_ALLOWED_VALUES:
            raise ValidationError(
                f"The values of {argument!r} must be a list of at most {MAX_ALLOWED_VALUES}."
            )
        if not all(
            isinstance(v, str) and 0 < len(v) <= MAX_VALUE_LENGTH and storable(v) for v in entries
        ):
            raise ValidationError(
                f"The values of {argument!r} must be strings of 1 to {MAX_VALUE_LENGTH} characters."
            )
        cleaned[argument] = sorted(set(entries))
    return cleaned


def _only_guarded(values: dict[str, list[str]], guarded: dict[str, str]) -> None:
    """An allow-list names guarded parameters only: a typo would otherwise be stored and leave
    the member silently denied."""
    unknown = sorted(set(values) - set(guarded))
    if unknown:
        known = ", ".join(sorted(guarded)) or "none"
        raise ValidationError(
            f"{', '.join(map(repr, unknown))} is not a guarded parameter of this installation "
            f"(guarded: {known})."
        )


@transaction.atomic
def set_allow_list(
    *, installation: Installation, member: User, values: dict, changed_by: User | None
):
    """Replace the member's allowed values on the installation (an audit event records it)."""
    from plugins.installations.models import AllowList

    cleaned = clean_values(values)
    _only_guarded(cleaned, guarded_arguments_of(installation))
    row, _ = AllowList.objects.update_or_create(
        installation=installation,
        user=member,
        defaults={
            "organization": installation.organization,
            "values": cleaned,
            "updated_by": changed_by,
        },
    )
    bump_generation(installation.pk)
    record_event(
        organization=installation.organization,
        action="installation.allow_list_changed",
        actor=changed_by,
        target=f"installation:{installation.pk}",
        member=member.email,
        parameters=sorted(cleaned),
    )
    return row


@transaction.atomic
def update_installation(
    *,
    installation: Installation,
    changed_by: User | None,
    enabled: bool | None = None,
    version: PluginVersion | None = None,
    disabled_operations: dict | None = None,
    guarded_arguments: dict | None = None,
    default_allowed: dict | None = None,
) -> Installation:
    """Pin another version, enable/disable, turn operations off (with a reason), mark guarded
    arguments, set the default allow-list for members. Each change is an audit event."""
    changes: dict = {}
    if version is not None and version.pk != installation.version_id:
        if version.plugin_id != installation.plugin_id:
            raise ValidationError("That version belongs to another plugin.")
        if version.validation_state != ValidationState.PASSED or version.number is None:
            raise ValidationError("Only a version that passed validation can be pinned.")
        _pin(installation, version)
        changes["version"] = version.number
    if enabled is not None and enabled != installation.enabled:
        installation.enabled = enabled
        changes["enabled"] = enabled
    if disabled_operations is not None:
        if not isinstance(disabled_operations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in disabled_operations.items()
        ):
            raise ValidationError("disabled_operations maps operation ids to reasons (strings).")
        installation.disabled_operations = disabled_operations
        changes["disabled_operations"] = sorted(disabled_operations)
    if guarded_arguments is not None:
        if not isinstance(guarded_arguments, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in guarded_arguments.items()
        ):
            raise ValidationError("guarded_arguments maps argument names to resource kinds.")
        unknown = sorted(set(guarded_arguments) - argument_names_of(installation))
        if unknown:
            raise ValidationError(
                f"No operation of this installation takes {', '.join(map(repr, unknown))}."
            )
        installation.guarded_arguments = guarded_arguments
        changes["guarded_arguments"] = sorted(guarded_arguments)
    if default_allowed is not None:
        cleaned = clean_values(default_allowed)
        _only_guarded(cleaned, guarded_arguments_of(installation))
        installation.default_allowed = cleaned
        changes["default_allowed"] = sorted(installation.default_allowed)
    if changes:
        installation.save()
        bump_generation(installation.pk)
        record_event(
            organization=installation.organization,
            action="installation.changed",
            actor=changed_by,
            target=f"installation:{installation.pk}",
            **changes,
        )
    return installation


def uninstall_plugin(*, installation: Installation, removed_by: User | None) -> None:
    """Remove the installation. Members' OAuth grants are revoked at the provider first (when it
    has a revocation URL), outside the transaction: the network is not waited on with rows
    locked. Keys and connections then go with the installation."""
    disconnect_everyone(installation=installation, actor=removed_by)
    _delete_installation(installation=installation, removed_by=removed_by)


@transaction.atomic
def _delete_installation(*, installation: Installation, removed_by: User | None) -> None:
    bump_generation(installation.pk)
    record_event(
        organization=installation.organization,
        action="plugin.uninstalled",
        actor=removed_by,
        target=f"installation:{installation.pk}",
        plugin=installation.plugin_id,
    )
    installation.delete()
