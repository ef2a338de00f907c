"""What crosses a block, tried as the people would: Ana blocked Eve; Cy shares a group with both.

Nothing reaches the other side of a direct chat (no edits, reactions, typing or receipts); in a
group the messages still go to everyone, but presence and typing do not cross the block.

"Nothing arrived" is proved by order, not by waiting: the socket's frames are read up to a marker
event published after the action, and the action's own events would have come before it.
"""

import pytest
from channels.db import database_sync_to_async

from accounts import services as account_services
from chatsite.errors import ErrorCode, NotAllowed
from chatsite.realtime import conversation_group, publish_now
from conftest import make_user
from groups import services as group_services
from messaging import services
from messaging.models import Membership, Message, Reaction
from messaging.tests.test_consumer import connect, next_of_type

pytestmark = pytest.mark.django_db(transaction=True)


def setting_the_scene():
    ana, eve, cy = (make_user(name, first_name=name.capitalize()) for name in ("ana", "eve", "cy"))
    direct = services.get_or_create_direct_conversation(user=eve, other_id=ana.pk)
    old = services.send_message(user=eve, conversation_id=direct.pk, body="before the block").message
    ana_said = services.send_message(user=ana, conversation_id=direct.pk, body="mine, before the block").message
    group = group_services.create_group(user=cy, title="Crew", member_ids=[ana.pk, eve.pk])
    markers = {p.pk: services.get_or_create_direct_conversation(user=cy, other_id=p.pk) for p in (ana, eve)}
    account_services.block_user(user=ana, other_id=eve.pk)
    return ana, eve, cy, direct, old, ana_said, group, markers


@pytest.fixture
def scene(db):
    return setting_the_scene()


async def settled(ws):
    """The frames sent so far were handled and what they published went out (a socket handles
    its frames in order)."""
    await ws.send_json_to({"type": "ping"})
    await next_of_type(ws, "pong")


async def frames_before_marker(ws, cy, conversation) -> list[dict]:
    """Cy sends into ``conversation``; everything the socket got before that message arrives."""
    send = database_sync_to_async(services.send_message)
    marker = await send(user=cy, conversation_id=conversation.pk, body="marker")
    frames = []
    while True:
        frame = await ws.receive_json_from(timeout=3)
        if frame["type"] == "message.created" and frame["id"] == marker.message.pk:
            return frames
        frames.append(frame)


def about(frames, frame_type, user_id) -> list[dict]:
    return [f for f in frames if f["type"] == frame_type and f.get("user_id") == user_id]


def test_eve_cannot_edit_her_old_message_in_the_direct_chat(scene):
    ana, eve, cy, direct, old, ana_said, group, markers = scene
    with pytest.raises(NotAllowed) as refused:
        services.edit_message(user=eve, message_id=old.pk, body="new words for Ana")
    assert refused.value.code == ErrorCode.FRIENDS_ONLY  # the words a stranger hears: the block stays secret
    with pytest.raises(NotAllowed) as refused:
        services.edit_message(user=ana, message_id=ana_said.pk, body="and mine")
    assert refused.value.code == ErrorCode.BLOCKED
    bodies = Message.objects.filter(pk__in=[old.pk, ana_said.pk]).order_by("seq").values_list("body", flat=True)
    assert list(bodies) == ["before the block", "mine, before the block"]
    services.delete_message(user=eve, message_id=old.pk)  # taking words back is still allowed
    assert Message.objects.get(pk=old.pk).is_deleted


def test_eve_cannot_react_to_anas_messages_in_the_direct_chat(scene):
    ana, eve, cy, direct, old, ana_said, group, markers = scene
    with pytest.raises(NotAllowed) as refused:
        services.toggle_reaction(user=eve, message_id=ana_said.pk, emoji="👍")
    assert refused.value.code == ErrorCode.FRIENDS_ONLY
    with pytest.raises(NotAllowed):
        services.toggle_reaction(user=ana, message_id=old.pk, emoji="👍")
    assert not Reaction.objects.exists()


def test_a_group_stays_usable_across_a_block(scene):
    ana, eve, cy, direct, old, ana_said, group, markers = scene
    said = services.send_message(user=eve, conversation_id=group.pk, body="hello all").message
    services.edit_message(user=eve, message_id=said.pk, body="hello everyone")
    services.toggle_reaction(user=ana, message_id=said.pk, emoji="👍")
    assert Message.objects.get(pk=said.pk).body == "hello everyone" and Reaction.objects.count() == 1


async def test_typing_does_not_cross_a_block_in_the_direct_chat():
    ana, eve, cy, direct, *_, markers = await database_sync_to_async(setting_the_scene)()
    ana_ws, _, _ = await connect(ana)
    eve_ws, _, _ = await connect(eve)
    await eve_ws.send_json_to({"type": "typing", "conversation": direct.pk})
    await settled(eve_ws)
    assert not about(await frames_before_marker(ana_ws, cy, markers[ana.pk]), "typing.started", eve.pk)
    await ana_ws.send_json_to({"type": "typing", "conversation": direct.pk})
    await settled(ana_ws)
    assert not about(await frames_before_marker(eve_ws, cy, markers[eve.pk]), "typing.started", ana.pk)
    for ws in (ana_ws, eve_ws):
        await ws.disconnect()


