"""Installations: an organization's use of one approved plugin version.

Contract: an installation pins a published version by its content hash; the proxy, the lookup
API and the MCP gateway read that version's validated documents, never live ones. Admins pin or
upgrade, enable or disable operations (with the reason when the spec can't serve one) and
uninstall. Per-user allow-lists for guarded parameters (`x-marketplace-resource`) live here, and
so does the one policy function that decides what a user may list and call (`policy.py`). A
Django app with its own models (label `installations`).

Public API: `services.install_plugin(*, organization, version, installed_by)`,
`services.update_installation(...)`, `services.set_allow_list(...)`,
`services.uninstall_plugin(...)`; `selectors.toolset_of(version)`, `selectors.policy_of(...)`;
`policy.policy_for(...)` (THE policy); `lookup.installed_plugins_for(...)`.
"""
