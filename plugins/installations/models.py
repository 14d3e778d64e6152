"""An organization's installation of a plugin, pinned to one version."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Organization


class Installation(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="installations"
    )
    plugin = models.ForeignKey(
        "plugins.Plugin", on_delete=models.CASCADE, related_name="installations"
    )
    version = models.ForeignKey(
        "plugins.PluginVersion",
        on_delete=models.PROTECT,
        related_name="installations",
        help_text="The version this organization's calls use.",
    )
    installed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    enabled = models.BooleanField(default=True)
    # Grown by the proxy issue (see plugins/installations/__init__.py).
    updated_at = models.DateTimeField(auto_now=True)
    disabled_operations = models.JSONField(
        default=dict,
        blank=True,
        help_text="Operations an admin turned off: {operationId: reason}.",
    )
    guarded_arguments = models.JSONField(
        default=dict,
        blank=True,
        help_text="Arguments an admin marked as guarded resources: {argument: kind}.",
    )
    default_allowed = models.JSONField(
        default=dict,
        blank=True,
        help_text="Allowed values for members without their own allow-list: {argument: [values]}.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "plugin"], name="one_installation_per_org_and_plugin"
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.plugin} in {self.organization}"


# -- grown by the proxy issue: operations, guarded parameters, allow-lists, call events ---------


class AllowList(models.Model):
    """The values one member may use for each guarded argument of an installation.

    `values` is ``{"<argument>": ["value", …]}``; an argument missing here is denied for that
    member (default deny). A member without a row gets the installation's `default_allowed`.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="allow_lists"
    )
    installation = models.ForeignKey(
        Installation, on_delete=models.CASCADE, related_name="allow_lists"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    values = models.JSONField(default=dict, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "user"], name="one_allow_list_per_member"
            ),
        ]

    def __str__(self) -> str:
        return f"allow-list of {self.user} on {self.installation}"


class CallDecision(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied by an allow-list"
    INVALID = "invalid", "Invalid arguments"
    RATE_LIMITED = "rate_limited", "Rate limited"
    UNAVAILABLE = "unavailable", "Operation disabled"
    NOT_CONNECTED = "not_connected", "No credential"
    UPSTREAM_ERROR = "upstream_error", "Upstream failed"


class CallEvent(models.Model):
    """One call through the proxy: who, what, the decision, and how it went. Never bodies or
    secrets. Written in bulk from a Redis stream by a worker (plugins.proxy.events)."""

    request_id = models.CharField(max_length=40, unique=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="call_events"
    )
    installation = models.ForeignKey(
        Installation, on_delete=models.SET_NULL, null=True, related_name="call_events"
    )
    plugin = models.ForeignKey(
        "plugins.Plugin", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    via = models.CharField(max_length=16, blank=True, help_text="token kind or session")
    operation = models.CharField(max_length=200)
    decision = models.CharField(max_length=16, choices=CallDecision.choices)
    reason = models.CharField(max_length=200, blank=True)
    upstream_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(default=0)
    upstream_ms = models.FloatField(default=0)
    bytes_in = models.PositiveIntegerField(default=0)
    bytes_out = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["installation", "created_at"]),
            models.Index(fields=["plugin", "operation", "created_at"]),
            # The organization's call log: newest first, in keyset pages.
            models.Index(
                fields=["organization", "-created_at", "-id"], name="callevent_org_recent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.decision} ({self.request_id})"


class DailyUsage(models.Model):
    """Calls of one operation on one day whose latency fell in one histogram bucket
    (plugins.installations.latency), and how many of them failed: the usage charts' rollups.
    Written by the call-event drain in the transaction that inserts the events
    (plugins.installations.rollups), so each event is counted once."""

    operation = models.CharField(max_length=200)
    day = models.DateField()
    bucket = models.PositiveSmallIntegerField()
    calls = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.operation} on {self.day}: {self.calls} calls in bucket {self.bucket}"


class InstallationDailyUsage(DailyUsage):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    installation = models.ForeignKey(
        Installation, on_delete=models.CASCADE, related_name="daily_usage"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "day", "operation", "bucket"],
                name="one_usage_row_per_installation_day_operation_bucket",
            ),
        ]


class PluginDailyUsage(DailyUsage):
    """Every organization's calls of a plugin, for its publisher."""

    plugin = models.ForeignKey("plugins.Plugin", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["plugin", "day", "operation", "bucket"],
                name="one_usage_row_per_plugin_day_operation_bucket",
            ),
        ]
