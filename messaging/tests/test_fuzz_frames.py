"""Fuzz: hostile frames of every type through the real ASGI stack (chatsite.asgi.application).

The promise checked (the socket protocol contract): every bad frame is answered by an error frame
with a machine ``code``; the server never closes the socket for a bad frame; nothing is logged as
an error or with a traceback; and afterwards a valid ``message.send`` still works.

Each frame is followed by a marker (a send with its own client id): everything the server answers
before the marker's answer belongs to the frame. Bounded and seeded (FUZZ_SEED).
"""

import asyncio
import json
import time
from collections import Counter

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache

from chatsite.realtime import frame_limiter
from chatsite.tests.fuzzing import SEED, TEXTS, ErrorRecords, make_random, report
from conftest import make_user
from groups import services as group_services
from messaging import services
from messaging.tests.test_consumer import connect

pytestmark = pytest.mark.django_db(transaction=True)

# Every client frame type of the protocol, with its fields: (name, kind, required).
FRAMES = {
    "message.send": [("conversation", "int", True), ("body", "text", True), ("client_id", "client_id", False),
                     ("reply_to", "int", False), ("attachments", "ids", False)],
    "typing": [("conversation", "int", True)],
    "read": [("conversation", "int", True), ("seq", "int", True)],
    "delivered": [("conversation", "int", True), ("seq", "int", True)],
    "resume": [("conversation", "int", True), ("after_seq", "int", True)],
    "ping": [],
    "presence": [("active", "bool", True)],
    # accounts/frames.py: Web Push's "this device has a visible tab"
    "push.device": [("endpoint", "text", True), ("visible", "bool", True)],
    # calls/frames.py ("kind" and "candidate" are fuzzed as text: anything but their own shape is refused)
    "call.start": [("conversation", "int", True), ("kind", "text", True)],
    **{name: [("call", "int", True)] for name in ("call.accept", "call.decline", "call.hangup", "call.join")},
    "call.sync": [],
    "call.offer": [("call", "int", True), ("to", "int", True), ("sdp", "text", True)],
    "call.answer": [("call", "int", True), ("to", "int", True), ("sdp", "text", True)],
    "call.ice": [("call", "int", True), ("to", "int", True), ("candidate", "text", True)],
    "call.media": [("call", "int", True), ("audio", "bool", True), ("video", "bool", True), ("screen", "bool", True)],
    # messaging/assistant.py (on the event loop)
    "assistant.stop": [("conversation", "int", True), ("stream", "text", True)],
}

# Raw JSON literals where an integer goes: each must be refused with an error frame.
BAD_INTS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "99999999999999999999999", str(2**63), "1.5", "1e3",
            '"1"', '"abc"', "true", "false", "null", "[]", "[1]", "{}", '{"$gt": 0}', "-1" + "0" * 30]
BAD_BOOLS = ["null", "[]", "{}", "NaN", '{"a": 1}']
# A lenient reading of these as true or false is as right as an error.
ODD_BOOLS = ['"yes"', "1", "0", '"false"']
BAD_TEXTS = ["123", "1.5", "true", "null", "[]", '["hi"]', '{"a": 1}', "NaN"]
# Text a service cleans or refuses: either answer is right, as long as it is one of the protocol's.
ODD_TEXTS = [json.dumps(text) for text in TEXTS] + ['"\\ud800"', '"a\\udfffb"', '"\\u0000"']
BAD_CLIENT_IDS = ['"a\\u0000b"', '"\\ud800"', json.dumps("x" * 100), '"a b"', "123", "[]", "{}", "NaN"]

