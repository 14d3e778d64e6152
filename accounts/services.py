"""Writes about organizations, memberships, invitations and API credentials.

Each function is one use case: keyword-only, atomic, and it raises ValidationError for
requests that break a rule (the last owner can't leave, a revoked token stays revoked, …).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.audit import record_event
from accounts.models import (
    ApiCredential,
    CredentialKind,
    Invitation,
    Membership,
    Organization,
    Role,
    User,
)
from accounts.tokens import hash_secret, new_link_secret, new_token

INVITATION_LIFETIME = timedelta(days=7)


def _unique_slug(base: str) -> str:
    root = slugify(base)[:50] or "org"
    slug, n = root, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{root}-{n}"
    return slug


@transaction.atomic
def create_organization(
    *, name: str, owner: User, slug: str | None = None, is_personal: bool = False
) -> Organization:
    organization = Organization(name=name, slug=slug or _unique_slug(name), is_personal=is_personal)
    organization.full_clean()
    organization.save()
    Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
    record_event(
        organization=organization,
        action="organization.created",
        actor=owner,
        target=organization.slug,
    )
    return organization


def create_personal_organization(*, user: User) -> Organization:
    existing = Organization.objects.filter(is_personal=True, memberships__user=user).first()
    if existing:
        return existing
    local_part = user.email.split("@")[0]
    return create_organization(
        name=f"{local_part}'s workspace",
        owner=user,
        is_personal=True,
        slug=_unique_slug(local_part),
    )


@transaction.atomic
def create_user(
    *, email: str, password: str | None = None, name: str = "", verified: bool = False
) -> User:
    """A user with a personal organization (the path the signup form takes, for scripts)."""
    from allauth.account.models import EmailAddress

    user = User.objects.create_user(email=email, password=password, name=name)
    if password is None:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=verified)
    create_personal_organization(user=user)
    return user


def _owner_count(organization: Organization) -> int:
    return Membership.objects.filter(organization=organization, role=Role.OWNER).count()


@transaction.atomic
def change_role(*, membership: Membership, role: Role | str, changed_by: User) -> Membership:
    role = Role(role)
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Role.OWNER and role != Role.OWNER and _owner_count(locked.organization) <= 1:
        raise ValidationError("An organization needs at least one owner.")
    _check_actor_may_grant(locked.organization, changed_by, role, locked)
    previous = locked.role
    locked.role = role
    locked.save(update_fields=["role"])
    record_event(
        organization=locked.organization,
        action="member.role_changed",
        actor=changed_by,
        target=locked.user.email,
        before=previous,
        after=role.value,
    )
    return locked


def _check_actor_may_grant(organization, actor_user, role: Role, target: Membership | None):
    """Admins manage members and developers; only owners touch owners and admins."""
    actor = Membership.objects.filter(organization=organization, user=actor_user).first()
    if actor is None:
        raise ValidationError("Only members can manage an organization.")
    actor_role = actor.role_enum
    touches_privileged = role.at_least(Role.ADMIN) or (
        target is not None and target.role_enum.at_least(Role.ADMIN)
    )
    if touches_privileged and actor_role != Role.OWNER:
        raise ValidationError("Only an owner can grant or change the owner and admin roles.")
    if not actor_role.at_least(Role.ADMIN):
        raise ValidationError("Only owners and admins can manage members.")


@transaction.atomic
def remove_member(*, membership: Membership, removed_by: User) -> None:
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Role.OWNER and _owner_count(locked.organization) <= 1:
        raise ValidationError("The last owner can't be removed.")
    if locked.user_id != removed_by.pk:
        _check_actor_may_grant(locked.organization, removed_by, Role(locked.role), locked)
    revoked = ApiCredential.objects.filter(
        organization=locked.organization, user=locked.user, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    record_event(
        organization=locked.organization,
        action="member.left" if locked.user_id == removed_by.pk else "member.removed",
        actor=removed_by,
        target=locked.user.email,
        role=locked.role,
        tokens_revoked=revoked,
    )
    locked.delete()


@transaction.atomic
def invite_member(
    *, organization: Organization, email: str, role: Role | str, invited_by: User
) -> tuple[Invitation, str]:
    """An invitation and the secret for its link (shown to nobody but the invitee's email)."""
    role = Role(role)
    email = email.strip().lower()
    _check_actor_may_grant(organization, invited_by, role, None)
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError(f"{email} is already a member.")
    Invitation.objects.filter(
        organization=organization, email=email, accepted_at__isnull=True
    ).delete()
    secret = new_link_secret()
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        secret_hash=hash_secret(secret),
        invited_by=invited_by,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    record_event(
        organization=organization,
        action="invitation.sent",
        actor=invited_by,
        target=email,
        role=role.value,
    )
    return invitation, secret


@transaction.atomic
def revoke_invitation(*, invitation: Invitation, revoked_by: User | None = None) -> None:
    """Withdraw an open invitation: its link stops working."""
    deleted, _ = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).delete()
    if deleted:
        record_event(
            organization=invitation.organization,
            action="invitation.revoked",
            actor=revoked_by,
            target=invitation.email,
        )


