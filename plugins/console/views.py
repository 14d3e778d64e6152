"""Installations in the organization console: install, settings, allow-lists, try it, usage.

Every view is an @organization_view (404 for outsiders, 403 below the role) and reaches the
installation through plugins.installations.selectors.installation_of.
"""

from __future__ import annotations

import json
import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.selectors import members_of
from accounts.tenancy import get_scoped_or_404, organization_view
from marketplace.keyset import keyset_links
from plugins import charts, selectors
from plugins.console import calls, forms, usage
from plugins.console.selectors import installations_with_usage, pinnable_versions
from plugins.credentials.selectors import connection_status
from plugins.installations import services
from plugins.installations.integrity import pin_problem
from plugins.installations.models import AllowList
from plugins.installations.policy import Refusal
from plugins.installations.selectors import (
    guarded_arguments_of,
    installation_of,
    policy_of,
    tools_and_summary_of,
)
from plugins.models import Plugin
from plugins.proxy.call import call_operation


def _installation_or_404(request, installation_id: int):
    installation = installation_of(
        organization=request.organization, installation_id=installation_id
    )
    if installation is None:
        raise Http404
    return installation


def _usage_context(days: int, **scope) -> dict:
    rows = usage.per_day(days=days, **scope)
    series = usage.chart_points(rows)
    return {
        "days": days,
        "periods": usage.PERIODS,
        "total_calls": sum(r.calls for r in rows),
        "calls_chart": charts.bar_chart(series["calls"], title=f"Calls per day, last {days} days"),
        "errors_chart": charts.bar_chart(series["errors"], title="Error rate per day", unit="%"),
        "latency_chart": charts.line_chart(
            [("p50", series["p50"]), ("p95", series["p95"])],
            title="Latency per day (p50, p95)",
            unit=" ms",
        ),
        "operations": usage.per_operation(days=days, **scope),
    }


def _days(request) -> int:
    try:
        days = int(request.GET.get("days", 7))
    except ValueError:
        return 7
    return days if days in usage.PERIODS else 7


@organization_view(min_role=Role.ADMIN)
@require_POST
def install(request):
    form = forms.InstallForm(request.POST)
    if not form.is_valid():
        raise Http404
    plugin = selectors.published_plugin_or_404(public_id=form.cleaned_data["plugin"])
    try:
        installation = services.install_plugin(
            organization=request.organization,
            version=plugin.published_version,
            installed_by=request.user,
        )
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("storefront-plugin", public_id=plugin.public_id)
    messages.success(request, f"Installed {plugin.listed_name} in {request.organization.name}.")
    return redirect(
        "installation-detail", org_slug=request.organization.slug, installation_id=installation.pk
    )


@organization_view()
def installation_list(request):
    return render(
        request,
        "console/installations.html",
        {"installations": installations_with_usage(organization=request.organization)},
    )


@organization_view()
def installation_detail(request, installation_id: int):
    installation = _installation_or_404(request, installation_id)
    toolset, summary = tools_and_summary_of(installation.version)
    is_admin = request.actor.can(Role.ADMIN)
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied("Changing an installation needs the Admin role or above.")
        return _save_settings(request, installation, toolset)
    off = installation.disabled_operations or {}
    return render(
        request,
        "console/installation.html",
        {
            "installation": installation,
            "summary": summary,
            "tools": [(tool, off.get(tool.operation)) for tool in toolset.tools],
            "unavailable": toolset.disabled,
            "pin_problem": pin_problem(installation),
            "versions": pinnable_versions(installation=installation) if is_admin else [],
            "auth_type": summary.get("auth_type"),
            "connection": connection_status(installation=installation, user=request.user)
            if summary.get("auth_type") == "oauth"
            else None,
            **_usage_context(_days(request), installation=installation),
        },
    )


def _save_settings(request, installation, toolset):
    enabled_ops = set(request.POST.getlist("operation"))
    disabled = {
        tool.operation: (installation.disabled_operations or {}).get(tool.operation, "")
        or "An administrator turned this operation off."
        for tool in toolset.tools
        if tool.operation not in enabled_ops
    }
    version = None
    if request.POST.get("version"):
        version = (
            pinnable_versions(installation=installation).filter(pk=request.POST["version"]).first()
        )
        if version is None:
            raise Http404
    try:
        services.update_installation(
            installation=installation,
            changed_by=request.user,
            enabled=request.POST.get("enabled") == "on",
            version=version,
            disabled_operations=disabled,
        )
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, "Saved.")
    return redirect(
        "installation-detail", org_slug=request.organization.slug, installation_id=installation.pk
    )


@organization_view(min_role=Role.ADMIN)
@require_POST
def uninstall(request, installation_id: int):
    installation = _installation_or_404(request, installation_id)
    name = installation.plugin.listed_name or installation.plugin.name
    services.uninstall_plugin(installation=installation, removed_by=request.user)
    messages.success(request, f"Uninstalled {name}; its connections and allow-lists are gone.")
    return redirect("installation-list", org_slug=request.organization.slug)


def _values(text: str) -> list[str]:
    return sorted({v.strip() for v in text.replace("\n", ",").split(",") if v.strip()})


