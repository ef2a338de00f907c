"""A tab kept up to date by the socket's events shows what a fresh load of the page shows.

Each test runs one action (a service call, as from another tab, device or person) while an
observer's tab is open, and checks with ``verify_action`` (messaging/tests/event_state.py) that
the page before + the events it received == the page fetched after: the sidebar entries (unread
counts, pin, mute, last message, title, order), the open chat (messages, receipts, members,
header), membership, and the notification and invitation counts. Observed from the person the
action concerns and from another member; on the chat page (on screen or hidden) or with the
sidebar only.

Tests marked xfail(raises=StateMismatch) are disagreements found between the browser and the
server, each described in its reason: they pass (XPASS, which fails) once fixed; then drop the mark.
"""

from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async

from conftest import make_user
from groups import services as group_services
from messaging import services
from messaging.models import Message

from .event_state import StateMismatch, verify_action

pytestmark = pytest.mark.django_db(transaction=True)


def send(user, conversation, body) -> Message:
    return services.send_message(user=user, conversation_id=conversation.pk, body=body).message


async def setup(function, /, **kwargs):
    """A step before the observer's tab opens (async tests run the database in a thread)."""
    return await database_sync_to_async(function)(**kwargs)


def read_all(conversation, *people) -> None:
    conversation.refresh_from_db()
    for person in people:
        services.mark_read(user=person, conversation_id=conversation.pk, seq=conversation.last_seq)


@pytest.fixture
def world(db):
    """Ana owns the group "Crew" (Bo, Cy); Ana and Bo have a direct chat, the most recent one.
    Everyone has read everything. Dee knows nobody yet."""
    ana, bo, cy, dee = (make_user(name) for name in ("ana", "bo", "cy", "dee"))
    crew = group_services.create_group(user=ana, title="Crew", member_ids=[bo.pk, cy.pk])  # seq 1, 2: system lines
    send(bo, crew, "morning all")  # 3
    send(ana, crew, "morning *Bo*")  # 4
    read_all(crew, ana, bo, cy)
    direct = services.get_or_create_direct_conversation(user=ana, other_id=bo.pk)
    send(bo, direct, "hi ana")  # 1
    send(ana, direct, "hi bo")  # 2
    read_all(direct, ana, bo)
    return SimpleNamespace(ana=ana, bo=bo, cy=cy, dee=dee, crew=crew, direct=direct)


def types(events) -> list[str]:
    return [e["type"] for e in events]


def browser_bug(reason: str):
    return pytest.mark.xfail(raises=StateMismatch, strict=True, reason=reason)


# Where the observer's tab is: (chat, visible). ``chat`` names a conversation of the world.
ON_CHAT, HIDDEN, SIDEBAR = ("direct", True), ("direct", False), (None, True)


def where(world, place):
    chat, visible = place
    return {"chat": getattr(world, chat).pk if chat else None, "visible": visible}


# --- messages ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("observer", "place"), [
    ("bo", ON_CHAT), ("bo", HIDDEN), ("bo", SIDEBAR), ("bo", ("crew", True)), ("ana", ON_CHAT), ("ana", SIDEBAR),
], ids=["reader-on-chat", "reader-tab-hidden", "reader-sidebar", "reader-on-other-chat", "sender-on-chat",
        "sender-sidebar"])
async def test_message_in_a_direct_chat(world, observer, place):
    events = await verify_action(getattr(world, observer), lambda: send(world.ana, world.direct, "how are *you*?"),
                                 **where(world, place))
    assert "message.created" in types(events)
    if observer == "bo" and place == ON_CHAT:  # the tab read it at once, and its other tabs heard
        assert "conversation.changed" in types(events)


@pytest.mark.parametrize(("observer", "place"), [
    ("bo", ("crew", True)), ("bo", SIDEBAR), ("cy", ("crew", False)), ("ana", ("crew", True)), ("ana", SIDEBAR),
], ids=["reader-on-chat", "reader-sidebar", "reader-tab-hidden", "sender-on-chat", "sender-sidebar"])
async def test_message_in_a_group(world, observer, place):
    # The sidebar shows "Ana: …" for a group: the live preview must use the same name as the fetched one.
    events = await verify_action(getattr(world, observer), lambda: send(world.ana, world.crew, "lunch at one?"),
                                 **where(world, place))
    assert "message.created" in types(events)


