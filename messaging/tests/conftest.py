import pytest

from messaging import services


@pytest.fixture
def direct(alice, bob):
    """The direct chat of alice and bob."""
    return services.get_or_create_direct_conversation(user=alice, other_id=bob.pk)


@pytest.fixture
def send(direct):
    def _send(user, body="hello", conversation=None, **kwargs):
        return services.send_message(user=user, conversation_id=(conversation or direct).pk, body=body, **kwargs).message

    return _send
