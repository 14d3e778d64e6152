"""The identity a request acts with, resolved once by the tenancy gate or the token check."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import ApiCredential, Organization, Role


@dataclass(frozen=True)
class Actor:
    """Who is acting, for which organization, with which role."""

    organization: Organization
    role: Role
    user: object | None = None  # None for an organization API key
    credential: ApiCredential | None = None

    def can(self, min_role: Role | str) -> bool:
        return self.role.at_least(min_role)

    @property
    def audit_label(self) -> str:
        """Who to name in the audit trail: the user, or the organization API key itself."""
        if self.user is not None:
            return self.user.email
        if self.credential is not None:
            return f"API key {self.credential.name} ({self.credential.prefix}…)"
        return ""

    @property
    def token_kind(self) -> str:
        return self.credential.kind if self.credential else "session"
