"""Plugins installed by an organization: which version is pinned, who installed it.

Public API: `services.install_plugin(*, organization, version, installed_by)`.
The proxy issue grows this app (operations, allow-lists, pin/upgrade).
"""