def find_open_invitation(*, secret: str) -> Invitation | None:
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(secret_hash=hash_secret(secret))
        .first()
    )
    if invitation is None or not invitation.is_open:
        return None
    return invitation


@transaction.atomic
def accept_invitation(*, secret: str, user: User) -> Membership:
    invitation = find_open_invitation(secret=secret)
    if invitation is None:
        raise ValidationError("This invitation link is invalid or has expired.")
    if invitation.email.lower() != user.email.lower():
        raise ValidationError("This invitation was sent to another email address.")
    membership, _ = Membership.objects.get_or_create(
        organization=invitation.organization, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    record_event(
        organization=invitation.organization,
        action="invitation.accepted",
        actor=user,
        target=user.email,
        role=membership.role,
    )
    return membership


@transaction.atomic
def issue_credential(
    *,
    organization: Organization,
    kind: CredentialKind | str,
    name: str,
    created_by: User | None,
    user: User | None = None,
    role: Role | str = Role.MEMBER,
    expires_at: datetime | None = None,
) -> tuple[ApiCredential, str]:
    """A new API credential and its token. The token is returned once and never stored."""
    kind = CredentialKind(kind)
    if kind == CredentialKind.PERSONAL:
        membership = (
            Membership.objects.filter(organization=organization, user=user).first()
            if user is not None
            else None
        )
        if membership is None:
            raise ValidationError("A personal access token needs a member of the organization.")
        # A personal token acts with its user's role in the organization, whatever it is now.
        acts_as = membership.role
    else:
        user = None
        if created_by is not None:
            _check_may_issue_organization_key(organization, created_by, Role(role))
        acts_as = Role(role).value
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError("The expiry date must be in the future.")
    token, prefix = new_token()
    credential = ApiCredential(
        kind=kind,
        organization=organization,
        user=user,
        role=Role(role),
        name=name.strip(),
        prefix=prefix,
        secret_hash=hash_secret(token),
        created_by=created_by,
        expires_at=expires_at,
    )
    credential.full_clean()
    credential.save()
    record_event(
        organization=organization,
        action="credential.issued",
        actor=created_by,
        actor_label="" if created_by else "operator (manage.py)",
        target=f"{credential.name} ({prefix}…)",
        kind=kind.value,
        prefix=prefix,
        role=acts_as,
        for_user=user.email if user else None,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    return credential, token


def _check_may_issue_organization_key(organization, actor_user, role: Role) -> None:
    """Owners and admins issue organization keys, never with a role above their own."""
    actor = Membership.objects.filter(organization=organization, user=actor_user).first()
    if actor is None or not actor.role_enum.at_least(Role.ADMIN):
        raise ValidationError("Only owners and admins can create organization API keys.")
    if not actor.role_enum.at_least(role):
        raise ValidationError("An API key can't have a stronger role than yours.")


@transaction.atomic
def revoke_credential(
    *, credential: ApiCredential, revoked_by: User | None = None
) -> ApiCredential:
    if credential.revoked_at is None:
        credential.revoked_at = timezone.now()
        credential.save(update_fields=["revoked_at"])
        record_event(
            organization=credential.organization,
            action="credential.revoked",
            actor=revoked_by,
            target=f"{credential.name} ({credential.prefix}…)",
            kind=credential.kind,
            prefix=credential.prefix,
        )
    return credential