async def test_message_in_a_muted_chat_still_counts_as_unread(world):
    await setup(services.set_conversation_flags, user=world.ana, conversation_id=world.direct.pk, muted=True)
    events = await verify_action(world.ana, lambda: send(world.bo, world.direct, "psst"), **where(world, SIDEBAR))
    assert "message.created" in types(events)


async def test_mention_in_a_muted_group_reaches_the_bell(world):
    await setup(services.set_conversation_flags, user=world.bo, conversation_id=world.crew.pk, muted=True)
    events = await verify_action(world.bo, lambda: send(world.ana, world.crew, "@bo look"), **where(world, SIDEBAR))
    assert {"message.created", "mention.created", "notification.created"} <= set(types(events))


async def test_my_message_from_another_device_clears_my_unread_count(world):
    await setup(send, user=world.bo, conversation=world.direct, body="still there?")  # unread 1 for Ana
    await verify_action(world.ana, lambda: send(world.ana, world.direct, "yes"), **where(world, SIDEBAR))


async def test_a_reply_shows_my_message_as_seen(world):
    # Ana's tabs are closed: Bo's message is neither read nor delivered when she answers it.
    await setup(send, user=world.bo, conversation=world.direct, body="are you there?")
    await verify_action(world.bo, lambda: send(world.ana, world.direct, "here"), **where(world, ON_CHAT))


# --- receipts ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("observer", "place", "changes"), [
    ("bo", SIDEBAR, True), ("bo", ("crew", True), True), ("ana", ON_CHAT, True), ("ana", SIDEBAR, False),
], ids=["reader-sidebar", "reader-on-other-chat", "sender-on-chat", "sender-sidebar"])
async def test_mark_read(world, observer, place, changes):
    await setup(send, user=world.ana, conversation=world.direct, body="one")
    last = await setup(send, user=world.ana, conversation=world.direct, body="two")
    events = await verify_action(
        getattr(world, observer),
        lambda: services.mark_read(user=world.bo, conversation_id=world.direct.pk, seq=last.seq),
        state_change_expected=changes, **where(world, place))
    assert "receipt.updated" in types(events) or observer == "bo"


async def test_mark_read_in_a_group_counts_the_reader(world):
    mine = await setup(send, user=world.bo, conversation=world.crew, body="anyone?")
    events = await verify_action(
        world.bo, lambda: services.mark_read(user=world.cy, conversation_id=world.crew.pk, seq=mine.seq),
        **where(world, ("crew", True)))
    assert "receipt.updated" in types(events)


@pytest.mark.parametrize(("observer", "place", "changes"), [
    ("ana", ON_CHAT, True), ("bo", SIDEBAR, False),
], ids=["sender-on-chat", "reader-sidebar"])
async def test_delivered(world, observer, place, changes):
    sent = await setup(send, user=world.ana, conversation=world.direct, body="ping")
    await verify_action(
        getattr(world, observer),
        lambda: services.mark_delivered(user=world.bo, conversation_id=world.direct.pk, seq=sent.seq),
        state_change_expected=changes, **where(world, place))


# --- the reader's own flags --------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["pinned", "muted"])
@pytest.mark.parametrize(("observer", "place", "changes"), [
    ("ana", SIDEBAR, True), ("ana", ("crew", True), True), ("bo", ON_CHAT, False),
    ("ana", ON_CHAT, True),
], ids=["own-tab-sidebar", "own-tab-other-chat", "other-member", "own-tab-on-that-chat"])
async def test_pin_and_mute_reach_my_other_tabs(world, flag, observer, place, changes):
    # The direct chat is at the top of the sidebar already (see the next test for one that is not).
    events = await verify_action(
        getattr(world, observer),
        lambda: services.set_conversation_flags(user=world.ana, conversation_id=world.direct.pk, **{flag: True}),
        state_change_expected=changes, **where(world, place))
    assert ("conversation.changed" in types(events)) == (observer == "ana")