@organization_view(min_role=Role.ADMIN)
def allow_lists(request, installation_id: int):
    """Members by guarded parameters: which values each member may use, and the default for
    members without a row of their own."""
    installation = _installation_or_404(request, installation_id)
    guarded = guarded_arguments_of(installation)
    memberships = list(members_of(organization=request.organization))
    rows = {
        row.user_id: row
        for row in AllowList.objects.filter(installation=installation).only("user_id", "values")
    }
    if request.method == "POST":
        try:
            for membership in memberships:
                values = {
                    arg: _values(request.POST.get(f"v-{membership.user_id}-{arg}", ""))
                    for arg in guarded
                }
                values = {arg: v for arg, v in values.items() if v}
                current = rows.get(membership.user_id)
                if (current.values if current else {}) != values and (values or current):
                    services.set_allow_list(
                        installation=installation,
                        member=membership.user,
                        values=values,
                        changed_by=request.user,
                    )
            default = {arg: _values(request.POST.get(f"default-{arg}", "")) for arg in guarded}
            services.update_installation(
                installation=installation,
                changed_by=request.user,
                default_allowed={arg: v for arg, v in default.items() if v},
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Allow-lists saved.")
            return redirect(
                "installation-allow-lists",
                org_slug=request.organization.slug,
                installation_id=installation.pk,
            )
    table = []
    for membership in memberships:
        own = rows.get(membership.user_id)
        values = own.values if own else {}
        cells = [(arg, ", ".join(values.get(arg, []))) for arg in guarded]
        table.append((membership, cells, own is not None))
    default = installation.default_allowed or {}
    return render(
        request,
        "console/allow_lists.html",
        {
            "installation": installation,
            "guarded": guarded,
            "table": table,
            "defaults": [(arg, ", ".join(default.get(arg, []))) for arg in guarded],
        },
    )


@organization_view()
def try_operation(request, installation_id: int, operation: str):
    """A form generated from the operation's schema; it calls through the proxy, as the member,
    and shows what the model would get: the filtered data and the text."""
    installation = _installation_or_404(request, installation_id)
    toolset, _ = tools_and_summary_of(installation.version)
    tool = next((t for t in toolset.tools if t.operation == operation), None)
    if tool is None:
        raise Http404
    # The member's own view of the tool: guarded parameters narrowed to their allowed values.
    decided = policy_of(installation=installation, user=request.user).operation(operation)
    refusal = decided if isinstance(decided, Refusal) else None
    if refusal is None:
        tool = decided.tool
    form_class = forms.argument_form_class(tool.parameters)
    form = form_class(request.POST or None)
    result = None
    if request.method == "POST" and refusal is None and form.is_valid():
        result = call_operation(
            installation=installation,
            user=request.user,
            via="web",
            operation=operation,
            arguments=form.arguments,
            request_id=uuid.uuid4().hex,
        )
    return render(
        request,
        "console/try.html",
        {
            "installation": installation,
            "tool": tool,
            "form": form,
            "result": result,
            "data": json.dumps(result.body.get("data"), indent=2, ensure_ascii=False)[:50_000]
            if result and "data" in result.body
            else None,
            "error": result.body.get("error") if result else None,
            "refusal": refusal,
        },
    )


def _call_filters(request) -> tuple[forms.CallFilterForm, calls.CallFilters]:
    form = forms.CallFilterForm(request.GET or None)
    if not form.is_valid():
        return form, calls.CallFilters()
    data = form.cleaned_data
    return form, calls.CallFilters(
        user=data["user"].strip(),
        plugin=data["plugin"].strip(),
        decision=data["decision"],
        since=data["since"],
        until=data["until"],
    )


@organization_view(min_role=Role.ADMIN)
def call_log(request):
    """Every call made through the proxy in this organization: who, which operation, the
    decision and how it went; filters, keyset pages of 50, a CSV of the same filters."""
    form, filters = _call_filters(request)
    rows, next_cursor = calls.calls_page(
        organization=request.organization, filters=filters, cursor=request.GET.get("before", "")
    )
    return render(
        request,
        "console/calls.html",
        {
            "form": form,
            "filters": filters,
            "calls": rows,
            "people": members_of(organization=request.organization).values_list(
                "user__email", flat=True
            ),
            **keyset_links(request, next_cursor),
        },
    )


@organization_view(min_role=Role.ADMIN)
def call_log_csv(request):
    _, filters = _call_filters(request)
    rows = calls.filtered_calls(organization=request.organization, filters=filters).iterator(
        chunk_size=2000
    )
    response = StreamingHttpResponse(calls.csv_chunks(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="calls-{request.organization.slug}-{stamp}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response


@organization_view(min_role=Role.DEVELOPER)
def plugin_usage(request, plugin_id: int):
    """A publisher's view of its plugin's use across every organization: counts and latency,
    never who called."""
    plugin = get_scoped_or_404(Plugin, request.organization, pk=plugin_id)
    return render(
        request,
        "console/plugin_usage.html",
        {"plugin": plugin, **_usage_context(_days(request), plugin=plugin)},
    )
