"""Installing a plugin pins an organization to one validated version."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from plugins.installations.models import Installation
from plugins.installations.services import install_plugin
from tests.installations.helpers import make_version


def test_it_installs_a_validated_version_and_audits_it(acme, alice):
    version = make_version(acme)
    installation = install_plugin(organization=acme, version=version, installed_by=alice)
    assert installation.plugin_id == version.plugin_id
    assert installation.version == version
    assert installation.enabled
    assert AuditEvent.objects.filter(organization=acme, action="plugin.installed").exists()


def test_installing_again_repins_the_one_installation(acme, alice):
    first = make_version(acme)
    second = make_version(acme, plugin=first.plugin, number=2)
    install_plugin(organization=acme, version=first, installed_by=alice)
    again = install_plugin(organization=acme, version=second, installed_by=alice)
    assert Installation.objects.filter(organization=acme).count() == 1
    assert again.version == second


def test_it_refuses_a_version_that_did_not_pass_validation(acme, alice):
    version = make_version(acme, passed=False)
    with pytest.raises(ValidationError):
        install_plugin(organization=acme, version=version, installed_by=alice)
