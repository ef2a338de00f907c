"""The API's call history (/api/v1/calls): the calls a person was part of, nobody else's."""

import pytest

from calls import services
from conftest import make_user

pytestmark = pytest.mark.django_db


def test_call_history_lists_my_calls_newest_first(api_as, alice, bob, direct):
    first = services.start_call(user=alice, conversation_id=direct.pk, kind="audio")
    services.decline_call(user=bob, call_id=first.pk)
    second = services.start_call(user=bob, conversation_id=direct.pk, kind="video")
    services.accept_call(user=alice, call_id=second.pk)
    services.hang_up(user=alice, call_id=second.pk)
    history = api_as(alice).get("/calls")
    assert history.status_code == 200
    calls = history.json()
    assert [(c["id"], c["kind"], c["status"]) for c in calls] == [(second.pk, "video", "ended"),
                                                                  (first.pk, "audio", "declined")]
    assert calls[0]["initiator_id"] == bob.pk and calls[0]["answered_at"] is not None
    assert sorted(p["user_id"] for p in calls[0]["participants"]) == sorted([alice.pk, bob.pk])
    assert api_as(make_user("eve")).get("/calls").json() == []
    assert [c["id"] for c in api_as(alice).get("/calls", {"limit": 1}).json()] == [second.pk]
