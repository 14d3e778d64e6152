"""Credential costs, measured: `python -m tests.benchmarks.bench_credentials` (or `make bench`).

Prints a markdown table:
- seal + open of one secret through the vault, against the bare AES-GCM cipher on the same
  bytes (the vault's own overhead: key ring, associated data, encoding);
- key rotation throughput (secrets/s) over 10,000 stored user keys, against re-writing the same
  rows without any cryptography (what the batching and locking cost on their own);
- the hot path when no refresh is due (resolve_credential for an OAuth connection with a fresh
  token: cache read, decision, decryption, header) and the decision alone (cache read + expiry
  check), each against one primary-key query of the same row; and the number of database
  queries the hot path makes (it must be 0: a cached read, not a query).

Runs against a throwaway test database created from DATABASE_URL (PostgreSQL in CI, SQLite by
default) and the configured cache (Redis when REDIS_URL is set). Not collected by pytest.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

import django

django.setup()

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    override_settings,
    setup_databases,
    setup_test_environment,
    teardown_databases,
    teardown_test_environment,
)

from plugins import vault  # noqa: E402
from plugins.vault import generate_key  # noqa: E402

SECRET = "sk-live-0123456789abcdefghijklmnopqrstuv"
CONTEXT = {"org": 7, "owner": "user:3", "installation": 12, "field": "user_token"}
ROTATION_ROWS = 10_000


def per_call(func: Callable[[], object], calls: int, repeats: int = 5) -> float:
    """Median seconds per call over `repeats` rounds of `calls` calls."""
    rounds = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            func()
        rounds.append((time.perf_counter() - started) / calls)
    return statistics.median(rounds)


def bench_vault() -> tuple[float, float]:
    sealed = vault.seal(SECRET, context=CONTEXT)

    def through_vault():
        vault.open_sealed(vault.seal(SECRET, context=CONTEXT), context=CONTEXT)

    cipher = AESGCM(os.urandom(32))
    data, aad = SECRET.encode(), b"aad"

    def bare():
        nonce = os.urandom(12)
        cipher.decrypt(nonce, cipher.encrypt(nonce, data, aad), aad)

    assert vault.open_sealed(sealed, context=CONTEXT) == SECRET
    return per_call(through_vault, 5_000), per_call(bare, 5_000)


def _world():
    from accounts.services import create_organization, create_user
    from plugins.installations.integrity import pin_fields
    from plugins.installations.models import Installation
    from tests.installations.helpers import make_version

    owner = create_user(email="bench@example.com", password="correct horse battery")
    organization = create_organization(name="Bench Org", slug="bench-org", owner=owner)
    version = make_version(
        organization,
        slug="bench",
        auth={
            "type": "oauth",
            "client_url": "http://127.0.0.1:8150/auth",
            "authorization_url": "http://127.0.0.1:8150/token",
        },
    )
    installation = Installation.objects.create(
        organization=organization,
        plugin=version.plugin,
        version=version,
        installed_by=owner,
        **pin_fields(version),
    )
    return organization, owner, installation


def bench_rotation(organization, installation) -> tuple[float, float]:
    from accounts.models import User
    from plugins.credentials.models import UserCredential
    from plugins.credentials.rotation import rotate_field
    from plugins.credentials.sealed import SealedField

    users = User.objects.bulk_create(
        User(email=f"r{i}@example.com", password="!") for i in range(ROTATION_ROWS)
    )
    rows = []
    for user in users:
        row = UserCredential(organization=organization, installation=installation, user=user)
        row.sealed_token = vault.seal(f"key-{user.pk:08d}", context=row.vault_context())
        row.hint = "••••"
        rows.append(row)
    UserCredential.objects.bulk_create(rows, batch_size=1000)
    field = SealedField(UserCredential, "sealed_token")

    started = time.perf_counter()
    last_pk = 0
    while True:  # the same batches and locks as the rotation, without the cryptography
        with transaction.atomic():
            batch = list(
                UserCredential.objects.filter(pk__gt=last_pk)
                .order_by("pk")
                .select_for_update()[:500]
            )
            if not batch:
                break
            UserCredential.objects.bulk_update(batch, ["sealed_token"])
            last_pk = batch[-1].pk
    baseline = time.perf_counter() - started

    primary = settings.MARKETPLACE_ENCRYPTION_KEYS
    with override_settings(MARKETPLACE_ENCRYPTION_KEYS=f"{generate_key('bench2')},{primary}"):
        started = time.perf_counter()
        counts = rotate_field(field, batch_size=500)
        rotation = time.perf_counter() - started
        assert counts.resealed == ROTATION_ROWS, counts
        assert counts.remaining == 0, counts
    return ROTATION_ROWS / rotation, ROTATION_ROWS / baseline


def bench_refresh_decision(owner, installation) -> tuple[float, float, float, int]:
    from plugins.credentials import resolve_credential
    from plugins.credentials.models import OAuthConnection
    from plugins.credentials.oauth.connections import store_tokens
    from plugins.credentials.oauth.protocol import TokenSet

    row = OAuthConnection.objects.create(
        organization=installation.organization, installation=installation, user=owner
    )
    store_tokens(
        row,
        TokenSet(
            access_token="at-" + "x" * 40,
            refresh_token="rt-" + "y" * 40,
            token_type="Bearer",
            expires_at=time.time() + 3600,
            scope="todo:read",
            data={"token_type": "Bearer"},
        ),
        refreshed=False,
    )
    cache.clear()
    resolve_credential(installation=installation, user=owner)  # warm: one miss fills the cache
    with CaptureQueriesContext(connection) as queries:
        hot = per_call(lambda: resolve_credential(installation=installation, user=owner), 2_000)
    from plugins.credentials import cache as credential_cache
    from plugins.credentials.oauth.refresh import is_due

    key = credential_cache.oauth_key(installation.pk, owner.pk)
    decision = per_call(lambda: is_due(credential_cache.get(key)), 2_000)
    query = per_call(lambda: OAuthConnection.objects.get(pk=row.pk), 2_000)
    return hot, decision, query, len(queries.captured_queries)


def main() -> None:
    setup_test_environment()
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        cache.clear()
        vault_time, bare_time = bench_vault()
        organization, owner, installation = _world()
        rate, baseline_rate = bench_rotation(organization, installation)
        hot, decision, query, queries = bench_refresh_decision(owner, installation)
    finally:
        teardown_databases(databases, verbosity=0)
        teardown_test_environment()
    backend = connection.vendor
    cache_backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(f"Credentials ({backend} database, {cache_backend} cache)\n")
    print("| measure | value | baseline | ratio |")
    print("|---|---|---|---|")
    print(
        f"| seal + open one secret (vault) | {vault_time * 1e6:.1f} µs | bare AES-GCM "
        f"{bare_time * 1e6:.1f} µs | {vault_time / bare_time:.1f}x |"
    )
    print(
        f"| key rotation, {ROTATION_ROWS:,} secrets | {rate:,.0f} secrets/s | same rows "
        f"re-written without crypto {baseline_rate:,.0f} rows/s | {baseline_rate / rate:.2f}x "
        "the time |"
    )
    print(
        f"| refresh decision, no refresh due (resolve_credential, OAuth) | {hot * 1e6:.0f} µs, "
        f"{queries} DB queries in {5 * 2_000:,} calls | one PK query {query * 1e6:.0f} µs "
        f"| {hot / query:.2f}x |"
    )
    print(
        f"| the decision alone (cache read + expiry check) | {decision * 1e6:.0f} µs | "
        f"one PK query {query * 1e6:.0f} µs | {decision / query:.2f}x |"
    )


if __name__ == "__main__":
    main()
