"""chatsite/protocol.py is the one list of events: anything published outside it fails at once."""

import json

import pytest

from chatsite import protocol
from chatsite.realtime import publish_on_commit, user_group


def _event(payload: dict, **routing) -> dict:
    return {"type": payload["type"], "text": json.dumps(payload), **routing}


def test_a_declared_event_passes():
    protocol.check_layer_event(_event({"type": "friends.changed", "user_id": 3}))


@pytest.mark.parametrize("event", [
    _event({"type": "friends.exploded", "user_id": 3}),  # an undeclared type
    _event({"type": "friends.changed", "user_id": 3, "secret": "x"}),  # an undeclared field
    _event({"type": "friends.changed"}),  # a missing field
    _event({"type": "friends.changed", "user_id": "3"}),  # a field of the wrong type
    _event({"type": "friends.changed", "user_id": 3}, recipients=[1]),  # an undeclared routing key
    {"type": "friends.changed"},  # neither text nor a close code
])
def test_an_event_outside_the_protocol_fails_where_it_is_published(event):
    with pytest.raises(AssertionError, match="outside chatsite/protocol.py"):
        publish_on_commit([user_group(1)], event)
    assert protocol.violations
    protocol.violations.clear()  # (the autouse check would fail this test otherwise)


def test_replies_are_checked_too():
    with pytest.raises(ValueError):
        protocol.check_outgoing({"type": "message.ack", "client_id": "x"})
    protocol.check_outgoing({"type": "error", "code": "bad_frame", "error": "No.", "for": None})
