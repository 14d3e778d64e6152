"""The settings module refuses malformed configuration with one line naming the variable."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plugins.proxy.assertion import generate_pem

ROOT = Path(__file__).resolve().parents[2]
KEYS = "k1:" + base64.b64encode(b"k" * 32).decode()
ASSERTION_KEY = generate_pem()


def load_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "DEBUG",
            "SECRET_KEY",
            "PORT",
            "ENVIRONMENT",
            "TESTING",
            "MARKETPLACE_ENCRYPTION_KEYS",
            "MARKETPLACE_ASSERTION_KEYS",
        }
    }
    clean.update({"DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "marketplace.settings"})
    clean.update(env)
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE']); print(settings.CELERY_BROKER_URL); "
        "print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("PORT", "eighty"),
        ("DATABASE_URL", "mysql://db/x"),
        ("DATABASE_URL", "postgres://db:notaport/x"),
        ("REDIS_URL", "redis://:abc/0:x"),
        ("REDIS_URL", "http://redis"),
        ("ENVIRONMENT", "staging"),
    ],
)
def test_it_refuses_a_malformed_value_naming_the_variable(tmp_path, name, value):
    result = load_settings(tmp_path, **{name: value})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"configuration error: {name}")
    assert "Traceback" not in result.stderr


def test_it_requires_a_secret_key_in_production(tmp_path):
    result = load_settings(tmp_path, ENVIRONMENT="production")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "configuration error: SECRET_KEY is required when ENVIRONMENT=production"
    )


def test_it_is_safe_by_default_in_production(tmp_path):
    result = load_settings(
        tmp_path,
        ENVIRONMENT="production",
        SECRET_KEY="x" * 50,
        MARKETPLACE_ENCRYPTION_KEYS=KEYS,
        MARKETPLACE_ASSERTION_KEYS=ASSERTION_KEY,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False True"


def test_it_runs_embedded_with_no_environment(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    engine, broker, _ = result.stdout.splitlines()
    assert engine == "django.db.backends.sqlite3"
    assert broker == "filesystem://"
    assert (tmp_path / "secret_key").exists()
    assert "generated a development key" in result.stderr


def test_it_uses_postgres_and_redis_when_configured(tmp_path):
    result = load_settings(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/x",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    assert result.returncode == 0, result.stderr
    engine, broker, _ = result.stdout.splitlines()
    assert engine == "django.db.backends.postgresql"
    assert broker == "redis://127.0.0.1:6379/3"


def test_production_settings_pass_djangos_deployment_checks(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
    env.update(
        {
            "DATA_DIR": str(tmp_path),
            "ENVIRONMENT": "production",
            "SECRET_KEY": "k" * 20 + "-production-test-key-0123456789",
            "ALLOWED_HOSTS": "marketplace.example.com",
            "MARKETPLACE_ENCRYPTION_KEYS": KEYS,
            "MARKETPLACE_ASSERTION_KEYS": ASSERTION_KEY,
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def database_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DB_")}
    clean.update(
        {
            "DATA_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "marketplace.settings",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x",
        }
    )
    clean.update(env)
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "db = settings.DATABASES['default']; "
        "print(db['CONN_MAX_AGE'], db['OPTIONS'].get('pool'))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_postgres_connections_are_pooled_by_default(tmp_path):
    result = database_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "0 {'min_size': 1, 'max_size': 8, 'timeout': 10, 'max_idle': 300}"
    )


def test_the_pool_is_sized_by_setting(tmp_path):
    result = database_settings(
        tmp_path, DB_POOL_MIN_SIZE="2", DB_POOL_MAX_SIZE="20", DB_POOL_TIMEOUT="3"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "0 {'min_size': 2, 'max_size': 20, 'timeout': 3, 'max_idle': 300}"
    )


def test_without_the_pool_connections_persist_per_thread(tmp_path):
    result = database_settings(tmp_path, DB_POOL="false", DB_CONN_MAX_AGE="30")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "30 None"


def test_it_refuses_a_pool_minimum_above_its_maximum(tmp_path):
    result = database_settings(tmp_path, DB_POOL_MIN_SIZE="9", DB_POOL_MAX_SIZE="8")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("configuration error: DB_POOL_MIN")


def test_it_requires_encryption_keys_in_production(tmp_path):
    result = load_settings(tmp_path, ENVIRONMENT="production", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "configuration error: MARKETPLACE_ENCRYPTION_KEYS is required when ENVIRONMENT=production"
    )


def test_it_refuses_a_malformed_key_ring_without_echoing_it(tmp_path):
    result = load_settings(tmp_path, MARKETPLACE_ENCRYPTION_KEYS="k1:c2hvcnQ=")
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last == "configuration error: MARKETPLACE_ENCRYPTION_KEYS key 'k1' must be 32 bytes"


def test_it_generates_a_development_key_once_into_the_data_folder(tmp_path):
    first = load_settings(tmp_path)
    assert first.returncode == 0, first.stderr
    assert "generated a development key" in first.stderr
    key = (tmp_path / "encryption_keys").read_text()
    assert load_settings(tmp_path).returncode == 0
    assert (tmp_path / "encryption_keys").read_text() == key


def read_private_destinations(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_OUTBOUND_")}
    clean.pop("TESTING", None)
    clean.update({"DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "marketplace.settings"})
    clean.update(env)
    code = (
        "import django; django.setup(); "
        "from django.conf import settings; "
        "print(settings.MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_old_outbound_allowlist_variable_still_works_with_a_deprecation_warning(tmp_path):
    result = read_private_destinations(tmp_path, MARKETPLACE_OUTBOUND_ALLOWLIST="10.1.2.3:8080")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['10.1.2.3:8080']"
    assert "MARKETPLACE_OUTBOUND_ALLOWLIST is deprecated" in result.stderr
    assert "MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS" in result.stderr


def test_the_new_private_destinations_variable_wins_over_the_old_one_silently(tmp_path):
    result = read_private_destinations(
        tmp_path,
        MARKETPLACE_OUTBOUND_ALLOWLIST="10.1.2.3:8080",
        MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS="127.0.0.1:9000",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['127.0.0.1:9000']"
    assert "deprecated" not in result.stderr


def test_it_requires_assertion_keys_in_production(tmp_path):
    result = load_settings(
        tmp_path, ENVIRONMENT="production", SECRET_KEY="x" * 50, MARKETPLACE_ENCRYPTION_KEYS=KEYS
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "configuration error: MARKETPLACE_ASSERTION_KEYS is required when ENVIRONMENT=production"
    )


def test_it_generates_a_development_assertion_key_once(tmp_path):
    assert load_settings(tmp_path).returncode == 0
    key = (tmp_path / "assertion_keys.pem").read_text()
    assert "PRIVATE KEY" in key
    assert load_settings(tmp_path).returncode == 0
    assert (tmp_path / "assertion_keys.pem").read_text() == key
