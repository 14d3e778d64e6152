"""Web pages: the storefront (public) and the publisher's console (/o/<org>/plugins/…)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.tenancy import get_scoped_or_404, organization_view
from plugins import (
    presentation,
    publishing,
    registration,
    review,
    selectors,
    throttling,
    visitor_pages,
)
from plugins.console.selectors import install_targets
from plugins.forms import RegisterPluginForm, SearchForm, VisibilityForm
from plugins.ingest.links import SERVED_LOGO_TYPES
from plugins.models import Plugin, PluginVersion, RunStage, ValidationRun

PROGRESS_STAGES = [
    RunStage.FETCHING_MANIFEST,
    RunStage.FETCHING_SPEC,
    RunStage.CHECKING,
    RunStage.CHECKING_LINKS,
    RunStage.DONE,
]


STOREFRONT_PAGE_SIZE = 24


def storefront(request):
    """The catalogue and its search. A visitor without a session gets the whole page from the
    cache (plugins/visitor_pages.py); others get the results fragment from it."""
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    number = (request.GET.get("page") or "1")[:8]

    def render_page(extra: dict, shared: bool) -> HttpResponse:
        paginator = Paginator(selectors.storefront_plugins(query=query), STOREFRONT_PAGE_SIZE)
        # Evaluated only when the template's cached results fragment has to be rendered afresh.
        page = SimpleLazyObject(lambda: paginator.get_page(number))
        context = {
            "plugins": page,
            "page": page,
            "form": form,
            "query": query,
            "page_filters": urlencode({"q": query}, quote_via=quote) if query else "",
            "results_key": selectors.storefront_cache_key(query=query, page=number),
            "results_seconds": selectors.STOREFRONT_CACHE_SECONDS,
            # A page rendered for the visitors' cache lives as long as the fragment would.
            "fresh_results": shared,
        }
        return render(request, "plugins/storefront.html", {**context, **extra})

    return visitor_pages.serve(
        request,
        page="storefront",
        key=f"{query}\n{number}",
        seconds=selectors.STOREFRONT_CACHE_SECONDS,
        render=render_page,
    )


def storefront_plugin(request, public_id: str):
    """A published plugin's page. What a version shows is cached per version (its operations
    as a rendered fragment, the rest in `facts`), the plugin and its version history in the
    catalog's generation: a page served from the caches costs no query. A visitor without a
    session gets the whole page from the cache (plugins/visitor_pages.py)."""

    def render_page(extra: dict, shared: bool) -> HttpResponse:
        generation = selectors.catalog_generation()
        plugin = selectors.plugin_page_or_404(
            public_id=public_id, generation=generation, fresh=shared
        )
        published = plugin.published_version
        context = {
            "plugin": plugin,
            "facts": selectors.version_facts(version=published),
            # Evaluated only when the template's cached fragments have to be rendered afresh.
            "operations": SimpleLazyObject(
                lambda: presentation.operations(published.normalized or {})
            ),
            "versions": SimpleLazyObject(
                lambda: [
                    (version, presentation.changelog(version.diff))
                    for version in selectors.public_versions_of(plugin=plugin)
                ]
            ),
            "generation": generation,
            "cache_seconds": selectors.PAGE_CACHE_SECONDS,
            "login_url": f"{reverse('account_login')}?{urlencode({'next': request.path})}",
            "install_targets": install_targets(user=request.user, plugin=plugin),
        }
        return render(request, "plugins/storefront_plugin.html", {**context, **extra})

    return visitor_pages.serve(
        request,
        page="plugin",
        key=request.path,
        seconds=selectors.PAGE_PLUGIN_CACHE_SECONDS,
        render=render_page,
    )


def storefront_logo(request, public_id: str):
    """A published plugin's logo, served from our origin as the bytes were verified."""
    plugin = selectors.published_plugin_or_404(public_id=public_id, with_logo=True)
    version = plugin.published_version
    if not version.logo or version.logo_content_type not in SERVED_LOGO_TYPES:
        raise Http404
    response = HttpResponse(bytes(version.logo), content_type=version.logo_content_type)
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "public, max-age=3600"
    return response