async def test_read_receipts_do_not_cross_a_block_in_the_direct_chat():
    ana, eve, cy, direct, old, *_, markers = await database_sync_to_async(setting_the_scene)()
    await database_sync_to_async(Membership.objects.filter(conversation=direct, user=ana).update)(
        last_read_seq=0, last_delivered_seq=0)
    ana_ws, _, _ = await connect(ana)
    eve_ws, _, _ = await connect(eve)
    await ana_ws.send_json_to({"type": "read", "conversation": direct.pk, "seq": old.seq})
    await settled(ana_ws)
    assert not about(await frames_before_marker(eve_ws, cy, markers[eve.pk]), "receipt.updated", ana.pk)
    # Ana's own state moved all the same: her unread count is hers.
    membership = await database_sync_to_async(Membership.objects.get)(conversation=direct, user=ana)
    assert membership.last_read_seq == old.seq
    for ws in (ana_ws, eve_ws):
        await ws.disconnect()


async def test_presence_does_not_cross_a_block_through_a_shared_group():
    ana, eve, cy, direct, old, ana_said, group, markers = await database_sync_to_async(setting_the_scene)()
    cy_ws, _, _ = await connect(cy)
    eve_ws, _, _ = await connect(eve)
    ana_ws, _, _ = await connect(ana)  # Ana comes online: the group hears it, Eve must not
    eve_frames = await frames_before_marker(eve_ws, cy, group)
    assert not about(eve_frames, "presence.changed", ana.pk)
    cy_frames = await frames_before_marker(cy_ws, cy, group)
    assert {f["status"] for f in about(cy_frames, "presence.changed", ana.pk)} == {"online"}
    # And the other way: Eve going away is not told to Ana, but is to Cy.
    await eve_ws.send_json_to({"type": "presence", "active": False})
    await settled(eve_ws)
    assert not about(await frames_before_marker(ana_ws, cy, group), "presence.changed", eve.pk)
    cy_frames = await frames_before_marker(cy_ws, cy, group)
    assert {f["status"] for f in about(cy_frames, "presence.changed", eve.pk)} == {"away"}
    for ws in (ana_ws, eve_ws, cy_ws):
        await ws.disconnect()


async def test_in_a_group_typing_skips_the_estranged_and_messages_and_receipts_reach_all():
    ana, eve, cy, direct, old, ana_said, group, markers = await database_sync_to_async(setting_the_scene)()
    ana_ws, _, _ = await connect(ana)
    eve_ws, _, _ = await connect(eve)
    cy_ws, _, _ = await connect(cy)
    await eve_ws.send_json_to({"type": "typing", "conversation": group.pk})
    assert (await next_of_type(cy_ws, "typing.started"))["user_id"] == eve.pk
    await settled(eve_ws)
    assert not about(await frames_before_marker(ana_ws, cy, group), "typing.started", eve.pk)
    await ana_ws.send_json_to({"type": "typing", "conversation": group.pk})
    assert (await next_of_type(cy_ws, "typing.started"))["user_id"] == ana.pk
    await settled(ana_ws)
    assert not about(await frames_before_marker(eve_ws, cy, group), "typing.started", ana.pk)
    # Eve's message reaches Ana (her page folds it away), and so does Eve's read receipt.
    await eve_ws.send_json_to({"type": "message.send", "conversation": group.pk, "body": "hi all", "client_id": "e1"})
    created = await next_of_type(ana_ws, "message.created")
    while created["sender_id"] != eve.pk:  # (the markers Cy sent for the others come first)
        created = await next_of_type(ana_ws, "message.created")
    later = await database_sync_to_async(services.send_message)(user=cy, conversation_id=group.pk, body="read me")
    await eve_ws.send_json_to({"type": "read", "conversation": group.pk, "seq": later.message.seq})
    receipt = await next_of_type(ana_ws, "receipt.updated")
    assert receipt["user_id"] == eve.pk and receipt["read_seq"] == later.message.seq
    for ws in (ana_ws, eve_ws, cy_ws):
        await ws.disconnect()


async def test_the_socket_drops_a_conversation_event_for_the_people_it_excludes():
    """The routing key every app may use: "exclude_user_ids" beside "type" and "text"."""
    ana, eve, cy, direct, old, ana_said, group, markers = await database_sync_to_async(setting_the_scene)()
    ana_ws, _, _ = await connect(ana)
    eve_ws, _, _ = await connect(eve)
    event = {"type": "receipt.updated", "text": '{"type": "receipt.updated", "user_id": 0}',
             "conversation_id": group.pk, "exclude_user_ids": [eve.pk]}
    await database_sync_to_async(publish_now)([conversation_group(group.pk)], event)
    assert (await next_of_type(ana_ws, "receipt.updated"))["user_id"] == 0
    assert not about(await frames_before_marker(eve_ws, cy, group), "receipt.updated", 0)
    for ws in (ana_ws, eve_ws):
        await ws.disconnect()


def test_a_reloaded_direct_chat_shows_no_receipts_across_a_block(db):
    from accounts.services import block_user
    from messaging import selectors

    ana, eve = make_user("ana2"), make_user("eve2")
    chat = services.get_or_create_direct_conversation(user=ana, other_id=eve.pk)
    services.send_message(user=eve, conversation_id=chat.pk, body="hi")
    services.mark_read(user=ana, conversation_id=chat.pk, seq=1)
    assert selectors.read_watermarks(chat.pk, eve.pk) == (1, 1)
    block_user(user=ana, other_id=eve.pk)
    assert selectors.read_watermarks(chat.pk, eve.pk) == (0, 0)  # as the live receipts: none cross it
    assert selectors.read_watermarks(chat.pk, ana.pk) == (0, 0)
