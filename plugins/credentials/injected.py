"""What the proxy adds to a plugin call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class InjectedCredential:
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    query: Mapping[str, str] = field(default_factory=dict, repr=False)
    bootstrap: Mapping[str, object] = field(default_factory=dict, repr=False)
    connection_id: int | None = None
    kind: str = "none"
    # Which stored value this is (the OAuth token generation), so a 401 refreshes only once.
    generation: int = 0

    @property
    def sensitive_names(self) -> frozenset[str]:
        """Header names that must not follow a redirect to another host."""
        return frozenset(name.lower() for name in self.headers)
