"""Every tenant-scoped route answers outsiders with 404, found by walking the URL resolver.

No hand-written list of endpoints: the walker reads `get_resolver()` (includes and all), so a
new route is checked the moment it is added. Each route is either

* public: named in PUBLIC_ROUTES, with the reason it needs no organization, or
* tenant-scoped: it takes `org_slug` or an object id, or its view is behind the tenancy gate
  (`@organization_view` or `OrganizationAPIView`, which both set `tenant_scoped = True`).

Anything else fails `test_it_classifies_every_route`. For each tenant-scoped route the walker
builds the path from Acme's objects (the `acme_objects` fixture: one object per URL kwarg) and
checks that charlie (Globex) gets 404 on the web and through the API with his own token, that
Acme's objects reach him neither directly nor through Globex's slug, that bob (a plain member of
Acme) gets 403 where the route needs a stronger role, and that nobody changed Acme's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.db.models import Model
from django.forms.models import model_to_dict
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils.regex_helper import normalize

from accounts.models import CredentialKind, Role
from accounts.services import invite_member, issue_credential
from plugins.credentials.webhooks import create_webhook
from plugins.installations.services import install_plugin
from plugins.models import Plugin, PluginVersion, ValidationRun
from tests.proxy.conftest import publish_version
from tests.tools.specs import data_plugin_spec

# Not tenant-scoped, and checked elsewhere: the admin (staff only), allauth (login, signup…).
EXCLUDED_PREFIXES = ("admin/", "accounts/", "static/", "media/", "__debug__/")

# Routes that need no organization, each with the reason. Keep this small: a route that shows
# or changes an organization's data belongs behind the tenancy gate instead.
PUBLIC_ROUTES = {
    "home": "the landing page",
    "healthz": "liveness probe",
    "favicon": "redirects to the static icon",
    "readyz": "readiness probe",
    "api-root": "links to the schema and the docs",
    "api-schema": "the OpenAPI document",
    "api-docs": "the Swagger UI",
    "storefront": "the public catalogue of published plugins",
    "storefront-plugin": "a published plugin's page by its unguessable link (others: 404)",
    "storefront-logo": "a published plugin's stored logo, by the same link",
    "invitation-accept": "the link's secret is the credential; a bad link is a 404 page",
    "dashboard": "redirects to one of the user's own organizations",
    "switch-organization": "redirects to one of the user's organizations, 404 otherwise",
    "organization-create": "creates a new organization owned by the user",
    "jwks": "the public keys plugins verify the caller assertion with",
    "oauth-start": "a connect link: the flow it names is bound to one user (others: 404)",
    "oauth-callback": "the provider's redirect: the state names the flow and its user; "
    "a state of another user is refused (tests/credentials/test_oauth_flow.py)",
}

# The walker must find at least this many tenant-scoped routes, so that a broken walk (or a
# URLconf that fails to include an app) can't pass by checking nothing.
MINIMUM_TENANT_ROUTES = 20

WEB_METHODS = ("get", "post")
API_METHODS = ("get", "post", "put", "patch", "delete")
NO_OBJECT_ID = 987654321  # an id no fixture has: "missing" must look like "not yours"


@dataclass(frozen=True)
class Route:
    name: str | None
    template: str  # e.g. "o/%(org_slug)s/members/%(membership_id)s/role/"
    kwargs: tuple[str, ...]
    callback: Any

    def __str__(self) -> str:
        return self.name or self.template

    @property
    def is_api(self) -> bool:
        return self.template.startswith("api/")

    @property
    def object_kwargs(self) -> tuple[str, ...]:
        return tuple(k for k in self.kwargs if k != "org_slug")

    @property
    def view_class(self):
        return getattr(self.callback, "view_class", None) or getattr(self.callback, "cls", None)

    @property
    def declares_tenant_scope(self) -> bool:
        return bool(getattr(self.view_class or self.callback, "tenant_scoped", False))

    def api_methods(self) -> list[str]:
        view_class = self.view_class
        return [m for m in API_METHODS if view_class is not None and hasattr(view_class, m)]

    def required_role(self, method: str) -> Role:
        """The role the route's gate asks for on `method` (member when it declares none)."""
        if self.view_class is not None:
            roles = getattr(self.view_class, "required_roles", {})
            default = getattr(self.view_class, "required_role", Role.MEMBER)
            return Role(roles.get(method.upper(), default))
        return Role(getattr(self.callback, "min_role", Role.MEMBER))

    def path(self, values: dict[str, Any]) -> str:
        """The concrete path for `values` (kwarg → model instance or string)."""
        missing = [k for k in self.kwargs if k not in values]
        if missing:
            pytest.fail(
                f"route {self} has kwarg {missing[0]!r} the walker can't fill; add a fixture "
                f"to acme_objects in tests/test_route_walker.py"
            )
        filled = {k: str(getattr(values[k], "pk", values[k])) for k in self.kwargs}
        return "/" + self.template % filled


