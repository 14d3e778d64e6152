"""schemathesis against our own OpenAPI document: generated requests for every operation, with
and without a token, never get a 5xx, a status the schema doesn't list, or a body that doesn't
match the schema. Bounded: a few examples per operation (hypothesis derandomised, so a run is
repeatable), and a time cap on the whole test.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from marketplace.wsgi import application

EXAMPLES_PER_OPERATION = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# Loaded at collection from the app itself (no network; the schema view needs no database).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """The WSGI handler closes database connections at the end of each request, which would end
    the test's transaction; Django's own test client switches that off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def alice_token(acme, alice, api_as):
    return api_as(alice, acme).defaults["HTTP_AUTHORIZATION"]


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.timeout(300)
@schema.parametrize()
@FUZZ_SETTINGS
def test_anonymous_requests_are_answered_as_documented(case):
    case.call_and_validate(checks=CHECKS)


@pytest.mark.timeout(300)
@schema.parametrize()
@FUZZ_SETTINGS
def test_requests_with_a_token_are_answered_as_documented(case, alice_token):
    case.call_and_validate(headers={"Authorization": alice_token}, checks=CHECKS)
