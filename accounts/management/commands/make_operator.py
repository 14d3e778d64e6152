"""Make an existing user an operator (staff + superuser), or take it back with --revoke.

    .venv/bin/python manage.py make_operator --email you@example.com

Operators use the operators' console at /admin/: the review queue and read-only records.
The user signs up (and verifies the address) first, like anyone else.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User


class Command(BaseCommand):
    help = "Make an existing user an operator (or --revoke it)."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--revoke", action="store_true", help="Take operator rights away.")

    def handle(self, *args, email: str, revoke: bool, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user with the email {email}: sign up first.")
        user.is_staff = user.is_superuser = not revoke
        user.save(update_fields=["is_staff", "is_superuser"])
        if revoke:
            self.stdout.write(f"{user.email} is no longer an operator.")
        else:
            self.stdout.write(f"{user.email} is an operator: the console is at /admin/.")
