"""Online / away / offline over real sockets, with several tabs."""

import pytest
from channels.db import database_sync_to_async

from accounts import services
from accounts.models import User
from conftest import make_user
from messaging import services as message_services
from messaging.tests.test_consumer import connect, next_of_type

pytestmark = pytest.mark.django_db(transaction=True)


async def presence_of(communicator, user_id):
    frame = await next_of_type(communicator, "presence.changed")
    while frame["user_id"] != user_id:
        frame = await next_of_type(communicator, "presence.changed")
    return frame


async def test_online_once_and_offline_only_when_the_last_tab_closes():
    ana, bo = await database_sync_to_async(make_user)("ana"), await database_sync_to_async(make_user)("bo")
    await database_sync_to_async(message_services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    ana_ws, _, _ = await connect(ana)
    bo_tab1, _, _ = await connect(bo)
    assert (await presence_of(ana_ws, bo.pk))["status"] == "online"
    bo_tab2, _, _ = await connect(bo)
    assert await database_sync_to_async(services.presence.statuses)([bo.pk]) == {bo.pk: "online"}
    await bo_tab1.disconnect()
    assert await database_sync_to_async(services.presence.statuses)([bo.pk]) == {bo.pk: "online"}
    await bo_tab2.disconnect()
    offline = await presence_of(ana_ws, bo.pk)
    assert offline["status"] == "offline" and offline["last_seen"]
    assert (await database_sync_to_async(User.objects.get)(pk=bo.pk)).last_seen is not None
    await ana_ws.disconnect()


async def test_away_when_every_tab_is_hidden():
    ana, bo = await database_sync_to_async(make_user)("ana"), await database_sync_to_async(make_user)("bo")
    await database_sync_to_async(message_services.get_or_create_direct_conversation)(user=ana, other_id=bo.pk)
    ana_ws, _, _ = await connect(ana)
    tab1, _, _ = await connect(bo)
    tab2, _, _ = await connect(bo)
    await tab1.send_json_to({"type": "presence", "active": False})
    await tab2.send_json_to({"type": "presence", "active": False})
    frame = await presence_of(ana_ws, bo.pk)
    while frame["status"] != "away":
        frame = await presence_of(ana_ws, bo.pk)
    await tab2.send_json_to({"type": "presence", "active": True})
    assert (await presence_of(ana_ws, bo.pk))["status"] == "online"
    for ws in (ana_ws, tab1, tab2):
        await ws.disconnect()


async def test_friends_without_a_shared_chat_see_presence_and_hidden_last_seen_stays_hidden():
    ana, bo = await database_sync_to_async(make_user)("ana"), await database_sync_to_async(make_user)("bo", hide_last_seen=True)
    request = await database_sync_to_async(services.send_friend_request)(user=ana, to_id=bo.pk)
    await database_sync_to_async(services.respond_to_friend_request)(user=bo, request_id=request.pk, accept=True)
    ana_ws, _, _ = await connect(ana)
    bo_ws, _, _ = await connect(bo)
    assert (await presence_of(ana_ws, bo.pk))["status"] == "online"
    await bo_ws.disconnect()
    offline = await presence_of(ana_ws, bo.pk)
    assert offline["status"] == "offline" and offline["last_seen"] is None
    await ana_ws.disconnect()


async def test_strangers_are_not_told():
    ana, bo = await database_sync_to_async(make_user)("ana"), await database_sync_to_async(make_user)("bo")
    ana_ws, _, _ = await connect(ana)
    bo_ws, _, _ = await connect(bo)
    frames = []
    while not await ana_ws.receive_nothing(timeout=0.3):
        frames.append(await ana_ws.receive_json_from())
    assert not [f for f in frames if f.get("user_id") == bo.pk]
    await ana_ws.disconnect()
    await bo_ws.disconnect()
