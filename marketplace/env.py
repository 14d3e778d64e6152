"""Strict readers for environment variables.

Every malformed value stops start-up with one line naming the variable, so a typo in a
deployment never turns into a silently different configuration.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit


class ConfigurationError(SystemExit):
    """A bad environment value; exits the process with a one-line message."""

    def __init__(self, name: str, problem: str):
        super().__init__(f"configuration error: {name} {problem}")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """A string, optionally read from the file named by NAME_FILE (for container secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            with open(file_name, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as exc:
            raise ConfigurationError(f"{name}_FILE", f"cannot be read: {exc.strerror}") from None
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(name, f"must be true or false, got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(name, f"must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigurationError(name, f"must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    raw = env_str(name, default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, schemes: set[str], default: str = "") -> str:
    """A URL whose scheme is one of `schemes`, with a host and a numeric port if one is given."""
    raw = env_str(name, default)
    if not raw:
        return ""
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError on a non-numeric port
    except ValueError as exc:
        raise ConfigurationError(name, f"is not a valid URL ({exc})") from None
    if parts.scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ConfigurationError(
            name, f"must use one of the schemes {allowed}, got {parts.scheme!r}"
        )
    if not parts.hostname and parts.scheme not in {"sqlite"}:
        raise ConfigurationError(name, "has no host")
    return raw


_RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def env_rate(name: str, default: str) -> str:
    """A rate such as `20/10m` (20 per 10 minutes): a count, a slash, an optional multiplier
    and one of s, m, h, d. `off` disables the limit and returns ''."""
    raw = env_str(name, default).strip().lower()
    if raw in {"", "off", "none"}:
        return ""
    count, slash, period = raw.partition("/")
    multiplier, unit = period[:-1], period[-1:]
    if (
        not slash
        or not count.isdigit()
        or int(count) == 0
        or unit not in _RATE_PERIODS
        or (multiplier and not multiplier.isdigit())
        or multiplier == "0"
    ):
        raise ConfigurationError(name, f"must look like 20/10m (count/period), got {raw!r}")
    return raw
