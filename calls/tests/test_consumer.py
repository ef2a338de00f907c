"""The calls frames over real sockets (the ASGI stack, as messaging/tests/test_consumer.py)."""

import pytest
from channels.db import database_sync_to_async

from calls import selectors, services
from calls.models import Call, CallParticipant
from messaging import services as messaging_services
from messaging.tests.test_consumer import connect, next_of_type, nothing_more

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async
OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}


def me(call: dict, user) -> dict:
    return next(p for p in call["participants"] if p["id"] == user.pk)


async def start(ws, conversation, kind="video") -> dict:
    await ws.send_json_to({"type": "call.start", "conversation": conversation.pk, "kind": kind})
    return (await next_of_type(ws, "call.state"))["call"]


async def error_for(ws, frame: dict) -> dict:
    await ws.send_json_to(frame)
    return await next_of_type(ws, "error")


async def test_rings_every_tab_and_an_answer_stops_the_others(alice, bob, direct):
    caller, _, _ = await connect(alice)
    tab1, _, _ = await connect(bob)
    tab2, _, _ = await connect(bob)
    call = await start(caller, direct)
    for tab in (tab1, tab2):
        ringing = (await next_of_type(tab, "call.updated"))["call"]
        assert ringing["id"] == call["id"] and me(ringing, bob)["status"] == "invited"
        assert me(ringing, alice)["name"] == "Alice Archer"
    await tab1.send_json_to({"type": "call.accept", "call": call["id"]})
    state = await next_of_type(tab1, "call.state")
    assert state["call"]["status"] == "ongoing" and state["ice_servers"] == [] and state["max_participants"] == 6
    update = (await next_of_type(tab2, "call.updated"))["call"]
    assert update["status"] == "ongoing" and me(update, bob)["status"] == "joined"  # tab 2 stops ringing
    # A second answer, from the other tab, is refused; the first stands.
    error = await error_for(tab2, {"type": "call.accept", "call": call["id"]})
    assert error["code"] == "busy" and error["for"] == "call.accept"
    for ws in (caller, tab1, tab2):
        await ws.disconnect()


async def test_signalling_is_relayed_between_participants_only(alice, bob, carol, group):
    a, _, _ = await connect(alice)
    b, _, _ = await connect(bob)
    c, _, _ = await connect(carol)
    call = await start(a, group)
    await b.send_json_to({"type": "call.accept", "call": call["id"]})
    await next_of_type(b, "call.state")
    await b.send_json_to({"type": "call.offer", "call": call["id"], "to": alice.pk, "sdp": OFFER})
    relayed = await next_of_type(a, "call.offer")
    assert relayed == {"type": "call.offer", "call": call["id"], "from": bob.pk, "sdp": OFFER}
    await a.send_json_to({"type": "call.answer", "call": call["id"], "to": bob.pk, "sdp": OFFER})
    assert (await next_of_type(b, "call.answer"))["from"] == alice.pk
    await a.send_json_to({"type": "call.ice", "call": call["id"], "to": bob.pk, "candidate": CANDIDATE})
    assert (await next_of_type(b, "call.ice"))["candidate"] == CANDIDATE
    # Carol is rung but not in the call: she cannot signal, and nobody can signal to her.
    error = await error_for(c, {"type": "call.offer", "call": call["id"], "to": alice.pk, "sdp": OFFER})
    assert error["code"] == "not_member"
    error = await error_for(a, {"type": "call.offer", "call": call["id"], "to": carol.pk, "sdp": OFFER})
    assert error["code"] == "not_member" and error["field"] == "to"
    error = await error_for(a, {"type": "call.ice", "call": call["id"] + 1, "to": bob.pk, "candidate": CANDIDATE})
    assert error["code"] == "not_member"
    assert await nothing_more(c, ignore=("presence.changed", "call.updated"))
    # Media state goes to the others in the call.
    await a.send_json_to({"type": "call.media", "call": call["id"], "audio": False, "video": True, "screen": False})
    media = await next_of_type(b, "call.media")
    assert media["from"] == alice.pk and media["audio"] is False
    for ws in (a, b, c):
        await ws.disconnect()


async def test_ice_candidates_cost_no_query(alice, bob, direct, monkeypatch):
    a, _, _ = await connect(alice)
    b, _, _ = await connect(bob)
    call = await start(a, direct)
    await b.send_json_to({"type": "call.accept", "call": call["id"]})
    await next_of_type(b, "call.state")
    lookups = []
    real = selectors.joined_ids
    monkeypatch.setattr(selectors, "joined_ids", lambda call_id: lookups.append(call_id) or real(call_id))
    for _ in range(20):
        await b.send_json_to({"type": "call.ice", "call": call["id"], "to": alice.pk, "candidate": CANDIDATE})
        await a.send_json_to({"type": "call.ice", "call": call["id"], "to": bob.pk, "candidate": CANDIDATE})
    for _ in range(20):
        await next_of_type(a, "call.ice")
        await next_of_type(b, "call.ice")
    # Bob's socket knew alice when it joined; alice's learnt of bob once, on her first candidate.
    assert lookups == [call["id"]]
    await a.disconnect()
    await b.disconnect()


