"""Web pages for organizations, members, invitations and API credentials.

Every page under /o/<org_slug>/ goes through `organization_view` (404 for outsiders, 403 for a
role that is too weak) and fetches objects with `get_scoped_or_404`. The views parse a form,
call one service and render; the rules live in accounts.services.
"""

from __future__ import annotations

import logging
import smtplib
from urllib.parse import urlencode

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.paginator import Paginator
from django.forms import Form
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import services
from accounts.audit import AuditFilters, events_for_export, events_page
from accounts.audit_export import csv_lines
from accounts.audit_text import describe
from accounts.forms import (
    ApiKeyForm,
    AuditFilterForm,
    InviteForm,
    MemberFilterForm,
    OrganizationForm,
    RoleForm,
    TokenForm,
)
from accounts.models import ApiCredential, CredentialKind, Invitation, Membership, Role
from accounts.selectors import (
    credentials_of,
    default_organization_for,
    members_of,
    open_invitations_of,
)
from accounts.tenancy import (
    CURRENT_ORG_SESSION_KEY,
    get_scoped_or_404,
    membership_for,
    organization_view,
)
from marketplace.keyset import keyset_links

logger = logging.getLogger(__name__)


def _apply_errors(form: Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: per field where the field exists."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _org_render(request, template: str, context: dict | None = None, status: int = 200):
    """Render an organization page: every one gets the organization and the actor's role."""
    context = {
        "organization": request.organization,
        "actor": request.actor,
        "is_admin": request.actor.can(Role.ADMIN),
        **(context or {}),
    }
    return render(request, template, context, status=status)


def _optional_url(name: str, **kwargs) -> str | None:
    """The URL of a route another app provides, or None while that app doesn't provide it."""
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


# --- Outside any organization --------------------------------------------------------------


@login_required
def dashboard(request):
    organization = default_organization_for(
        user=request.user, remembered_slug=request.session.get(CURRENT_ORG_SESSION_KEY)
    )
    if organization is None:
        organization = services.create_personal_organization(user=request.user)
    return redirect("org-home", org_slug=organization.slug)


@login_required
def switch_organization(request):
    """Open another organization, on the same page (`section`) when it has one."""
    membership = membership_for(user=request.user, organization_slug=request.GET.get("org", ""))
    slug = membership.organization.slug
    request.session[CURRENT_ORG_SESSION_KEY] = slug
    section = request.GET.get("section", "")
    if section.startswith(("org-", "publisher-")):
        url = _optional_url(section, org_slug=slug)
        if url:
            return redirect(url)
    return redirect("org-home", org_slug=slug)


@login_required
def organization_create(request):
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.create_organization(
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"] or None,
                owner=request.user,
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Created {organization.name}. You are its owner.")
            return redirect("org-home", org_slug=organization.slug)
    status = 400 if form.errors else 200
    return render(request, "accounts/organization_create.html", {"form": form}, status=status)


@never_cache
def invitation_accept(request, secret: str):
    """GET shows the invitation, POST accepts it. Logged-out visitors are offered login/signup
    and come back here; a bad or expired link gets a 404 page that says so."""
    invitation = services.find_open_invitation(secret=secret)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    context = {"invitation": invitation}
    if not request.user.is_authenticated:
        # The link reached the invitee's inbox: signing up with that address needs no
        # further verification mail.
        get_adapter(request).stash_verified_email(request, invitation.email)
        query = urlencode({"next": request.path})
        context["login_url"] = f"{reverse('account_login')}?{query}"
        context["signup_url"] = f"{reverse('account_signup')}?{query}"
        return render(request, "accounts/invitation.html", context)
    status = 200
    if request.method == "POST":
        try:
            membership = services.accept_invitation(secret=secret, user=request.user)
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
            status = 400
        else:
            messages.success(request, f"Welcome to {membership.organization.name}.")
            return redirect("org-home", org_slug=membership.organization.slug)
    context["wrong_email"] = invitation.email.lower() != request.user.email.lower()
    return render(request, "accounts/invitation.html", context, status=status)


# --- Organization pages --------------------------------------------------------------------


@organization_view()
def org_home(request):
    organization = request.organization
    return _org_render(
        request,
        "accounts/org_home.html",
        {
            "member_count": members_of(organization=organization).count(),
            "plugins_url": _optional_url("publisher-plugins", org_slug=organization.slug),
        },
    )


def _audit_filters(request) -> tuple[AuditFilterForm, AuditFilters]:
    form = AuditFilterForm(request.GET or None)
    if not form.is_valid():
        return form, AuditFilters()
    data = form.cleaned_data
    return form, AuditFilters(
        user=data["user"].strip(),
        plugin=data["plugin"].strip(),
        decision=data["decision"],
        since=data["since"],
        until=data["until"],
    )


@organization_view(min_role=Role.ADMIN)
def org_activity(request):
    """The audit log: filters, newest first, keyset pages of 50, a CSV of the same filters."""
    form, filters = _audit_filters(request)
    events, next_cursor = events_page(
        organization=request.organization, filters=filters, cursor=request.GET.get("before", "")
    )
    return _org_render(
        request,
        "accounts/activity.html",
        {
            "form": form,
            "filters": filters,
            "rows": [(event, describe(event)) for event in events],
            "people": members_of(organization=request.organization).values_list(
                "user__email", flat=True
            ),
            **keyset_links(request, next_cursor),
        },
    )


@organization_view(min_role=Role.ADMIN)
def org_activity_csv(request):
    _, filters = _audit_filters(request)
    events = events_for_export(organization=request.organization, filters=filters)
    response = StreamingHttpResponse(csv_lines(events), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{request.organization.slug}-{stamp}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response


MEMBERS_PAGE_SIZE = 50


def _render_members(request, invite_form: InviteForm | None = None, status: int = 200):
    """The members page: filtered by email and role, 50 to a page, each admin row with its
    role and removal forms."""
    organization = request.organization
    can_manage = request.actor.can(Role.ADMIN)
    filters = MemberFilterForm(request.GET)
    wanted = filters.cleaned_data if filters.is_valid() else {"q": "", "role": ""}
    members = members_of(
        organization=organization, email_contains=wanted["q"].strip(), role=wanted["role"]
    )
    page = Paginator(members, MEMBERS_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return _org_render(
        request,
        "accounts/members.html",
        {
            "memberships": _member_rows(page.object_list, organization)
            if can_manage
            else page.object_list,
            "page": page,
            "filters": filters,
            "filtered": bool(wanted["q"].strip() or wanted["role"]),
            "page_filters": query.urlencode(),
            "me": request.user.pk,
            "invitations": open_invitations_of(organization=organization) if can_manage else None,
            "invite_form": (invite_form or InviteForm()) if can_manage else None,
            "can_manage": can_manage,
        },
        status=status,
    )


def _member_rows(memberships, organization) -> list:
    """Each membership with what its row's forms need, prepared once for the page (it lists
    hundreds): `role_options`, its role <select>'s options (four strings in all), and the
    `role_url` and `remove_url` of its forms (two reversals in all)."""
    options = {
        current: format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (value, " selected" if value == current else "", label)
                for value, label in Role.choices
            ),
        )
        for current in Role.values
    }
    marker = 999_999_999
    urls = {
        name: reverse(name, args=[organization.slug, marker]).rpartition(str(marker))
        for name in ("member-role", "member-remove")
    }
    rows = list(memberships)
    for membership in rows:
        membership.role_options = options[membership.role]
        for name, attribute in (("member-role", "role_url"), ("member-remove", "remove_url")):
            head, _, tail = urls[name]
            setattr(membership, attribute, f"{head}{membership.pk}{tail}")
    return rows


@organization_view()
def org_members(request):
    return _render_members(request)


@organization_view(min_role=Role.ADMIN)
@require_POST
def member_invite(request):
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation, secret = services.invite_member(
                organization=request.organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            _send_invitation(request, invitation, secret)
            return redirect("org-members", org_slug=request.organization.slug)
    return _render_members(request, form, status=400)


def _send_invitation(request, invitation: Invitation, secret: str) -> None:
    context = {
        "invitation": invitation,
        "inviter": request.user,
        "accept_url": request.build_absolute_uri(reverse("invitation-accept", args=[secret])),
    }
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation_message.txt", context)
    try:
        send_mail(subject, body, None, [invitation.email])
    except (smtplib.SMTPException, OSError):
        logger.exception("could not send the invitation email to %s", invitation.email)
        messages.error(
            request,
            f"The invitation for {invitation.email} was saved, but the email "
            "could not be sent. Revoke it and try again later.",
        )
    else:
        messages.success(request, f"Invitation sent to {invitation.email}.")


@organization_view(min_role=Role.ADMIN)
@require_POST
def member_role(request, membership_id: int):
    membership = get_scoped_or_404(
        Membership.objects.select_related("user"), request.organization, pk=membership_id
    )
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
    else:
        try:
            services.change_role(
                membership=membership, role=form.cleaned_data["role"], changed_by=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            role = Role(form.cleaned_data["role"])
            messages.success(request, f"{membership.user.email} is now {role.label.lower()}.")
    return redirect("org-members", org_slug=request.organization.slug)


@organization_view(min_role=Role.ADMIN)
@require_POST
def member_remove(request, membership_id: int):
    membership = get_scoped_or_404(
        Membership.objects.select_related("user"), request.organization, pk=membership_id
    )
    try:
        services.remove_member(membership=membership, removed_by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("org-members", org_slug=request.organization.slug)
    if membership.user_id == request.user.pk:
        messages.success(request, f"You left {request.organization.name}.")
        return redirect("dashboard")
    messages.success(request, f"Removed {membership.user.email}; their tokens are revoked.")
    return redirect("org-members", org_slug=request.organization.slug)


@organization_view()
@require_POST
def org_leave(request):
    """Any member may leave (an owner only while another owner remains)."""
    membership = get_scoped_or_404(Membership, request.organization, user=request.user)
    try:
        services.remove_member(membership=membership, removed_by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("org-home", org_slug=request.organization.slug)
    messages.success(request, f"You left {request.organization.name}.")
    return redirect("dashboard")


@organization_view(min_role=Role.ADMIN)
@require_POST
def invitation_revoke(request, invitation_id: int):
    invitation = get_scoped_or_404(
        Invitation.objects.filter(accepted_at__isnull=True), request.organization, pk=invitation_id
    )
    services.revoke_invitation(invitation=invitation, revoked_by=request.user)
    messages.success(request, f"Revoked the invitation of {invitation.email}.")
    return redirect("org-members", org_slug=request.organization.slug)


# --- API credentials -----------------------------------------------------------------------


def _credentials_page(request, *, kind: CredentialKind, form_class, template: str):
    """List and create credentials of one kind; a new token appears in this one response only."""
    organization = request.organization
    form = form_class(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        extra = (
            {"user": request.user}
            if kind == CredentialKind.PERSONAL
            else {"role": form.cleaned_data["role"]}
        )
        try:
            credential, new_token = services.issue_credential(
                organization=organization,
                kind=kind,
                name=form.cleaned_data["name"],
                created_by=request.user,
                expires_at=form.expires_at,
                **extra,
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Created {credential.name} ({credential.prefix}…).")
            form = form_class()
    owner = request.user if kind == CredentialKind.PERSONAL else None
    response = _org_render(
        request,
        template,
        {
            "form": form,
            "new_token": new_token,
            "credentials": credentials_of(organization=organization, user=owner),
        },
        status=400 if form.errors else 200,
    )
    response["Cache-Control"] = "no-store"
    return response


@organization_view()
def org_tokens(request):
    return _credentials_page(
        request, kind=CredentialKind.PERSONAL, form_class=TokenForm, template="accounts/tokens.html"
    )


@organization_view()
@require_POST
def token_revoke(request, credential_id: int):
    credential = get_scoped_or_404(
        ApiCredential.objects.filter(kind=CredentialKind.PERSONAL, user=request.user),
        request.organization,
        pk=credential_id,
    )
    services.revoke_credential(credential=credential, revoked_by=request.user)
    messages.success(request, f"Revoked {credential.name} ({credential.prefix}…).")
    return redirect("org-tokens", org_slug=request.organization.slug)


@organization_view(min_role=Role.ADMIN)
def org_api_keys(request):
    return _credentials_page(
        request,
        kind=CredentialKind.ORGANIZATION,
        form_class=ApiKeyForm,
        template="accounts/api_keys.html",
    )


@organization_view(min_role=Role.ADMIN)
@require_POST
def api_key_revoke(request, credential_id: int):
    credential = get_scoped_or_404(
        ApiCredential.objects.filter(kind=CredentialKind.ORGANIZATION),
        request.organization,
        pk=credential_id,
    )
    services.revoke_credential(credential=credential, revoked_by=request.user)
    messages.success(request, f"Revoked {credential.name} ({credential.prefix}…).")
    return redirect("org-api-keys", org_slug=request.organization.slug)
