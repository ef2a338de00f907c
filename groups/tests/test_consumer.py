"""Membership changes reach open sockets at once, without reconnecting."""

import pytest
from channels.db import database_sync_to_async

from conftest import make_user
from groups import services
from messaging import services as message_services
from messaging.tests.test_consumer import connect, next_of_type

pytestmark = pytest.mark.django_db(transaction=True)


async def test_removed_member_receives_nothing_sent_after_removal():
    olga, mia = await database_sync_to_async(make_user)("olga"), await database_sync_to_async(make_user)("mia")
    group = await database_sync_to_async(services.create_group)(user=olga, title="Crew", member_ids=[mia.pk])
    mia_ws, _, _ = await connect(mia)
    await database_sync_to_async(message_services.send_message)(user=olga, conversation_id=group.pk, body="before removal")
    assert "before removal" in (await next_of_type(mia_ws, "message.created"))["html"]

    await database_sync_to_async(services.remove_member)(user=olga, conversation_id=group.pk, member_id=mia.pk)
    left = await next_of_type(mia_ws, "conversation.left")
    assert left["conversation"] == group.pk
    await database_sync_to_async(message_services.send_message)(user=olga, conversation_id=group.pk, body="after removal")
    # Olga's "removed" system message was sent before Mia left the group: nothing after it arrives.
    frames = []
    while not await mia_ws.receive_nothing(timeout=0.3):
        frames.append(await mia_ws.receive_json_from())
    assert not any("after removal" in str(f) for f in frames)
    await mia_ws.send_json_to({"type": "typing", "conversation": group.pk})
    assert "not a member" in (await next_of_type(mia_ws, "error"))["error"]
    await mia_ws.disconnect()


async def test_added_member_receives_the_next_message_without_reconnecting():
    olga, nina = await database_sync_to_async(make_user)("olga"), await database_sync_to_async(make_user)("nina")
    group = await database_sync_to_async(services.create_group)(user=olga, title="Crew")
    nina_ws, _, _ = await connect(nina)
    await database_sync_to_async(services.add_members)(user=olga, conversation_id=group.pk, user_ids=[nina.pk])
    assert (await next_of_type(nina_ws, "conversation.joined"))["conversation"] == group.pk
    await database_sync_to_async(message_services.send_message)(user=olga, conversation_id=group.pk, body="welcome Nina")
    created = await next_of_type(nina_ws, "message.created")
    while "welcome Nina" not in created["html"]:  # the "added" system line comes first
        created = await next_of_type(nina_ws, "message.created")
    assert created["conversation"] == group.pk
    await nina_ws.disconnect()


async def test_invitation_reaches_the_invitee_live():
    olga, nina = await database_sync_to_async(make_user)("olga"), await database_sync_to_async(make_user)("nina")
    group = await database_sync_to_async(services.create_group)(user=olga, title="Crew")
    nina_ws, _, _ = await connect(nina)
    invitation = await database_sync_to_async(services.invite)(user=olga, conversation_id=group.pk, invitee_id=nina.pk)
    frame = await next_of_type(nina_ws, "invitation.changed")
    assert frame["id"] == invitation.pk and frame["pending"] == 1 and "Crew" in frame["html"]
    await database_sync_to_async(services.respond_to_invitation)(user=nina, invitation_id=invitation.pk, accept=True)
    assert (await next_of_type(nina_ws, "conversation.joined"))["conversation"] == group.pk
    await nina_ws.disconnect()


async def test_mention_notifies_even_when_muted():
    olga, mia = await database_sync_to_async(make_user)("olga"), await database_sync_to_async(make_user)("mia")
    group = await database_sync_to_async(services.create_group)(user=olga, title="Crew", member_ids=[mia.pk])
    await database_sync_to_async(message_services.set_conversation_flags)(user=mia, conversation_id=group.pk, muted=True)
    mia_ws, _, _ = await connect(mia)
    await database_sync_to_async(message_services.send_message)(user=olga, conversation_id=group.pk, body="@mia look")
    mention = await next_of_type(mia_ws, "mention.created")
    assert mention["conversation"] == group.pk and "look" in mention["preview"]
    await mia_ws.disconnect()


async def test_settings_change_reaches_members_live():
    olga, mia = await database_sync_to_async(make_user)("olga"), await database_sync_to_async(make_user)("mia")
    group = await database_sync_to_async(services.create_group)(user=olga, title="Crew", member_ids=[mia.pk])
    mia_ws, _, _ = await connect(mia)
    await database_sync_to_async(services.update_group)(user=olga, conversation_id=group.pk, title="Crew HQ")
    line = await next_of_type(mia_ws, "message.created")
    assert "renamed the group to “Crew HQ”" in line["html"]
    changed = await next_of_type(mia_ws, "group.changed")
    assert changed == {"type": "group.changed", "conversation": group.pk, "title": "Crew HQ"}
    await mia_ws.disconnect()


async def test_a_resume_in_a_group_says_who_is_in_it_now():
    """A tab that was away when members changed (no members.changed reached it) catches up."""
    olga, mia = await database_sync_to_async(make_user)("olga"), await database_sync_to_async(make_user)("mia")
    nina = await database_sync_to_async(make_user)("nina")
    group = await database_sync_to_async(services.create_group)(user=olga, title="Crew", member_ids=[mia.pk, nina.pk])
    await database_sync_to_async(services.remove_member)(user=olga, conversation_id=group.pk, member_id=nina.pk)
    mia_ws, _, _ = await connect(mia)
    await mia_ws.send_json_to({"type": "resume", "conversation": group.pk, "after_seq": 0})
    history = await next_of_type(mia_ws, "history")
    assert sorted(m["id"] for m in history["members"]) == sorted([olga.pk, mia.pk])
    await mia_ws.disconnect()