def _walk(patterns, prefix: str = "", kwargs: tuple[str, ...] = ()):
    for entry in patterns:
        template, params = normalize(entry.pattern.regex.pattern)[0]
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + template, kwargs + tuple(params))
        elif isinstance(entry, URLPattern):
            yield Route(
                name=entry.name,
                template=prefix + template,
                kwargs=kwargs + tuple(params),
                callback=entry.callback,
            )


def all_routes() -> list[Route]:
    return [
        r
        for r in _walk(get_resolver().url_patterns)
        if not r.template.startswith(EXCLUDED_PREFIXES)
    ]


def _is_tenant_scoped(route: Route) -> bool:
    return route.name not in PUBLIC_ROUTES and (bool(route.kwargs) or route.declares_tenant_scope)


ROUTES = all_routes()
TENANT_ROUTES = [r for r in ROUTES if _is_tenant_scoped(r)]
WEB_ROUTES = [r for r in TENANT_ROUTES if not r.is_api]
WEB_OBJECT_ROUTES = [r for r in WEB_ROUTES if r.object_kwargs]
API_ROUTES = [r for r in TENANT_ROUTES if r.is_api]


def _methods_above_member(route: Route) -> list[str]:
    """The API methods a plain member may not call on the route."""
    return [m for m in route.api_methods() if not Role.MEMBER.at_least(route.required_role(m))]


# Routes whose gate asks for more than the member role: bob, a member of Acme, gets 403.
WEB_ROLE_ROUTES = [r for r in WEB_ROUTES if not Role.MEMBER.at_least(r.required_role("get"))]
API_ROLE_ROUTES = [r for r in API_ROUTES if _methods_above_member(r)]


def _ids(routes):
    return [str(r) for r in routes]


# --- Fixtures: Acme's objects, one per URL kwarg --------------------------------------------


@pytest.fixture
def acme_objects(acme, alice, bob) -> dict[str, Any]:
    """One object of Acme for every URL kwarg: the walker fills paths from this dict.

    A route with a kwarg missing here fails with "add a fixture": add one of Acme's objects
    under that kwarg (a model instance: the walker uses its pk and checks that outsiders
    didn't change it).
    """
    invitation, _ = invite_member(
        organization=acme, email="dave@example.com", role=Role.MEMBER, invited_by=alice
    )
    credential, _ = issue_credential(
        organization=acme,
        kind=CredentialKind.PERSONAL,
        name="alice's laptop",
        created_by=alice,
        user=alice,
    )
    objects: dict[str, Any] = {
        "org_slug": acme.slug,
        "membership_id": acme.memberships.get(user=bob),
        "invitation_id": invitation,
        "credential_id": credential,
    }
    # An unpublished (private) plugin of Acme's, with a version and a validation run.
    plugin = Plugin.objects.create(
        organization=acme,
        slug="secret-tool",
        name="Secret Tool Zeta",
        name_for_model="secret_tool_zeta",
    )
    version = PluginVersion.objects.create(
        organization=acme, plugin=plugin, number=1, source_kind="upload"
    )
    objects["plugin_id"] = plugin
    objects["version_id"] = version
    objects["run_id"] = ValidationRun.objects.create(organization=acme, version=version)
    objects["public_id"] = plugin.public_id  # the storefront link of an unpublished plugin
    # An installation of a validated plugin, with an operation, a member and a passthrough path.
    installed = publish_version(
        acme, data_plugin_spec("http://127.0.0.1:8199"), base="http://127.0.0.1:8199"
    )
    objects["installation_id"] = install_plugin(
        organization=acme, version=installed, installed_by=alice
    )
    objects["operation"] = "listTables"
    objects["member"] = "bob@example.com"
    objects["path"] = "databases"
    objects["webhook_id"], _ = create_webhook(
        organization=acme, url="https://hooks.example.com/acme", created_by=alice
    )
    return objects


