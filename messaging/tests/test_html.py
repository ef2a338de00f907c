"""The message and sidebar HTML built in Python: everything people type is escaped."""

import pytest

from chatsite.errors import InvalidInput
from conftest import make_user
from messaging import selectors, services
from messaging.html import render_conversation_entry, render_message_item
from messaging.models import Message

pytestmark = pytest.mark.django_db

EVIL = '<img src=x onerror=alert(1)>"'


def test_names_previews_and_client_ids_are_escaped():
    ana = make_user("ana", first_name=EVIL, last_name="")
    bo = make_user("bo", first_name=EVIL, last_name="")
    chat = services.get_or_create_direct_conversation(user=ana, other_id=bo.pk)
    with pytest.raises(InvalidInput):  # the service takes client ids of a safe alphabet only...
        services.send_message(user=bo, conversation_id=chat.pk, body=EVIL, client_id='x" onclick="y')
    first = services.send_message(user=bo, conversation_id=chat.pk, body=EVIL, client_id="x1").message
    # ...and the HTML escapes them all the same (a row stored before that check).
    Message.objects.filter(pk=first.pk).update(client_id='x" onclick="y')
    reply = services.send_message(user=ana, conversation_id=chat.pk, body="ok", reply_to_id=first.pk).message
    services.toggle_reaction(user=ana, message_id=first.pk, emoji="👍")
    shown = selectors.with_reactions_and_files([selectors.get_message_for_display(first.pk),
                                                selectors.get_message_for_display(reply.pk)])
    html = "".join(render_message_item(m, reactions=selectors.reaction_summary(m)) for m in shown)
    entry = render_conversation_entry(selectors.list_conversations(ana)[0], viewer_id=ana.pk)
    for piece in (html, entry):
        assert "<img" not in piece and "onerror=alert(1)>" not in piece
        assert "&lt;img src=x onerror=alert(1)&gt;" in piece
    assert 'data-client-id="x&quot; onclick=&quot;y"' in html
    assert 'aria-label="👍 1: &lt;img' in html  # who reacted, in the reaction's name
