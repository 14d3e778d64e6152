"""Web pages: the publisher's credential settings, each user's keys and connections, the
OAuth connect and callback pages, and organization webhooks."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.tenancy import get_scoped_or_404, organization_view
from plugins.credentials import selectors, services
from plugins.credentials.errors import CredentialRejected
from plugins.credentials.forms import KeyForm, OAuthClientForm, WebhookForm
from plugins.credentials.models import Webhook
from plugins.credentials.oauth.config import redirect_uri_for
from plugins.credentials.oauth.disconnect import disconnect
from plugins.credentials.oauth.flow import (
    FlowRefused,
    begin,
    complete,
    connect_url_for,
    safe_return_path,
)
from plugins.credentials.schemes import auth_type
from plugins.credentials.webhooks import create_webhook, delete_webhook
from plugins.installations.models import Installation
from plugins.installations.selectors import installations_of
from plugins.models import Plugin
from plugins.outbound import FetchError


def _render(request, template: str, context: dict, status: int = 200):
    return render(
        request,
        template,
        {
            "organization": request.organization,
            "actor": request.actor,
            "is_admin": request.actor.can(Role.ADMIN),
            **context,
        },
        status=status,
    )


# --- the publisher ---------------------------------------------------------------------------


@never_cache
@organization_view(min_role=Role.DEVELOPER)
def plugin_credentials(request, plugin_id: int):
    plugin = get_scoped_or_404(Plugin, request.organization, pk=plugin_id)
    key_form, client_form = KeyForm(), None
    client = selectors.oauth_client_of(plugin=plugin)
    if request.method == "POST" and request.POST.get("form") == "service":
        key_form = KeyForm(request.POST)
        if key_form.is_valid():
            try:
                services.set_service_credential(
                    plugin=plugin, token=key_form.cleaned_data["token"], set_by=request.user
                )
            except CredentialRejected as exc:
                key_form.add_error("token", str(exc))
            else:
                messages.success(request, "Service key saved.")
                return redirect("plugin-credentials", request.organization.slug, plugin.pk)
    elif request.method == "POST" and request.POST.get("form") == "oauth":
        client_form = OAuthClientForm(request.POST)
        if client_form.is_valid():
            data = dict(client_form.cleaned_data)
            data["client_secret"] = data["client_secret"] or None
            try:
                services.set_oauth_client(plugin=plugin, set_by=request.user, **data)
            except CredentialRejected as exc:
                client_form.add_error(None, str(exc))
            else:
                messages.success(request, "OAuth client saved.")
                return redirect("plugin-credentials", request.organization.slug, plugin.pk)
    if client_form is None:
        client_form = OAuthClientForm(
            initial={
                "client_id": client.client_id,
                "scopes": client.scopes,
                "auth_method": client.auth_method,
                "token_content_type": client.token_content_type,
                "revocation_url": client.revocation_url,
                "issuer": client.issuer,
            }
            if client
            else None
        )
    services.verification_token_for(plugin=plugin)
    return _render(
        request,
        "credentials/plugin_credentials.html",
        {
            "plugin": plugin,
            "service_key": selectors.service_credential_status(plugin=plugin),
            "key_form": key_form,
            "client": client,
            "client_form": client_form,
            "redirect_uri": redirect_uri_for(plugin),
            "verification": selectors.verification_status(plugin=plugin),
        },
    )


@require_POST
@organization_view(min_role=Role.DEVELOPER)
def plugin_service_key_delete(request, plugin_id: int):
    plugin = get_scoped_or_404(Plugin, request.organization, pk=plugin_id)
    services.delete_service_credential(plugin=plugin, deleted_by=request.user)
    messages.success(request, "Service key deleted.")
    return redirect("plugin-credentials", request.organization.slug, plugin.pk)


# --- each user -------------------------------------------------------------------------------


def _installation(request, installation_id: int) -> Installation:
    return get_scoped_or_404(
        Installation.objects.select_related("plugin", "version"),
        request.organization,
        pk=installation_id,
    )


@never_cache
@organization_view()
def my_credentials(request):
    rows = []
    for installation in installations_of(organization=request.organization):
        kind = auth_type(installation.version)
        row = {"installation": installation, "type": kind}
        if kind == "user_http":
            row["key"] = selectors.user_credential_status(
                installation=installation, user=request.user
            )
        elif kind == "oauth":
            row["connection"] = selectors.connection_status(
                installation=installation, user=request.user
            )
        rows.append(row)
    return _render(request, "credentials/my_credentials.html", {"rows": rows})


@never_cache
@organization_view()
def installation_credentials(request, installation_id: int):
    installation = _installation(request, installation_id)
    kind = auth_type(installation.version)
    form = KeyForm()
    if request.method == "POST" and kind == "user_http":
        form = KeyForm(request.POST)
        if form.is_valid():
            try:
                services.set_user_credential(
                    installation=installation,
                    user=request.user,
                    token=form.cleaned_data["token"],
                )
            except CredentialRejected as exc:
                form.add_error("token", str(exc))
            else:
                messages.success(request, "Your key was saved.")
                return redirect(
                    "installation-credentials", request.organization.slug, installation.pk
                )
    context = {"installation": installation, "type": kind, "form": form}
    if kind == "user_http":
        context["key"] = selectors.user_credential_status(
            installation=installation, user=request.user
        )
        context["needed"] = selectors.needed_credential(version=installation.version)
    elif kind == "oauth":
        context["connection"] = selectors.connection_status(
            installation=installation, user=request.user
        )
        # A link, not a form: a browser applies the CSP's form-action to every redirect of a
        # form submission, and this one ends at the provider.
        context["connect_url"] = connect_url_for(
            installation=installation,
            user=request.user,
            return_to=reverse(
                "installation-credentials", args=[request.organization.slug, installation.pk]
            ),
        )
    return _render(request, "credentials/installation_credentials.html", context)


@require_POST
@organization_view()
def installation_key_delete(request, installation_id: int):
    installation = _installation(request, installation_id)
    services.delete_user_credential(installation=installation, user=request.user)
    messages.success(request, "Your key was deleted.")
    return redirect("installation-credentials", request.organization.slug, installation.pk)


@never_cache
@organization_view()
def installation_connect(request, installation_id: int):
    """A stable link that starts connecting (lists of installations hand it out without
    creating a flow each time): opens, or reuses, the user's connect link and follows it."""
    installation = _installation(request, installation_id)
    if auth_type(installation.version) != "oauth":
        raise Http404
    back = reverse("installation-credentials", args=[request.organization.slug, installation.pk])
    return redirect(connect_url_for(installation=installation, user=request.user, return_to=back))