async def test_busy_callee(alice, bob, carol, direct):
    bob_carol = await db(messaging_services.get_or_create_direct_conversation)(user=bob, other_id=carol.pk)
    b, _, _ = await connect(bob)
    await start(b, bob_carol, kind="audio")
    a, _, _ = await connect(alice)
    call = await start(a, direct)
    assert call["status"] == "busy" and me(call, bob)["status"] == "busy"
    await a.disconnect()
    await b.disconnect()


async def test_malformed_payloads_are_refused_and_the_socket_stays(alice, bob, direct):
    a, _, _ = await connect(alice)
    b, _, _ = await connect(bob)
    call = await start(a, direct)
    await b.send_json_to({"type": "call.accept", "call": call["id"]})
    await next_of_type(b, "call.state")
    cases = [
        ({"type": "call.offer", "call": call["id"], "to": bob.pk, "sdp": "x" * 20001}, "sdp"),
        ({"type": "call.offer", "call": call["id"], "to": bob.pk, "sdp": 12}, "sdp"),
        ({"type": "call.offer", "call": str(call["id"]), "to": bob.pk, "sdp": OFFER}, "call"),
        ({"type": "call.ice", "call": call["id"], "to": bob.pk, "candidate": "candidate:1"}, "candidate"),
        ({"type": "call.ice", "call": call["id"], "to": bob.pk, "candidate": {"candidate": 5}}, "candidate.candidate"),
        ({"type": "call.media", "call": call["id"], "audio": "no", "video": True, "screen": False}, "audio"),
        ({"type": "call.start", "conversation": direct.pk, "kind": "hologram"}, "kind"),
    ]
    for frame, field in cases:
        error = await error_for(a, frame)
        assert error["code"] == "bad_frame" and error["field"] == field, (frame, error)
    error = await error_for(a, {"type": "call.offer", "call": call["id"], "to": alice.pk, "sdp": OFFER})
    assert error["code"] == "invalid"
    await a.send_json_to({"type": "ping"})
    assert (await next_of_type(a, "pong"))["type"] == "pong"
    assert await nothing_more(b, ignore=("presence.changed", "call.updated"))
    await a.disconnect()
    await b.disconnect()


async def test_reload_rejoins_the_call(alice, bob, direct):
    a, _, _ = await connect(alice)
    b, _, _ = await connect(bob)
    call = await start(a, direct)
    await b.send_json_to({"type": "call.accept", "call": call["id"]})
    await next_of_type(b, "call.state")
    await b.disconnect()  # bob's page reloads
    update = (await next_of_type(a, "call.updated"))["call"]
    while me(update, bob)["connected"]:
        update = (await next_of_type(a, "call.updated"))["call"]
    assert update["status"] == "ongoing"
    b2, _, _ = await connect(bob)
    await b2.send_json_to({"type": "call.sync"})
    active = (await next_of_type(b2, "call.active"))["calls"]
    assert [c["id"] for c in active] == [call["id"]]
    await b2.send_json_to({"type": "call.join", "call": call["id"]})
    state = await next_of_type(b2, "call.state")
    assert me(state["call"], bob)["connected"] is True
    await b2.send_json_to({"type": "call.offer", "call": call["id"], "to": alice.pk, "sdp": OFFER})
    assert (await next_of_type(a, "call.offer"))["from"] == bob.pk
    await b2.send_json_to({"type": "call.hangup", "call": call["id"]})
    ended = (await next_of_type(a, "call.updated"))["call"]
    while ended["status"] == "ongoing":
        ended = (await next_of_type(a, "call.updated"))["call"]
    assert ended["status"] == "ended"
    await a.disconnect()
    await b2.disconnect()


async def test_non_member_cannot_join(alice, bob, carol, direct):
    a, _, _ = await connect(alice)
    call = await start(a, direct)
    c, _, _ = await connect(carol)
    error = await error_for(c, {"type": "call.join", "call": call["id"]})
    assert error["code"] == "not_found"
    error = await error_for(c, {"type": "call.start", "conversation": direct.pk, "kind": "audio"})
    assert error["code"] == "not_member"
    assert await db(lambda: CallParticipant.objects.filter(user=carol).exists())() is False
    await a.disconnect()
    await c.disconnect()


async def test_closing_the_socket_while_ringing_keeps_the_call_for_the_reconnect(alice, bob, direct, settings):
    a, _, _ = await connect(alice)
    call = await start(a, direct)
    await a.disconnect()
    assert await db(lambda: Call.objects.get(pk=call["id"]).status)() == "ringing"
    gone = await db(lambda: CallParticipant.objects.get(call_id=call["id"], user=alice).disconnected_at)()
    assert gone is not None
    await db(services.drop_disconnected)(now=gone.replace(year=gone.year + 1))
    assert await db(lambda: Call.objects.get(pk=call["id"]).status)() == "cancelled"
