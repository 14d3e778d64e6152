"""Issue an API token from the command line, for operators and scripted checks.

    manage.py issue_token --email E --org SLUG [--role ROLE] [--create] [--org-key]

The token is printed alone on the last line of stdout, so `… | tail -n 1` captures it.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts.models import CredentialKind, Membership, Organization, Role, User
from accounts.services import create_organization, create_user, issue_credential

KIND_NAMES = {
    CredentialKind.PERSONAL: "personal access token",
    CredentialKind.ORGANIZATION: "organization API key",
}


class Command(BaseCommand):
    help = (
        "Issue a personal access token for --email in --org (or, with --org-key, an "
        "organization API key) and print it on the last line. With --create, missing users "
        "and organizations are created and the user is made a member."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--email",
            help="The user the token acts as (with --org-key: only "
            "needed as the owner of an organization to create).",
        )
        parser.add_argument("--org", required=True, metavar="SLUG", help="The organization.")
        parser.add_argument(
            "--role",
            choices=Role.values,
            help="With --create: the new member's role (default: owner of a new organization, "
            "member of an existing one). With --org-key: the key's role (default member).",
        )
        parser.add_argument(
            "--create",
            action="store_true",
            help="Create the user, the organization and the membership if missing.",
        )
        parser.add_argument(
            "--org-key",
            action="store_true",
            help="Issue an organization API key instead of a personal token.",
        )
        parser.add_argument("--name", default="issue_token", help="The token's name.")
        parser.add_argument(
            "--expires-days",
            type=int,
            metavar="N",
            help="Expire the token after N days (default: never).",
        )

    def handle(self, *args, email, org, role, create, org_key, name, expires_days, **options):
        if not org_key and not email:
            raise CommandError("--email is required for a personal access token.")
        expires_at = None
        if expires_days is not None:
            if expires_days < 1:
                raise CommandError("--expires-days must be at least 1.")
            expires_at = timezone.now() + timedelta(days=expires_days)
        try:
            with transaction.atomic():
                if org_key:
                    credential, token = self._issue_org_key(
                        email=email,
                        slug=org,
                        role=role,
                        create=create,
                        name=name,
                        expires_at=expires_at,
                    )
                else:
                    credential, token = self._issue_personal(
                        email=email,
                        slug=org,
                        role=role,
                        create=create,
                        name=name,
                        expires_at=expires_at,
                    )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        who = credential.user.email if credential.user else "the organization itself"
        self.stdout.write(
            f"Issued {KIND_NAMES[credential.kind]} {credential.prefix}… acting as "
            f"{who} in {credential.organization.slug} (role {self._role_of(credential)}). "
            "It is shown only now:"
        )
        self.stdout.write(token)

    def _issue_personal(self, *, email, slug, role, create, name, expires_at):
        user = self._user(email, create)
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            if not create:
                raise CommandError(
                    f"No organization with slug {slug!r} (pass --create to create it)."
                )
            if role not in (None, Role.OWNER):
                raise CommandError(
                    "The first member of a new organization is its owner: omit "
                    "--role or use --role owner."
                )
            organization = self._create_organization(slug, owner=user)
        else:
            membership = Membership.objects.filter(organization=organization, user=user).first()
            if membership is None:
                if not create:
                    raise CommandError(
                        f"{user.email} is not a member of {slug} (pass --create to add them)."
                    )
                membership = Membership.objects.create(
                    organization=organization, user=user, role=role or Role.MEMBER
                )
                self.stdout.write(f"Added {user.email} to {slug} as {membership.role}.")
            elif role and role != membership.role:
                self.stderr.write(
                    f"{user.email} is already {membership.role} in {slug}; "
                    "the role is left unchanged."
                )
        return issue_credential(
            organization=organization,
            kind=CredentialKind.PERSONAL,
            name=name,
            created_by=user,
            user=user,
            expires_at=expires_at,
        )

    def _issue_org_key(self, *, email, slug, role, create, name, expires_at):
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            if not create:
                raise CommandError(
                    f"No organization with slug {slug!r} (pass --create to create it)."
                )
            if not email:
                raise CommandError("Creating an organization needs --email for its owner.")
            organization = self._create_organization(slug, owner=self._user(email, create))
        # Issued by the operator, not by a member: no creator to check the role against.
        return issue_credential(
            organization=organization,
            kind=CredentialKind.ORGANIZATION,
            name=name,
            created_by=None,
            role=role or Role.MEMBER,
            expires_at=expires_at,
        )

    def _user(self, email: str, create: bool) -> User:
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not a valid email address.") from None
        user = User.objects.filter(email__iexact=email).first()
        if user is not None:
            return user
        if not create:
            raise CommandError(f"No user with email {email} (pass --create to create it).")
        user = create_user(email=email, verified=True)
        self.stdout.write(
            f"Created user {user.email} (no password: use password reset to log in on the web)."
        )
        return user

    def _create_organization(self, slug: str, *, owner: User) -> Organization:
        organization = create_organization(name=slug, slug=slug, owner=owner)
        self.stdout.write(f"Created organization {slug}; {owner.email} is its owner.")
        return organization

    @staticmethod
    def _role_of(credential) -> str:
        if credential.kind == CredentialKind.PERSONAL:
            return Membership.objects.get(
                organization=credential.organization, user=credential.user
            ).role
        return credential.role
