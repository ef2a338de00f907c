"""schemathesis against the live schema (/api/v1/openapi.json), in process: for every operation,
a bounded number of generated requests (valid and invalid) with a write token, each answered
without a 5xx, with a status code, a content type and a body the schema declares for it.

Findings are fixed in the API, never here: the checks are schemathesis's own."""

import json

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import tokens
from chatsite.api import api
from conftest import make_user
from groups import services as group_services
from messaging import services

# Enough to reach every operation's refusals and a few successes; bounded so the run stays short.
EXAMPLES = 6
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def wsgi_app(db, settings, monkeypatch):
    """The site's own WSGI handler, in this thread and this test's transaction: like Django's test
    client, requests do not close the database connection (the test's transaction lives on it).

    Generated webhooks name random hosts: their calls fail as unresolvable without a DNS lookup
    (no network beyond 127.0.0.1 in tests)."""
    from messaging import webhooks

    def unresolvable(url):
        raise webhooks.DeliveryError("no DNS in the tests")

    monkeypatch.setattr(webhooks, "resolve_public_address", unresolvable)
    settings.API_RATE_LIMIT = "100000/m"
    settings.MESSAGE_RATE_LIMIT = "100000/m"
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(wsgi_app):
    """A write token of someone with a direct chat, a group and messages: generated small ids find
    real things as well as missing ones."""
    me, other = make_user("fuzzer"), make_user("other")
    direct = services.get_or_create_direct_conversation(user=me, other_id=other.pk)
    group = group_services.create_group(user=me, title="Fuzz", member_ids=[other.pk])
    for conversation in (direct, group):
        services.send_message(user=other, conversation_id=conversation.pk, body="hello")
    return {"Authorization": f"Bearer {tokens.create_api_token(user=me, name='schemathesis').secret}"}


# The schema /api/v1/openapi.json serves (test_the_schema_tested_is_the_one_served), loaded when
# the tests are collected: schemathesis's lazy loading does not work with this pytest.
def served_schema() -> dict:
    return json.loads(json.dumps(api.get_openapi_schema()))  # as JSON has it: status codes as text


schema = schemathesis.openapi.from_dict(served_schema())
schema.app = WSGIHandler()


def test_the_schema_tested_is_the_one_served(client):
    assert client.get("/api/v1/openapi.json").json() == served_schema()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_schema(case, bearer):
    case.call_and_validate(headers=bearer, checks=CHECKS)
