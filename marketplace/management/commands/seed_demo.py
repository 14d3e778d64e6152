"""Demo data for `make run`: an operator, a publisher organization with two members, a
published public plugin and a private one, both installed in that organization and served by
the demo plugin server (marketplace.demo_plugin, Procfile `demo`) so the installed-plugin API
and "Try it" work: the data plugin's `database` is guarded, members may use `sales` and `hr`
by default, bob only `sales`. Idempotent: running it again changes nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, Organization, Role, User
from accounts.services import create_organization, create_user
from marketplace.demo_plugin import demo_plugin_origin, documents_for_local_server

DEMO_PASSWORD = "marketplace-demo"
OPERATOR = "operator@demo.example"
OWNER = "alice@acme.demo.example"
DEVELOPER = "bob@acme.demo.example"
GUARDED = {"database": "database"}
DEFAULT = {"database": ["hr", "sales"]}
BOB = {"database": ["sales"]}
DEMO_USER_KEY = "demo-key-for-the-demo-server"


class Command(BaseCommand):
    help = "Create demo users, an organization and demo plugins (idempotent)."

    def handle(self, *args, **options):
        with transaction.atomic():
            operator = self._user(OPERATOR, "Olivia Operator", staff=True)
            alice = self._user(OWNER, "Alice Owner")
            bob = self._user(DEVELOPER, "Bob Developer")
            acme = Organization.objects.filter(slug="acme").first() or create_organization(
                name="Acme Corp", slug="acme", owner=alice
            )
            Membership.objects.get_or_create(
                organization=acme, user=bob, defaults={"role": Role.DEVELOPER}
            )
        todo, data = self._plugins(acme, alice, operator)
        self._install(acme, alice, bob, todo, data)
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        self.stdout.write(f"  {OPERATOR:<28} operator (staff, admin console at /admin/)")
        self.stdout.write(f"  {OWNER:<28} owner of Acme Corp")
        self.stdout.write(f"  {DEVELOPER:<28} developer at Acme Corp")
        self.stdout.write(
            "Installed in Acme: the demo TODO and data plugins, served at "
            f"http://{demo_plugin_origin()}/ (bob has a key for the data plugin)."
        )

    def _user(self, email: str, name: str, staff: bool = False) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = create_user(email=email, password=DEMO_PASSWORD, name=name, verified=True)
        if staff and not user.is_superuser:
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        return user

    def _plugins(self, acme: Organization, alice: User, operator: User) -> None:
        from plugins import review
        from plugins.ingest.run import execute_run
        from plugins.models import ReviewState, ValidationState
        from plugins.registration import register_plugin_by_upload

        todo = register_plugin_by_upload(
            organization=acme,
            manifest=documents_for_local_server("todo-manifest.json"),
            openapi=documents_for_local_server("todo-openapi.yaml"),
            origin=demo_plugin_origin(),
            visibility="public",
            submitted_by=alice,
        )
        data = register_plugin_by_upload(
            organization=acme,
            manifest=None,
            openapi=documents_for_local_server("data-query-openapi.json"),
            origin=demo_plugin_origin(),
            visibility="private",
            submitted_by=alice,
        )
        for submission in (todo, data):
            if not submission.run.is_finished:
                execute_run(submission.run.pk)
        todo.version.refresh_from_db()
        plugin = todo.plugin
        plugin.refresh_from_db()
        if (
            plugin.review_state == ReviewState.DRAFT
            and todo.version.validation_state == ValidationState.PASSED
        ):
            review.submit_for_review(plugin=plugin, version=todo.version, submitted_by=alice)
            review.approve_plugin(plugin=plugin, reviewer=operator)
        data.version.refresh_from_db()
        return todo.version, data.version

    def _install(self, acme: Organization, alice: User, bob: User, todo, data) -> None:
        """Install both demo versions (re-pinning to them when older ones were installed);
        guard the data plugin's `database`: `sales` and `hr` for members by default, `sales`
        only for bob. Nothing is written when it is already so."""
        from plugins.credentials.models import UserCredential
        from plugins.credentials.services import set_user_credential
        from plugins.installations.models import AllowList, Installation
        from plugins.installations.services import (
            install_plugin,
            set_allow_list,
            update_installation,
        )
        from plugins.models import ValidationState

        installed = {}
        for version in (todo, data):
            if version.validation_state != ValidationState.PASSED or version.number is None:
                self.stderr.write(f"The demo plugin {version.plugin} did not pass validation.")
                continue
            installed[version.pk] = Installation.objects.filter(
                organization=acme, plugin_id=version.plugin_id, version=version
            ).first() or install_plugin(organization=acme, version=version, installed_by=alice)
        installation = installed.get(data.pk)
        if installation is None:
            return
        if installation.guarded_arguments != GUARDED or installation.default_allowed != DEFAULT:
            update_installation(
                installation=installation,
                changed_by=alice,
                guarded_arguments=GUARDED,
                default_allowed=DEFAULT,
            )
        row = AllowList.objects.filter(installation=installation, user=bob).first()
        if row is None or row.values != BOB:
            set_allow_list(installation=installation, member=bob, values=BOB, changed_by=alice)
        if not UserCredential.objects.filter(installation=installation, user=bob).exists():
            # The demo server takes any key; alice connects her own on the installation page.
            set_user_credential(installation=installation, user=bob, token=DEMO_USER_KEY)
