"""`manage.py make_operator`: how a signed-up user becomes an operator (and stops being one)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command


def test_it_makes_an_existing_user_an_operator_and_back(alice):
    out = io.StringIO()
    call_command("make_operator", "--email", "ALICE@example.com", stdout=out)
    alice.refresh_from_db()
    assert alice.is_staff
    assert alice.is_superuser
    assert "is an operator" in out.getvalue()
    call_command("make_operator", "--email", "alice@example.com", "--revoke", stdout=out)
    alice.refresh_from_db()
    assert not alice.is_staff
    assert not alice.is_superuser


@pytest.mark.django_db
def test_it_refuses_an_unknown_address():
    with pytest.raises(CommandError, match="sign up first"):
        call_command("make_operator", "--email", "nobody@example.com")