STRUCTURAL = [
    "", " ", "not json", "{", "}", "[", "null", "true", "1", '"ping"', "[]", '[{"type": "ping"}]', "{}",
    '{"type": null}', '{"type": 1}', '{"type": ["ping"]}', '{"type": {"a": 1}}', '{"type": ""}',
    '{"type": "no.such.frame"}', '{"type": "__init__"}', '{"type": "forward"}', '{"type": "websocket.disconnect"}',
    '{"type": "session.ended"}', '{"type": "PING"}', '{"type": "ping\\u0000"}', '{"type": "\\ud800"}',
    "[" * 20_000 + "]" * 20_000, '{"a":' * 10_000 + "1" + "}" * 10_000,
    '{"type": "message.send", "body": ' + "[" * 10_000 + "]" * 10_000 + "}",
    '{"type": "ping", "x": "' + "a" * (1024 * 1024) + '"}',
    '{"type": "message.send", "conversation": 1, "body": "' + "a" * (1024 * 1024) + '"}',
]
# Where a list of ids goes (a message's uploads): each must be refused; an id of nobody's upload too.
BAD_ID_LISTS = ["1", '"1"', "null", "{}", "[1.5]", '["1"]', "[NaN]", "[0]", "[-1]", "[true]", "[null]", "[[1]]",
                "[1e400]", "[" + str(2**63) + "]", "[" + ", ".join(["1"] * 51) + "]", "[987654321]"]
ODD_ID_LISTS = ["[]"]
BINARY = [b"\xff\xfe\xfd", b'{"type": "ping"}', b"\x00" * 10, bytes(range(256)), b"\xed\xa0\x80"]


def _frame_text(frame_type, fields: dict) -> str:
    """A frame as JSON text, with field values given as raw JSON literals (NaN, 1e400 ...)."""
    parts = [f'"type": {json.dumps(frame_type)}'] + [f"{json.dumps(name)}: {raw}" for name, raw in fields.items()]
    return "{" + ", ".join(parts) + "}"


def _plan(rng, valid):
    """(label, text or bytes, must the answer be an error?) for every frame to send."""
    plan = [("structural", text, True) for text in STRUCTURAL] + [("binary", data, True) for data in BINARY]
    for frame_type, fields in FRAMES.items():
        good = {name: valid[kind] for name, kind, required in fields if required}
        plan.append((f"{frame_type} extra junk", _frame_text(frame_type, {**good, "junk": '{"a": [1, {"b": null}]}'}),
                     False))
        for name, kind, required in fields:
            if required:
                # (a missing body is an empty message: refused; a missing "active" may read as false)
                plan.append((f"{frame_type} without {name}", _frame_text(frame_type, {
                    n: v for n, v in good.items() if n != name}), True if kind != "bool" else None))
            bad, odd = {"int": (BAD_INTS, []), "bool": (BAD_BOOLS, ODD_BOOLS), "text": (BAD_TEXTS, ODD_TEXTS),
                        "client_id": (BAD_CLIENT_IDS, []), "ids": (BAD_ID_LISTS, ODD_ID_LISTS)}[kind]
            for raw in bad:
                if kind == "int" and raw == "null" and not required:
                    continue  # an optional reference may be null
                plan.append((f"{frame_type} {name}={raw[:20]}", _frame_text(frame_type, {**good, name: raw}), True))
            for raw in odd:
                plan.append((f"{frame_type} {name}={raw[:20]}", _frame_text(frame_type, {**good, name: raw}), None))
    for _ in range(60):  # random mixtures: several bad fields at once
        frame_type = rng.choice(list(FRAMES) + ["no.such"])
        fields = {name: rng.choice(BAD_INTS + BAD_TEXTS + ODD_TEXTS) for name, _, _ in FRAMES.get(frame_type, [])
                  if rng.random() < 0.7}
        plan.append((f"{frame_type} mixture", _frame_text(frame_type, fields), None))
    return plan


def _marker(n: int, conversation_id: int) -> str:
    """A send with a client id of its own: its answer (an ack, or an error such as rate_limited,
    which echoes the client id) closes the window of the frame before it."""
    return json.dumps({"type": "message.send", "conversation": conversation_id, "body": "marker",
                       "client_id": f"marker-{n}"})


async def _answers(ws, n: int, timeout=5):
    """Frames up to marker ``n``'s answer, and how the socket ended if it did: None (alive),
    "closed" (the server closed it), "died: <error>" (the server's side raised), "silent"."""
    frames = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # The communicator's own receive_output cancels the application when it times out, and
        # sees a crash only then: read its queue directly, watching the application between reads.
        if ws.future.done() and ws.output_queue.empty():
            error = ws.future.exception()
            return frames, f"died: {type(error).__name__}" if error else "closed"
        try:
            output = await asyncio.wait_for(ws.output_queue.get(), timeout=0.05)
        except TimeoutError:
            continue
        if output["type"] == "websocket.close":
            return frames, "closed"
        frame = json.loads(output.get("text") or "{}")
        if frame.get("client_id") == f"marker-{n}" and frame.get("type") in ("message.ack", "error"):
            return frames, None
        frames.append(frame)
    return frames, "silent"


