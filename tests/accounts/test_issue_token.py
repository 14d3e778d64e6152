"""`manage.py issue_token`: bootstrap tokens for operators and scripted checks."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import ApiCredential, Membership, Organization, User
from tests.accounts.helpers import bearer


def _issue(*args) -> tuple[str, str]:
    """(the token from the last line, all of stdout)."""
    out = StringIO()
    call_command("issue_token", *args, stdout=out, stderr=StringIO())
    output = out.getvalue()
    return output.strip().splitlines()[-1], output


def _me(token):
    return Client().get("/api/v1/me", **bearer(token))


def test_it_creates_the_user_and_the_organization(db):
    token, output = _issue("--email", "ops@example.com", "--org", "initech", "--create")
    user = User.objects.get(email="ops@example.com")
    org = Organization.objects.get(slug="initech")
    assert Membership.objects.get(user=user, organization=org).role == "owner"
    assert user.emailaddress_set.get().verified
    assert token.startswith("mkp_")
    assert token not in output.strip().splitlines()[0]
    r = _me(token)
    assert r.status_code == 200
    assert r.json()["user"]["email"] == "ops@example.com"
    assert r.json()["organization"]["slug"] == "initech"
    assert r.json()["role"] == "owner"
    assert r.json()["token_kind"] == "personal"


def test_it_adds_a_user_to_an_existing_organization_as_member(acme):
    token, _ = _issue("--email", "dave@example.com", "--org", "acme", "--create")
    assert _me(token).json()["role"] == "member"


def test_it_adds_a_user_with_a_role(acme):
    token, _ = _issue(
        "--email", "dave@example.com", "--org", "acme", "--create", "--role", "developer"
    )
    assert _me(token).json()["role"] == "developer"


def test_it_issues_for_an_existing_member_without_create(acme):
    token, _ = _issue("--email", "bob@example.com", "--org", "acme")
    assert _me(token).json()["user"]["email"] == "bob@example.com"
    assert User.objects.count() == 2


def test_it_issues_an_organization_key(acme):
    token, _ = _issue("--org", "acme", "--org-key", "--role", "developer")
    body = _me(token).json()
    assert body["user"] is None
    assert body["token_kind"] == "organization"
    assert body["role"] == "developer"
    assert ApiCredential.objects.get(kind="organization").created_by is None


def test_it_issues_a_member_organization_key_by_default(acme):
    token, _ = _issue("--email", "alice@example.com", "--org", "acme", "--org-key")
    assert _me(token).json()["role"] == "member"


def test_it_creates_an_organization_for_a_key(db):
    token, _ = _issue("--email", "ops@example.com", "--org", "initech", "--create", "--org-key")
    assert _me(token).json()["organization"]["slug"] == "initech"
    assert Membership.objects.get(organization__slug="initech").role == "owner"


def test_it_sets_an_expiry(acme):
    _issue("--email", "bob@example.com", "--org", "acme", "--expires-days", "3")
    assert ApiCredential.objects.get().expires_at is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--email", "nobody@example.com", "--org", "acme"],
            "No user with email nobody@example.com",
        ),
        (["--email", "bob@example.com", "--org", "nope"], "No organization with slug 'nope'"),
        (["--email", "charlie@example.com", "--org", "acme"], "is not a member of acme"),
        (["--org", "acme"], "--email is required"),
        (["--org", "nope", "--org-key"], "No organization with slug 'nope'"),
        (["--org", "nope", "--org-key", "--create"], "needs --email"),
        (
            ["--email", "x@example.com", "--org", "new-org", "--create", "--role", "member"],
            "first member of a new organization is its owner",
        ),
        (["--email", "not an email", "--org", "acme", "--create"], "not a valid email address"),
        (["--email", "x@example.com", "--org", "Bad Slug!", "--create"], "slug"),
        (["--email", "bob@example.com", "--org", "acme", "--expires-days", "0"], "at least 1"),
    ],
)
def test_it_fails_clearly(acme, charlie, args, message):
    with pytest.raises(CommandError, match=message):
        _issue(*args)
    assert not ApiCredential.objects.exists()
    assert not User.objects.filter(email="x@example.com").exists()


def test_it_rejects_an_unknown_role(acme):
    with pytest.raises(CommandError):
        _issue("--email", "bob@example.com", "--org", "acme", "--role", "emperor")
