"""Audit events as sentences: "alice@example.com changed bob@example.com's role from Member to
Admin." One template per action; an action without one still reads sensibly.

Add one: a line in `SENTENCES`, naming `{actor}`, `{target}` and any key of the event's details.
Missing keys render as "—", so a template never fails on an older event.
"""

from __future__ import annotations

import string

from accounts.models import AuditEvent, Role

SENTENCES: dict[str, str] = {
    "organization.created": "{actor} created the organization {target}.",
    "member.role_changed": "{actor} changed {target}'s role from {before} to {after}.",
    "member.removed": "{actor} removed {target} ({role}); {tokens_revoked} token(s) revoked.",
    "member.left": "{target} left the organization.",
    "invitation.sent": "{actor} invited {target} as {role}.",
    "invitation.revoked": "{actor} revoked the invitation of {target}.",
    "invitation.accepted": "{target} accepted an invitation and joined as {role}.",
    "credential.issued": "{actor} created the {kind} {target}.",
    "credential.revoked": "{actor} revoked the {kind} {target}.",
    "plugin.version_registered": "{actor} registered a new version of {target} ({source}).",
    "plugin.submitted_for_review": "{actor} submitted {target} v{version} for review.",
    "plugin.approved": "{actor} approved {target}: v{published_version} is published.",
    "plugin.rejected": "{actor} rejected {target}: “{reason}”.",
    "plugin.candidate_rejected": "{actor} rejected the new version of {target}: “{reason}”.",
    "plugin.suspended": "{actor} suspended {target}: “{reason}”.",
    "plugin.reinstated": "{actor} reinstated {target}.",
    "plugin.visibility_changed": "{actor} changed the visibility of {target} from {before} "
    "to {after}.",
    "plugin.installed": "{actor} installed plugin #{plugin} at v{version} ({target}).",
    "plugin.repinned": "{actor} pinned plugin #{plugin} to v{version} ({target}).",
    "plugin.uninstalled": "{actor} uninstalled plugin #{plugin} ({target}).",
    "installation.changed": "{actor} changed the settings of {target}.",
    "installation.allow_list_changed": "{actor} changed the allowed values of {member} on "
    "{target}.",
    "plugin.revalidation_requested": "{actor} asked to validate {target} v{version} again.",
    "plugin.deleted": "{actor} deleted {target} and its {versions} version(s).",
}

_LABELS = {
    **{role.value: role.label for role in Role},
    "personal": "personal access token",
    "organization": "organization API key",
    "public": "public",
    "private": "private",
    "unlisted": "unlisted",
    "manifest_url": "by URL",
    "openapi_url": "by URL",
    "upload": "by upload",
}


class _Values(dict):
    def __missing__(self, key: str) -> str:
        return "—"


def describe(event: AuditEvent) -> str:
    """The event as one sentence, for people."""
    values = _Values({key: _label(value) for key, value in (event.details or {}).items()})
    values["actor"] = event.actor_label or "system"
    values["target"] = event.target or "—"
    template = SENTENCES.get(event.action)
    if template is None:
        return _fallback(event, values)
    return string.Formatter().vformat(template, (), values)


def _label(value) -> object:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        return _LABELS.get(value, value)
    return value


def _fallback(event: AuditEvent, values: dict) -> str:
    verb = event.action.replace("_", " ").replace(".", ": ", 1)
    extra = ", ".join(
        f"{key.replace('_', ' ')} {value}"
        for key, value in (event.details or {}).items()
        if value not in (None, "", [], {})
    )
    sentence = f"{values['actor']} — {verb}"
    if event.target:
        sentence += f" — {event.target}"
    return sentence + (f" ({extra})" if extra else "") + "."
