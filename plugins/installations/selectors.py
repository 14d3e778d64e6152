"""Reads on installations, always scoped to one organization."""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.db.models import QuerySet

from accounts.models import Organization
from plugins.installations.models import AllowList, Installation
from plugins.installations.policy import Policy, policy_for
from plugins.models import PluginVersion
from plugins.tools import ToolSet, build_toolset, security_parameter_names


def installations_of(*, organization: Organization) -> QuerySet[Installation]:
    return Installation.objects.filter(organization=organization).select_related(
        "organization", "plugin", "version"
    )


def installation_of(*, organization: Organization, installation_id: int) -> Installation | None:
    """The organization's installation with that id; None for missing and not-yours alike."""
    return installations_of(organization=organization).filter(pk=installation_id).first()


# -- grown by the proxy issue ----------------------------------------------------------------

_TOOLSETS: OrderedDict[tuple[int, str], ToolSet] = OrderedDict()
_TOOLSETS_MAX = 512
_toolsets_lock = threading.Lock()


def toolset_of(version: PluginVersion) -> ToolSet:
    """The tool definitions of a validated version, built once per process and version.

    Versions are immutable once validated, so (id, content hash) never goes stale.
    """
    key = (version.pk, version.content_sha256)
    with _toolsets_lock:
        cached = _TOOLSETS.get(key)
        if cached is not None:
            _TOOLSETS.move_to_end(key)
            return cached
    toolset = build_toolset(
        version.normalized or {},
        security_names=security_parameter_names(version.normalized_openapi),
    )
    with _toolsets_lock:
        _TOOLSETS[key] = toolset
        while len(_TOOLSETS) > _TOOLSETS_MAX:
            _TOOLSETS.popitem(last=False)
    return toolset


def allowed_values_of(*, installation: Installation, user) -> dict:
    """The member's allow-list values on the installation (the default for members when they
    have no row of their own)."""
    row = AllowList.objects.filter(installation=installation, user=user).first()
    return row.values if row is not None else dict(installation.default_allowed or {})


def allowed_values_for_many(*, installations: list[Installation], user) -> dict[int, dict]:
    """`allowed_values_of` for many installations in one query."""
    rows = {
        row.installation_id: row.values
        for row in AllowList.objects.filter(installation__in=installations, user=user)
    }
    return {inst.pk: rows.get(inst.pk, dict(inst.default_allowed or {})) for inst in installations}


def policy_of(*, installation: Installation, user) -> Policy:
    return policy_for(
        installation=installation,
        user=user,
        toolset=toolset_of(installation.version),
        allowed_values=allowed_values_of(installation=installation, user=user),
    )


def allow_list_of(*, installation: Installation, user) -> AllowList | None:
    return AllowList.objects.filter(installation=installation, user=user).first()