@pytest.fixture
def acme_private_strings(acme_objects) -> list[str]:
    """Strings of Acme's that no outsider's response may contain."""
    strings = [
        "alice@example.com",
        "bob@example.com",
        "dave@example.com",
        acme_objects["credential_id"].prefix,
    ]
    strings += [acme_objects["plugin_id"].name, acme_objects["plugin_id"].name_for_model]
    return strings


def _snapshot(objects: dict[str, Any]) -> dict[str, Any]:
    snapshot = {}
    for key, obj in objects.items():
        if isinstance(obj, Model):
            fresh = type(obj)._default_manager.filter(pk=obj.pk).first()
            snapshot[key] = model_to_dict(fresh) if fresh is not None else None
    return snapshot


@pytest.fixture
def untouched(acme_objects):
    """After the test: Acme's objects still exist, unchanged."""
    before = _snapshot(acme_objects)
    yield
    assert _snapshot(acme_objects) == before, "a request changed Acme's objects"


@pytest.fixture
def charlie_web(web_as, charlie, globex):
    return web_as(charlie)


@pytest.fixture
def bob_web(web_as, bob, acme):
    return web_as(bob)


def _assert_private(response, private_strings, what: str) -> None:
    body = response.content.decode(errors="replace")
    leaked = [s for s in private_strings if s in body]
    assert not leaked, f"{what} leaks Acme's data: {leaked}"
    assert "Traceback" not in body, f"{what} shows a traceback"


# --- The walk itself ------------------------------------------------------------------------


def test_it_classifies_every_route():
    problems = []
    for route in ROUTES:
        if route.name in PUBLIC_ROUTES:
            continue
        if not route.kwargs and not route.declares_tenant_scope:
            problems.append(
                f"{route}: no organization, no object kwarg and no tenancy gate — "
                "put it behind organization_view/OrganizationAPIView, or add it to "
                "PUBLIC_ROUTES with the reason it is public"
            )
        elif not route.declares_tenant_scope:
            problems.append(
                f"{route}: takes {route.kwargs} but its view doesn't go through the "
                "tenancy gate (organization_view / OrganizationAPIView)"
            )
        if route.name is None:
            problems.append(f"{route}: give it a name")
        if route.is_api and "org_slug" in route.kwargs:
            problems.append(f"{route}: API routes take the organization from the token")
        if not route.is_api and route.declares_tenant_scope and "org_slug" not in route.kwargs:
            problems.append(f"{route}: a tenant-scoped web route needs org_slug in its URL")
    assert not problems, "\n".join(problems)


def test_it_knows_every_public_route_it_lists():
    names = {r.name for r in ROUTES}
    stale = sorted(set(PUBLIC_ROUTES) - names)
    assert not stale, f"PUBLIC_ROUTES names routes that don't exist: {stale}"


def test_it_walks_enough_tenant_routes():
    assert len(TENANT_ROUTES) >= MINIMUM_TENANT_ROUTES, _ids(TENANT_ROUTES)
    assert WEB_OBJECT_ROUTES
    assert API_ROUTES
    # the accounts app's own routes are among them
    names = {r.name for r in TENANT_ROUTES}
    assert {
        "org-home",
        "org-members",
        "member-role",
        "member-remove",
        "invitation-revoke",
        "org-tokens",
        "token-revoke",
        "org-api-keys",
        "api-key-revoke",
        "api-me",
    } <= names


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=_ids(TENANT_ROUTES))
def test_it_builds_a_path_that_resolves_to_the_route(route, acme_objects):
    match = resolve(route.path(acme_objects))
    assert match.func is route.callback


def _check_web(
    client,
    route: Route,
    values: dict[str, Any],
    expected: int,
    who: str,
    private_strings=(),
    *,
    hide_org: bool = False,
) -> None:
    """GET and POST the route's path for `values`; each must answer `expected`.

    A view may refuse a method (405) before it looks anything up, e.g. a POST-only view under
    @require_POST: that reveals nothing as long as the same request for objects that don't
    exist (and, with `hide_org`, an organization that doesn't exist) gets the same 405. At
    least one method must reach the expected answer.
    """
    path = route.path(values)
    missing = {**values, **dict.fromkeys(route.object_kwargs, NO_OBJECT_ID)}
    if hide_org:
        missing["org_slug"] = "no-such-org"
    missing_path = route.path(missing)
    reached = False
    for method in WEB_METHODS:
        what = f"{who} {method.upper()} {path}"
        r = getattr(client, method)(path)
        _assert_private(r, private_strings, what)
        if r.status_code == 405:
            answer = getattr(client, method)(missing_path).status_code
            assert answer == 405, f"{what}: 405, but {answer} for {missing_path}"
            continue
        assert r.status_code == expected, f"{what}: {r.status_code}, expected {expected}"
        if expected == 302:
            assert r.url.startswith("/accounts/login/"), f"{what}: redirected to {r.url}"
        reached = True
    assert reached, f"{route}: every method was refused before the tenancy gate"


