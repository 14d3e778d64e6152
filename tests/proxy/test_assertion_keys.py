"""The caller assertion's keys: published at /.well-known/jwks.json, rotated by adding a key."""

from __future__ import annotations

import jwt
import pytest

from marketplace.env import ConfigurationError
from plugins.proxy.assertion import generate_pem, jwks, sign_assertion


def sign(**overrides):
    claims = {
        "audience": "https://plugin.example",
        "subject": "user:1",
        "organization": "acme",
        "plugin": "abc",
        "operation": "op",
        "allowed": {"database": ["sales"]},
        "resource_kinds": {"database": "database"},
    }
    return sign_assertion(**{**claims, **overrides})


def test_it_publishes_every_key_and_signs_with_the_first(client, settings):
    old, new = generate_pem(), generate_pem()
    settings.MARKETPLACE_ASSERTION_KEYS = old
    before = sign()
    settings.MARKETPLACE_ASSERTION_KEYS = new + "\n" + old  # rotation: the new key first
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 2
    assert {k["alg"] for k in keys} == {"ES256"}
    assert all("d" not in k for k in keys)
    key_set = jwt.PyJWKSet.from_dict({"keys": keys})
    after = sign()
    assert jwt.get_unverified_header(after)["kid"] == keys[0]["kid"]
    for token in (before, after):  # tokens signed before the rotation still verify
        kid = jwt.get_unverified_header(token)["kid"]
        claims = jwt.decode(
            token, key_set[kid].key, algorithms=["ES256"], audience="https://plugin.example"
        )
        assert claims["databases"] == ["sales"]


def test_an_assertion_for_another_plugin_or_too_old_is_refused(settings):
    settings.MARKETPLACE_ASSERTION_KEYS = generate_pem()
    keys = jwt.PyJWKSet.from_dict(jwks())
    token = sign(now=1_000_000)
    kid = jwt.get_unverified_header(token)["kid"]
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, keys[kid].key, algorithms=["ES256"], audience="https://plugin.example")
    fresh = sign()
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(fresh, keys[kid].key, algorithms=["ES256"], audience="https://other.example")


def test_settings_refuse_malformed_keys(monkeypatch):
    from marketplace import settings as settings_module

    monkeypatch.setenv("MARKETPLACE_ASSERTION_KEYS", "-----BEGIN PRIVATE KEY-----\nnope\n")
    with pytest.raises(ConfigurationError, match="MARKETPLACE_ASSERTION_KEYS"):
        settings_module._assertion_keys()
