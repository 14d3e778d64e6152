"""Demo data for `make run`: an operator, a publisher organization with two members, a
published public plugin and a private one. Idempotent: running it again changes nothing."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, Organization, Role, User
from accounts.services import create_organization, create_user

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
DEMO_PASSWORD = "marketplace-demo"
OPERATOR = "operator@demo.example"
OWNER = "alice@acme.demo.example"
DEVELOPER = "bob@acme.demo.example"


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
        self._plugins(acme, alice, operator)
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        self.stdout.write(f"  {OPERATOR:<28} operator (staff, admin console at /admin/)")
        self.stdout.write(f"  {OWNER:<28} owner of Acme Corp")
        self.stdout.write(f"  {DEVELOPER:<28} developer at Acme Corp")

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
            manifest=(DEMO_DIR / "todo-manifest.json").read_bytes(),
            openapi=(DEMO_DIR / "todo-openapi.yaml").read_bytes(),
            origin="todo.demo.example",
            visibility="public",
            submitted_by=alice,
        )
        data = register_plugin_by_upload(
            organization=acme,
            manifest=None,
            openapi=(DEMO_DIR / "data-query-openapi.json").read_bytes(),
            origin="data.acme.demo.example",
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
