"""Sign up with email verification, log in and out, reset a password (django-allauth)."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.urls import reverse

from accounts.models import Membership, Organization, User
from tests.accounts.helpers import link_in

PASSWORD = "a long and unusual passphrase"


def _signup(client, email="dave@example.com", password=PASSWORD, password2=None):
    return client.post(
        reverse("account_signup"),
        {
            "email": email,
            "password1": password,
            "password2": password2 or password,
        },
    )


def _login(client, email="dave@example.com", password=PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_it_shows_the_signup_page_in_the_site_layout(client, db):
    r = client.get(reverse("account_signup"))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'class="topbar"' in html  # our base.html, not allauth's bare layout
    assert 'class="card auth-form"' in html
    assert 'name="password1"' in html


def test_it_shows_the_login_page_in_the_site_layout(client, db):
    r = client.get(reverse("account_login"))
    assert r.status_code == 200
    assert 'class="topbar"' in r.content.decode()
    assert reverse("account_reset_password") in r.content.decode()


def test_it_requires_email_verification_before_login(client, db, mailoutbox):
    r = _signup(client)
    assert r.status_code == 302
    assert r.url == reverse("account_email_verification_sent")
    assert not _logged_in(client)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["dave@example.com"]

    # Logging in before confirming the address doesn't get in.
    r = _login(client)
    assert r.status_code == 302
    assert r.url == reverse("account_email_verification_sent")
    assert not _logged_in(client)
    assert client.get(reverse("dashboard")).status_code == 302

    confirm_path = link_in(mailoutbox[0], r"/accounts/confirm-email/[^/\s]+/")
    r = client.get(confirm_path)
    assert r.status_code == 200
    assert b"Confirm your email address" in r.content
    client.post(confirm_path)
    assert EmailAddress.objects.get(email="dave@example.com").verified

    client.logout()
    r = _login(client)
    assert r.status_code == 302
    assert _logged_in(client)

    user = User.objects.get(email="dave@example.com")
    personal = Organization.objects.get(is_personal=True, memberships__user=user)
    assert Membership.objects.get(organization=personal, user=user).role == "owner"
    r = client.get(reverse("dashboard"))
    assert r.status_code == 302
    assert r.url == reverse("org-home", args=[personal.slug])


def test_it_rejects_a_taken_email_with_a_form_error(client, alice, mailoutbox):
    r = _signup(client, email="Alice@Example.com")
    assert r.status_code == 200
    assert b"already registered" in r.content
    assert b'class="errorlist' in r.content
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1
    assert mailoutbox == []


def test_it_rejects_a_weak_password_with_a_form_error(client, db):
    r = _signup(client, password="12345678")
    assert r.status_code == 200
    assert b'class="errorlist' in r.content
    assert b"too short" in r.content or b"too common" in r.content
    assert not User.objects.filter(email="dave@example.com").exists()


def test_it_rejects_mismatched_passwords(client, db):
    r = _signup(client, password2="another long passphrase")
    assert r.status_code == 200
    assert b"same password" in r.content
    assert not User.objects.filter(email="dave@example.com").exists()


def test_it_logs_in_and_out(client, alice, acme):
    r = _login(client, "alice@example.com", "correct horse battery")
    assert r.status_code == 302
    assert _logged_in(client)
    r = client.post(reverse("account_logout"))
    assert r.status_code == 302
    assert not _logged_in(client)


def test_it_rejects_a_wrong_password(client, alice):
    r = _login(client, "alice@example.com", "not the password")
    assert r.status_code == 200
    assert not _logged_in(client)
    assert b'class="errorlist' in r.content


def test_it_resets_a_password_by_email(client, alice, mailoutbox):
    r = client.post(reverse("account_reset_password"), {"email": "alice@example.com"})
    assert r.status_code == 302
    assert len(mailoutbox) == 1
    reset_path = link_in(mailoutbox[0], r"/accounts/password/reset/key/[^\s]+/")

    r = client.get(reset_path, follow=True)
    assert r.status_code == 200
    assert b"Choose a new password" in r.content
    set_path = r.redirect_chain[-1][0]
    r = client.post(set_path, {"password1": PASSWORD, "password2": PASSWORD})
    assert r.status_code == 302

    client.logout()
    _login(client, "alice@example.com", PASSWORD)
    assert _logged_in(client)


def test_it_says_a_used_reset_link_is_not_valid(client, alice):
    r = client.get("/accounts/password/reset/key/1-not-a-key/", follow=True)
    assert r.status_code == 200
    assert b"This reset link is not valid" in r.content


def test_it_answers_unknown_emails_like_known_ones_on_password_reset(client, alice):
    known = client.post(reverse("account_reset_password"), {"email": "alice@example.com"})
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url == reverse("account_reset_password_done")