@require_POST
@organization_view()
def installation_reconnect(request, installation_id: int):
    """Connect (or reconnect) from any page with one button: a fresh connect link for the user
    that brings them back to `next` (a path on this site; their credentials page otherwise).
    The answer is a page that moves on to the link by itself (a meta refresh, and a link):
    redirecting a form submission to the provider would break the CSP's form-action."""
    installation = _installation(request, installation_id)
    if auth_type(installation.version) != "oauth":
        raise Http404
    back = safe_return_path(request.POST.get("next")) or reverse(
        "installation-credentials", args=[request.organization.slug, installation.pk]
    )
    link = connect_url_for(installation=installation, user=request.user, return_to=back)
    return _render(
        request,
        "credentials/connect_redirect.html",
        {"installation": installation, "start_url": link, "back": back},
    )


@require_POST
@organization_view()
def installation_disconnect(request, installation_id: int):
    installation = _installation(request, installation_id)
    if disconnect(installation=installation, user=request.user):
        messages.success(request, "Disconnected.")
    return redirect("installation-credentials", request.organization.slug, installation.pk)


# --- the connect flow (outside /o/<slug>/: the flow itself names the user and installation) --


@never_cache
@login_required
def oauth_start(request, key: str):
    try:
        url = begin(key=key, user=request.user)
    except FlowRefused as exc:
        if exc.not_found:
            raise Http404 from None
        return render(
            request, "credentials/connect_failed.html", {"message": exc.message}, status=400
        )
    return redirect(url)


@never_cache
@login_required
def oauth_callback(request, plugin_public_id: str):
    try:
        installation, return_to = complete(
            plugin_public_id=plugin_public_id, params=request.GET, user=request.user
        )
    except (FlowRefused, FetchError) as exc:
        message = getattr(exc, "message", "Connecting failed.")
        return render(request, "credentials/connect_failed.html", {"message": message}, status=400)
    messages.success(request, f"Connected to {installation.plugin.name}.")
    if return_to:
        return redirect(return_to)
    return redirect("installation-credentials", installation.organization.slug, installation.pk)


# --- organization webhooks -------------------------------------------------------------------


@never_cache
@organization_view(min_role=Role.ADMIN)
def org_webhooks(request):
    form, new_secret = WebhookForm(), None
    if request.method == "POST":
        form = WebhookForm(request.POST)
        if form.is_valid():
            try:
                _, new_secret = create_webhook(
                    organization=request.organization,
                    url=form.cleaned_data["url"],
                    created_by=request.user,
                )
            except FetchError as exc:
                form.add_error("url", exc.message)
            else:
                form = WebhookForm()
    return _render(
        request,
        "credentials/webhooks.html",
        {
            "webhooks": selectors.webhooks_of(organization=request.organization),
            "form": form,
            "new_secret": new_secret,
        },
    )


@require_POST
@organization_view(min_role=Role.ADMIN)
def org_webhook_delete(request, webhook_id: int):
    webhook = get_scoped_or_404(Webhook, request.organization, pk=webhook_id)
    delete_webhook(webhook=webhook, deleted_by=request.user)
    messages.success(request, "Webhook deleted.")
    return redirect("org-webhooks", request.organization.slug)