async def test_pinning_a_lower_chat_moves_it_to_the_top(world):
    await verify_action(world.ana, lambda: services.set_conversation_flags(
        user=world.ana, conversation_id=world.crew.pk, pinned=True), **where(world, SIDEBAR))


# --- edits and deletes -------------------------------------------------------------------------

def _ana_last_direct(world) -> Message:
    return Message.objects.get(conversation=world.direct, seq=2)


@pytest.mark.parametrize(("observer", "place"), [
    ("bo", ON_CHAT), ("bo", SIDEBAR),
    ("ana", SIDEBAR),
], ids=["other-on-chat", "other-sidebar", "sender-other-tab"])
async def test_edit_of_the_last_message(world, observer, place):
    events = await verify_action(getattr(world, observer), lambda: services.edit_message(
        user=world.ana, message_id=_ana_last_direct(world).pk, body="hi *Bo*!"), **where(world, place))
    assert types(events) == ["message.updated"]


async def test_edit_of_the_last_message_in_a_group(world):
    last = await setup(Message.objects.get, conversation=world.crew, seq=4)
    await verify_action(world.bo, lambda: services.edit_message(user=world.ana, message_id=last.pk, body="morning!"),
                        **where(world, SIDEBAR))


async def test_edit_of_an_older_message_changes_the_chat_only(world):
    first = await setup(Message.objects.get, conversation=world.direct, seq=1)
    await verify_action(world.ana, lambda: services.edit_message(user=world.bo, message_id=first.pk, body="hello ana"),
                        **where(world, ON_CHAT))


@pytest.mark.parametrize(("observer", "place"), [
    ("bo", ON_CHAT), ("bo", SIDEBAR),
    ("ana", SIDEBAR),
], ids=["other-on-chat", "other-sidebar", "sender-other-tab"])
async def test_delete_of_the_last_message(world, observer, place):
    events = await verify_action(getattr(world, observer), lambda: services.delete_message(
        user=world.ana, message_id=_ana_last_direct(world).pk), **where(world, place))
    assert types(events) == ["message.updated"]


async def test_reaction_to_my_last_message(world):
    await verify_action(world.ana, lambda: services.toggle_reaction(
        user=world.bo, message_id=_ana_last_direct(world).pk, emoji="👍"), state_change_expected=False,
        **where(world, SIDEBAR))


async def test_reaction_keeps_my_star(world):
    message = await setup(_ana_last_direct, world=world)
    await setup(services.toggle_star, user=world.bo, message_id=message.pk)
    await verify_action(world.bo, lambda: services.toggle_reaction(user=world.ana, message_id=message.pk, emoji="🎉"),
                        **where(world, ON_CHAT))


async def test_reaction_to_a_message_in_the_open_chat(world):
    first = await setup(Message.objects.get, conversation=world.direct, seq=1)
    events = await verify_action(
        world.bo, lambda: services.toggle_reaction(user=world.ana, message_id=first.pk, emoji="❤️"),
        **where(world, ON_CHAT))
    assert types(events) == ["message.updated"]


# --- membership --------------------------------------------------------------------------------

@pytest.mark.parametrize(("observer", "place"), [
    ("dee", SIDEBAR), ("bo", SIDEBAR), ("bo", ON_CHAT),
    ("bo", ("crew", True)),
], ids=["added-one", "member-sidebar", "member-on-other-chat", "member-on-that-chat"])
async def test_member_added(world, observer, place):
    events = await verify_action(getattr(world, observer), lambda: group_services.add_members(
        user=world.ana, conversation_id=world.crew.pk, user_ids=[world.dee.pk]), **where(world, place))
    if observer == "dee":
        assert "conversation.joined" in types(events)
    else:  # the members' sockets hear who is in the group now, open chat or not
        assert "members.changed" in types(events)


