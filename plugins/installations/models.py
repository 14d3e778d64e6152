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

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "plugin"], name="one_installation_per_org_and_plugin"
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.plugin} in {self.organization}"