@organization_view()
def publisher_plugins(request):
    archived = request.GET.get("archived") == "1"
    plugins = selectors.publisher_plugins(organization=request.organization, archived=archived)
    return render(
        request,
        "plugins/publisher_plugins.html",
        {
            "plugins": plugins,
            "archived": archived,
            "archived_count": None
            if archived
            else Plugin.objects.filter(
                organization=request.organization, archived_at__isnull=False
            ).count(),
            "can_publish": request.actor.can(Role.DEVELOPER),
        },
    )


@organization_view(min_role=Role.DEVELOPER)
def plugin_register(request):
    form = RegisterPluginForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            throttling.charge_validation_request(actor=request.actor)
            submission = _submit(request, form.cleaned_data)
        except throttling.SubmissionThrottled as exc:
            return throttled_page(request, exc)
        except ValidationError as exc:
            form.add_error(None, exc.messages[0] if exc.messages else "Invalid submission.")
        else:
            if not submission.created:
                messages.info(
                    request,
                    f"These documents are already registered as {submission.version.label}.",
                )
            return redirect(
                "validation-run", org_slug=request.organization.slug, run_id=submission.run.pk
            )
    return render(request, "plugins/register.html", {"form": form})


def throttled_page(request, exc: throttling.SubmissionThrottled) -> HttpResponse:
    response = render(
        request,
        "errors/429.html",
        {"message": exc.message, "retry_after": exc.retry_after},
        status=429,
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


def _submit(request, data) -> registration.Submission:
    if data.get("url"):
        return registration.register_plugin_by_url(
            organization=request.organization,
            url=data["url"],
            visibility=data["visibility"],
            submitted_by=request.user,
        )
    return registration.register_plugin_by_upload(
        organization=request.organization,
        manifest=data["manifest"].read() if data.get("manifest") else None,
        openapi=data["openapi"].read() if data.get("openapi") else None,
        origin=data.get("origin", ""),
        visibility=data["visibility"],
        submitted_by=request.user,
    )


@organization_view()
def plugin_detail(request, plugin_id: int):
    plugin = get_scoped_or_404(
        Plugin.objects.select_related("published_version", "candidate_version"),
        request.organization,
        pk=plugin_id,
    )
    versions = selectors.versions_of(plugin=plugin, include_unvalidated=True)
    return render(
        request,
        "plugins/plugin_detail.html",
        {
            "plugin": plugin,
            "versions": versions,
            "visibility_form": VisibilityForm(initial={"visibility": plugin.visibility}),
            "can_publish": request.actor.can(Role.DEVELOPER),
            "can_delete": publishing.can_delete(plugin),
            "can_archive": publishing.can_archive(plugin),
            "public_url": selectors.public_url_of(plugin=plugin),
        },
    )


@organization_view(min_role=Role.DEVELOPER)
@require_POST
def plugin_delete(request, plugin_id: int):
    plugin = get_scoped_or_404(Plugin, request.organization, pk=plugin_id)
    try:
        publishing.delete_plugin(plugin=plugin, deleted_by=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("plugin-detail", org_slug=request.organization.slug, plugin_id=plugin_id)
    messages.success(request, f"Deleted {plugin.name}.")
    return redirect("publisher-plugins", org_slug=request.organization.slug)


@organization_view(min_role=Role.DEVELOPER)
@require_POST
def plugin_archive(request, plugin_id: int):
    plugin = get_scoped_or_404(Plugin, request.organization, pk=plugin_id)
    archived = request.POST.get("undo") != "1"
    try:
        publishing.set_archived(plugin=plugin, archived=archived, changed_by=request.user)
        if archived:
            messages.success(request, f"Archived {plugin.name}. Unarchive it from its page.")
        else:
            messages.success(request, f"{plugin.name} is back in your plugins.")
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect("plugin-detail", org_slug=request.organization.slug, plugin_id=plugin_id)


@organization_view()
def plugin_version(request, plugin_id: int, version_id: int):
    version = get_scoped_or_404(
        PluginVersion.objects.select_related("plugin"),
        request.organization,
        pk=version_id,
        plugin_id=plugin_id,
    )
    run = selectors.latest_run(version=version)
    return render(
        request,
        "plugins/version_detail.html",
        {
            "plugin": version.plugin,
            "version": version,
            "run": run,
            "findings": selectors.findings_by_severity(run=run) if run else {},
            "operations": (version.normalized or {}).get("operations", []),
            "can_publish": request.actor.can(Role.DEVELOPER),
        },
    )


@organization_view(min_role=Role.DEVELOPER)
@require_POST
def plugin_submit_review(request, plugin_id: int, version_id: int):
    version = get_scoped_or_404(
        PluginVersion.objects.select_related("plugin"),
        request.organization,
        pk=version_id,
        plugin_id=plugin_id,
    )
    try:
        review.submit_for_review(plugin=version.plugin, version=version, submitted_by=request.user)
        messages.success(request, f"{version.label} was submitted for review.")
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect("plugin-detail", org_slug=request.organization.slug, plugin_id=plugin_id)


@organization_view(min_role=Role.DEVELOPER)
@require_POST
def plugin_revalidate(request, plugin_id: int):
    """Validate again now: a URL plugin is fetched again, an upload's latest version re-checked."""
    plugin = get_scoped_or_404(Plugin, request.organization, pk=plugin_id)
    try:
        throttling.charge_validation_request(actor=request.actor)
        run = publishing.revalidate_plugin(plugin=plugin, requested_by=request.user)
    except throttling.SubmissionThrottled as exc:
        return throttled_page(request, exc)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("plugin-detail", org_slug=request.organization.slug, plugin_id=plugin_id)
    return redirect("validation-run", org_slug=request.organization.slug, run_id=run.pk)


@organization_view(min_role=Role.DEVELOPER)
@require_POST
def plugin_visibility(request, plugin_id: int):
    plugin = get_scoped_or_404(Plugin, request.organization, pk=plugin_id)
    form = VisibilityForm(request.POST)
    if form.is_valid():
        plugin = review.change_visibility(
            plugin=plugin, visibility=form.cleaned_data["visibility"], changed_by=request.user
        )
        if plugin.requested_visibility:
            messages.info(
                request,
                f"Making the plugin {plugin.get_requested_visibility_display().lower()} is a "
                "publication: it applies once an operator approves it.",
            )
        else:
            messages.success(request, "Visibility updated.")
    return redirect("plugin-detail", org_slug=request.organization.slug, plugin_id=plugin_id)


@organization_view()
def validation_run(request, run_id: int):
    run = get_scoped_or_404(
        ValidationRun.objects.select_related("version__plugin"), request.organization, pk=run_id
    )
    context = {
        "run": run,
        "version": run.version,
        "plugin": run.version.plugin,
        "stages": _stage_progress(run),
        "findings": selectors.findings_by_severity(run=run) if run.is_finished else {},
    }
    template = "plugins/_run_progress.html" if request.htmx else "plugins/validation_run.html"
    return render(request, template, context)


def _stage_progress(run: ValidationRun) -> list[dict]:
    order = [s.value for s in PROGRESS_STAGES]
    # The links are checked after the verdict (plugins.ingest.link_stage): until then, that is
    # the stage in progress.
    stage = RunStage.CHECKING_LINKS if run.links_pending else run.stage
    finished = run.is_finished and not run.links_pending
    current = order.index(stage) if stage in order else -1
    return [
        {
            "label": stage.label,
            "state": "done" if i < current or finished else "current" if i == current else "todo",
        }
        for i, stage in enumerate(PROGRESS_STAGES)
    ]
