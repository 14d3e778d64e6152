"""Credentials: what the marketplace holds to call a plugin for someone (next: issue 9).

Contract: service-level credentials (the publisher's key for `service_http` plugins), user-level
keys (`user_http`, per user and installation) and per-user OAuth connections (`oauth`, brokered
with authlib over the one outbound client), each stored through `plugins/vault/`. One lookup,
keyed by organization, user, installation and connection, answers "what to inject for this
call" and refreshes OAuth tokens ahead of expiry, once under concurrency. Connection health
(connected / refreshing / needs_reconnect / error) is visible to the user; every change is
audited. A Django app with its own models (label `credentials`).
"""
