"""The installed-plugin lookup for LLM orchestrators: what a member may call, as tools.

`installed_plugins_for(organization=..., user=..., fmt=..., call_url=...)` reads the
organization's installations in one query and the member's allow-lists in one more (constant in
the number of plugins), asks the one policy what each offers, and renders the granted tools in
the requested vendor format.
"""

from __future__ import annotations

from collections.abc import Callable

from plugins.installations.integrity import pin_problem
from plugins.installations.models import Installation
from plugins.installations.policy import policy_for
from plugins.installations.selectors import (
    allowed_values_for_many,
    tools_and_summary_of,
    warm_toolsets,
)
from plugins.tools import Renderer

CONNECTION_NOT_NEEDED = "not_needed"


def installed_plugins_for(
    *,
    installations: list[Installation],
    user,
    fmt: str,
    call_url: Callable[[Installation, str], str],
    openapi_url: Callable[[Installation], str],
    connection: Callable[[Installation], dict],
    bootstrap: Callable[[Installation], dict] = lambda installation: {"state": "none"},
) -> list[dict]:
    renderer = Renderer(fmt)
    warm_toolsets([installation.version for installation in installations])
    allowed = allowed_values_for_many(installations=installations, user=user)
    entries = []
    for installation in installations:
        version = installation.version
        toolset, summary = tools_and_summary_of(version)
        policy = policy_for(
            installation=installation,
            user=user,
            toolset=toolset,
            allowed_values=allowed[installation.pk],
            pin_problem=pin_problem(installation, summary["documents_sha256"]),
        )
        grants = list(policy.grants.values())
        tools = [grant.tool for grant in grants]
        name = summary["name_for_model"] or installation.plugin.name_for_model
        description = summary["description_for_model"] or ""
        entries.append(
            {
                "installation_id": installation.pk,
                "plugin_id": installation.plugin_id,
                "name_for_model": name,
                "name_for_human": summary["name_for_human"] or installation.plugin.name,
                "description_for_model": description,
                "version": {
                    "number": version.number,
                    "content_sha256": version.content_sha256,
                    "verified": policy.pin_problem is None,
                },
                "auth_type": summary["auth_type"],
                "connection": connection(installation),
                "bootstrap": bootstrap(installation),
                "namespace": toolset.plugin,
                "defer_loading": renderer.defer_loading(tools),
                "tools": renderer.render_plugin(name=name, description=description, tools=tools),
                "operations": [
                    {
                        "operation": grant.tool.operation,
                        "tool_name": grant.tool.name,
                        "method": grant.tool.method.upper(),
                        "call_url": call_url(installation, grant.tool.operation),
                        "guarded": grant.kinds,
                        "strict": {
                            "openai": grant.tool.openai_strict is not None,
                            "openai_reason": grant.tool.openai_strict_reason,
                            "anthropic": grant.tool.anthropic_strict is not None,
                            "anthropic_reason": grant.tool.anthropic_strict_reason,
                        },
                        "few_shot_examples": list(grant.tool.few_shot_examples),
                        "human_usage_examples": list(grant.tool.human_usage_examples),
                        "helpers": grant.tool.helpers,
                    }
                    for grant in grants
                ],
                "unavailable": [
                    {"operation": op, "code": refusal.code, "reason": refusal.message}
                    for op, refusal in policy.refusals.items()
                ],
                "openapi_url": openapi_url(installation),
            }
        )
    return entries
