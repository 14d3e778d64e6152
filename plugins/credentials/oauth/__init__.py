"""The per-user OAuth broker: connect flows, token exchange, refresh, revocation, health.

authlib speaks the protocol (authorization URL, PKCE S256, client authentication, token and
revocation request bodies); every request goes through plugins.outbound.OAuthSession, which
never follows a redirect. Modules: `config` (a plugin's provider settings), `protocol` (one
authlib call each, errors classified), `flow` (connect and callback), `refresh` (serialised
refresh), `health` (connection states, cooldowns, webhooks).
"""