async def _drop(ws):
    try:
        await ws.disconnect()
    except Exception:  # noqa: BLE001  (it died already: the error was counted)
        pass


@pytest.fixture
def world(db):
    ana, bo = make_user("ana"), make_user("bo")
    chat = services.get_or_create_direct_conversation(user=ana, other_id=bo.pk)
    services.send_message(user=bo, conversation_id=chat.pk, body="hi")
    group_services.create_group(user=ana, title="Crew", member_ids=[bo.pk])
    return {"user": ana, "valid": {"int": str(chat.pk), "bool": "true", "text": '"hello"', "client_id": '"c-1"'},
            "chat": chat}


async def test_hostile_frames_are_answered_with_an_error_code_and_the_socket_lives_on(world, record_property):
    rng = make_random("frames")
    plan = _plan(rng, world["valid"])
    started = time.monotonic()
    counts, problems = Counter(), []
    with ErrorRecords() as errors:
        ws, connected, _ = await connect(world["user"])
        assert connected
        for n, (label, data, must_error) in enumerate(plan):
            if n % 20 == 0:
                # Rate limits (the services' in the cache, the router's in memory) would answer most frames.
                await sync_to_async(cache.clear)()
                frame_limiter.reset()
            # (send_input, not send_to: an empty frame is a frame too)
            await ws.send_input({"type": "websocket.receive", "bytes" if isinstance(data, bytes) else "text": data})
            await ws.send_to(text_data=_marker(n, world["chat"].pk))
            frames, ended = await _answers(ws, n)
            counts["frames"] += 1
            if ended:
                problems.append(f"{label}: the socket {ended}")
                counts[f"socket {ended}"] += 1
                await _drop(ws)
                ws, connected, _ = await connect(world["user"])
                continue
            replies = [f for f in frames if f.get("type") not in ("presence.changed", "typing", "message.created",
                                                                    "receipt.updated", "conversation.changed",
                                                                    "notification.created", "notifications.read")]
            kinds = [f"error:{f.get('code')}" if f.get("type") == "error" else f.get("type") for f in replies]
            counts.update(kinds or ["no answer"])
            uncoded = [f for f in replies if f.get("type") == "error" and not f.get("code")]
            if uncoded:
                problems.append(f"{label}: an error frame without a code: {uncoded[0]}")
            if must_error and not any(f.get("type") == "error" for f in replies):
                problems.append(f"{label}: no error frame (answers: {kinds})")
        await ws.send_json_to({"type": "message.send", "conversation": world["chat"].pk, "body": "still here",
                               "client_id": "after-fuzz"})
        frames = []
        for _ in range(50):
            frame = await ws.receive_json_from(timeout=5)
            frames.append(frame)
            if frame.get("type") in ("message.ack", "error") and frame.get("client_id") == "after-fuzz":
                break
        await ws.disconnect()
    tracebacks = errors.unexpected()
    counts = dict(sorted(counts.items()), seed=SEED, seconds=round(time.monotonic() - started, 1),
                  tracebacks=len(tracebacks))
    report(record_property, f"socket fuzz ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})", counts)
    assert frames[-1]["type"] == "message.ack" and frames[-1]["client_id"] == "after-fuzz", frames[-1]
    assert not problems, (f"{len(problems)} of {len(plan)} frames broke the contract:\n" + "\n".join(problems[:400])
                          + "\n\nlogged:\n" + errors.describe(tracebacks, limit=3))
    assert not tracebacks, errors.describe(tracebacks)


def test_every_frame_type_is_fuzzed():
    """Every frame type the router handles is in FRAMES, with every field its model declares."""
    from chatsite.realtime import frame_types

    handled = frame_types()
    assert set(handled) <= set(FRAMES), f"not fuzzed: {sorted(set(handled) - set(FRAMES))}"
    for name, frame_type in handled.items():
        declared = set(frame_type.model.model_fields)
        fuzzed = {field for field, _, _ in FRAMES[name]}
        assert declared <= fuzzed, f"{name}: fields not fuzzed: {sorted(declared - fuzzed)}"