@pytest.mark.parametrize("route", WEB_ROUTES, ids=_ids(WEB_ROUTES))
def test_it_404s_outsiders_on_web_routes(
    route, acme_objects, acme_private_strings, charlie_web, untouched
):
    _check_web(
        charlie_web, route, acme_objects, 404, "charlie", acme_private_strings, hide_org=True
    )


@pytest.mark.parametrize("route", WEB_OBJECT_ROUTES, ids=_ids(WEB_OBJECT_ROUTES))
def test_it_404s_acme_objects_through_another_orgs_slug(
    route, acme_objects, acme_private_strings, charlie_web, globex, untouched
):
    # charlie owns Globex, so he passes the gate for Globex; Acme's objects must still 404.
    _check_web(
        charlie_web,
        route,
        {**acme_objects, "org_slug": globex.slug},
        404,
        "charlie",
        acme_private_strings,
    )


@pytest.mark.parametrize("route", API_ROUTES, ids=_ids(API_ROUTES))
def test_it_404s_outsider_tokens_on_api_routes(
    route, acme_objects, acme_private_strings, charlie_api, untouched
):
    path = route.path(acme_objects)
    if not route.object_kwargs:
        # Nothing of Acme's in the path: charlie sees his own organization, never Acme's.
        r = charlie_api.get(path)
        assert r.status_code < 500, f"charlie GET {path}: {r.status_code}"
        _assert_private(r, acme_private_strings, f"charlie GET {path}")
        return
    missing_path = route.path({**acme_objects, **dict.fromkeys(route.object_kwargs, NO_OBJECT_ID)})
    for method in API_METHODS:
        what = f"charlie {method.upper()} {path}"
        r = getattr(charlie_api, method)(path, content_type="application/json")
        assert r.status_code in (404, 405), f"{what}: {r.status_code} {r.content[:200]!r}"
        assert r["Content-Type"] == "application/json", what
        _assert_private(r, acme_private_strings, what)
        if r.status_code == 404:
            assert r.json()["error"]["code"] == "not_found", what
            # "missing" and "not yours" are indistinguishable
            m = getattr(charlie_api, method)(missing_path, content_type="application/json")
            assert (m.status_code, m.content) == (r.status_code, r.content), what


@pytest.mark.parametrize("route", WEB_ROLE_ROUTES, ids=_ids(WEB_ROLE_ROUTES))
def test_it_403s_members_below_the_required_web_role(route, acme_objects, bob_web, untouched):
    _check_web(bob_web, route, acme_objects, 403, "bob (member)")


@pytest.mark.parametrize("route", API_ROLE_ROUTES, ids=_ids(API_ROLE_ROUTES))
def test_it_403s_members_below_the_required_api_role(
    route, acme_objects, bob, acme, api_as, untouched
):
    client = api_as(bob, acme)
    path = route.path(acme_objects)
    for method in _methods_above_member(route):
        r = getattr(client, method)(path, content_type="application/json")
        assert r.status_code == 403, f"bob (member) {method.upper()} {path}: {r.status_code}"
        assert r.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("route", WEB_ROUTES, ids=_ids(WEB_ROUTES))
def test_it_sends_anonymous_visitors_to_login(route, acme_objects, client, untouched):
    _check_web(client, route, acme_objects, 302, "anonymous")


@pytest.mark.parametrize("route", API_ROUTES, ids=_ids(API_ROUTES))
def test_it_401s_anonymous_api_calls(route, acme_objects, client, untouched):
    path = route.path(acme_objects)
    for method in route.api_methods():
        r = getattr(client, method)(path, content_type="application/json")
        assert r.status_code == 401, f"anonymous {method.upper()} {path}: {r.status_code}"
        assert r.json()["error"]["code"] == "not_authenticated"
