"""The vault seals with AES-256-GCM, binds every value to its context, and rotates keys."""

from __future__ import annotations

import base64

import pytest
from django.test import override_settings

from plugins import vault
from plugins.vault import CredentialUnreadable, VaultMisconfigured, generate_key, parse_key_ring

K1 = generate_key("k1")
K2 = generate_key("k2")
CONTEXT = {"org": 1, "owner": "user:3", "installation": 9, "field": "token"}


@pytest.fixture(autouse=True)
def _ring_k1():
    with override_settings(MARKETPLACE_ENCRYPTION_KEYS=K1):
        yield


def test_it_round_trips_a_secret():
    sealed = vault.seal("sk-live-abcdef123456", context=CONTEXT)
    assert "sk-live" not in sealed
    assert sealed.startswith("v1.k1.")
    assert vault.open_sealed(sealed, context=CONTEXT) == "sk-live-abcdef123456"


def test_it_uses_a_fresh_nonce_every_time():
    assert vault.seal("same", context=CONTEXT) != vault.seal("same", context=CONTEXT)


@pytest.mark.parametrize(
    "other",
    [
        {**CONTEXT, "org": 2},
        {**CONTEXT, "owner": "user:4"},
        {**CONTEXT, "installation": 10},
        {**CONTEXT, "field": "refresh_token"},
    ],
)
def test_it_refuses_a_value_copied_to_another_row_tenant_or_field(other):
    sealed = vault.seal("sk-live-abcdef123456", context=CONTEXT)
    with pytest.raises(CredentialUnreadable):
        vault.open_sealed(sealed, context=other)


def test_it_refuses_tampered_ciphertext():
    sealed = vault.seal("sk-live-abcdef123456", context=CONTEXT)
    head, body = sealed.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[15] ^= 1
    with pytest.raises(CredentialUnreadable, match="does not authenticate"):
        vault.open_sealed(
            f"{head}.{base64.urlsafe_b64encode(bytes(raw)).decode()}", context=CONTEXT
        )


@pytest.mark.parametrize("cut", [5, 20, 40])
def test_it_refuses_a_truncated_value(cut):
    sealed = vault.seal("sk-live-abcdef123456", context=CONTEXT)
    with pytest.raises(CredentialUnreadable):
        vault.open_sealed(sealed[:cut], context=CONTEXT)


def test_it_refuses_an_unknown_key_id():
    sealed = vault.seal("sk-live-abcdef123456", context=CONTEXT)
    with pytest.raises(CredentialUnreadable, match="unknown key"):
        vault.open_sealed(sealed.replace("v1.k1.", "v1.k9.", 1), context=CONTEXT)


def test_it_refuses_a_value_relabelled_with_another_key_id():
    sealed = vault.seal("sk-live-abcdef123456", context=CONTEXT)
    same_key_other_id = f"{K1},k2:{K1.split(':', 1)[1]}"
    with (
        override_settings(MARKETPLACE_ENCRYPTION_KEYS=same_key_other_id),
        pytest.raises(CredentialUnreadable),
    ):
        vault.open_sealed(sealed.replace("v1.k1.", "v1.k2.", 1), context=CONTEXT)


@pytest.mark.parametrize("junk", ["", "v1", "v2.k1.AAAA", "v1.k1.!!!!", "x" * 70000])
def test_it_refuses_malformed_values_without_echoing_them(junk):
    with pytest.raises(CredentialUnreadable) as caught:
        vault.open_sealed(junk, context=CONTEXT)
    assert junk[:20] not in str(caught.value) or not junk


def test_the_first_key_encrypts_and_every_key_decrypts():
    old = vault.seal("sk-old-secret-000000", context=CONTEXT)
    with override_settings(MARKETPLACE_ENCRYPTION_KEYS=f"{K2},{K1}"):
        assert vault.needs_reseal(old)
        new = vault.reseal(old, context=CONTEXT)
        assert vault.key_id_of(new) == "k2"
        assert not vault.needs_reseal(new)
        assert vault.open_sealed(old, context=CONTEXT) == "sk-old-secret-000000"
        assert vault.open_sealed(new, context=CONTEXT) == "sk-old-secret-000000"
    with override_settings(MARKETPLACE_ENCRYPTION_KEYS=K2):
        assert vault.open_sealed(new, context=CONTEXT) == "sk-old-secret-000000"
        with pytest.raises(CredentialUnreadable):
            vault.open_sealed(old, context=CONTEXT)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "k1",
        "k1:notbase64!",
        "k1:" + base64.b64encode(b"short").decode(),
        f"{K1},{K1}",
        "bad id:AAAA",
    ],
)
def test_it_refuses_a_malformed_key_ring_without_echoing_keys(raw):
    with pytest.raises(VaultMisconfigured) as caught:
        parse_key_ring(raw)
    assert "AAAA" not in str(caught.value)
    assert K1.split(":", 1)[1] not in str(caught.value)


def test_a_hint_shows_only_the_last_four_characters_of_a_long_secret():
    assert vault.mask("sk-live-abcdef123456") == "••••3456"
    assert vault.mask("short") == "••••"


def test_a_context_cannot_smuggle_separators_to_collide_with_another():
    with pytest.raises(ValueError, match="separator"):
        vault.seal("x", context={"org": "1\x1fowner\x1euser:2"})
    with pytest.raises(ValueError, match="bound to a context"):
        vault.seal("x", context={})