@pytest.mark.parametrize(("observer", "place"), [
    ("cy", SIDEBAR), ("cy", ("crew", True)), ("bo", SIDEBAR),
    ("bo", ("crew", True)),
], ids=["removed-sidebar", "removed-on-that-chat", "member-sidebar", "member-on-that-chat"])
async def test_member_removed(world, observer, place):
    events = await verify_action(getattr(world, observer), lambda: group_services.remove_member(
        user=world.ana, conversation_id=world.crew.pk, member_id=world.cy.pk), **where(world, place))
    if observer == "cy":
        assert "conversation.left" in types(events)
        assert "message.created" not in types(events)  # the "removed" line is for the others only


@pytest.mark.parametrize(("leaver", "observer", "place"), [
    ("bo", "bo", SIDEBAR), ("bo", "bo", ("crew", True)), ("bo", "ana", SIDEBAR), ("bo", "ana", HIDDEN),
    ("ana", "ana", SIDEBAR), ("ana", "bo", SIDEBAR),
    ("bo", "ana", ("crew", True)),
], ids=["leaver-sidebar", "leaver-on-that-chat", "member-sidebar", "member-tab-hidden", "owner-leaves",
        "heir-sidebar", "member-on-that-chat"])
async def test_leaving_a_group(world, leaver, observer, place):
    events = await verify_action(getattr(world, observer), lambda: group_services.leave_group(
        user=getattr(world, leaver), conversation_id=world.crew.pk), **where(world, place))
    assert ("conversation.left" in types(events)) == (observer == leaver)


async def test_group_deleted(world):
    events = await verify_action(
        world.bo, lambda: group_services.delete_group(user=world.ana, conversation_id=world.crew.pk),
        **where(world, ("crew", True)))
    assert types(events) == ["conversation.left"]


@pytest.mark.parametrize(("observer", "place"), [
    ("bo", SIDEBAR), ("bo", ("crew", True)), ("ana", ("crew", True)), ("cy", ("crew", False)),
], ids=["member-sidebar", "member-on-chat", "renamer-other-tab", "member-tab-hidden"])
async def test_group_renamed(world, observer, place):
    events = await verify_action(getattr(world, observer), lambda: group_services.update_group(
        user=world.ana, conversation_id=world.crew.pk, title="Crew & friends"), **where(world, place))
    assert "group.changed" in types(events)


async def test_invitation_then_joining(world):
    invitations = []
    events = await verify_action(world.dee, lambda: invitations.append(group_services.invite(
        user=world.ana, conversation_id=world.crew.pk, invitee_id=world.dee.pk)), **where(world, SIDEBAR))
    assert {"invitation.changed", "notification.created"} == set(types(events))
    events = await verify_action(world.dee, lambda: group_services.respond_to_invitation(
        user=world.dee, invitation_id=invitations[0].pk, accept=True), **where(world, SIDEBAR))
    assert {"conversation.joined", "invitation.changed"} <= set(types(events))


# --- new direct chats --------------------------------------------------------------------------

@pytest.mark.parametrize(("observer", "place"), [
    ("ana", SIDEBAR), ("ana", ON_CHAT), ("cy", SIDEBAR),
], ids=["other-sidebar", "other-on-another-chat", "creator-other-tab"])
@pytest.mark.parametrize("first_message", [False, True], ids=["empty", "with-a-message"])
async def test_new_direct_chat_started_by_the_other_person(world, observer, place, first_message):
    def start():
        chat = services.get_or_create_direct_conversation(user=world.cy, other_id=world.ana.pk)
        if first_message:
            send(world.cy, chat, "hello Ana, it's Cy")

    events = await verify_action(getattr(world, observer), start, **where(world, place))
    assert "conversation.joined" in types(events)


async def test_new_direct_chat_goes_below_my_pinned_chats(world):
    await setup(services.set_conversation_flags, user=world.ana, conversation_id=world.crew.pk, pinned=True)
    await verify_action(
        world.ana, lambda: services.get_or_create_direct_conversation(user=world.cy, other_id=world.ana.pk),
        **where(world, SIDEBAR))
