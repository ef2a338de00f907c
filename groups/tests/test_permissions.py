"""Every group action x every kind of actor, over HTTP and over the socket: allowed actions
succeed; every other one is refused and changes nothing."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from chatsite.asgi import application
from conftest import make_user
from groups import services
from groups.models import GroupInvitation
from messaging.models import Conversation, Membership, Message
from messaging.tests.test_consumer import next_of_type, nothing_more, session_cookie_for

ACTORS = ["owner", "admin", "member", "removed", "outsider", "anonymous"]
HTMX = {"HTTP_HX_REQUEST": "true"}


def build_world():
    people = {n: make_user(n, first_name=n.capitalize()) for n in ("olga", "adam", "mia", "rita", "nina", "sam", "xavier")}
    group = services.create_group(user=people["olga"], title="Crew",
                                  member_ids=[people[n].pk for n in ("adam", "mia", "rita", "sam")])
    services.set_role(user=people["olga"], conversation_id=group.pk, member_id=people["adam"].pk, role="admin")
    services.remove_member(user=people["olga"], conversation_id=group.pk, member_id=people["rita"].pk)
    actors = {"owner": people["olga"], "admin": people["adam"], "member": people["mia"], "removed": people["rita"],
              "outsider": people["nina"], "anonymous": None}
    return group, people, actors


def snapshot(group_id):
    conversation = Conversation.objects.filter(pk=group_id).values("title", "description", "post_policy").first()
    return (
        conversation,
        sorted(Membership.objects.filter(conversation_id=group_id).values_list("user__username", "role")),
        Message.objects.filter(conversation_id=group_id).count(),
        sorted(GroupInvitation.objects.filter(conversation_id=group_id).values_list("invitee__username", "status")),
    )


# action name -> (how to call it over HTTP, the actors allowed)
HTTP_ACTIONS = {
    "view info": (lambda g, p: ("get", reverse("group_info", args=[g.pk]), {}), {"owner", "admin", "member"}),
    "change settings": (lambda g, p: ("post", reverse("group_update", args=[g.pk]), {"title": "Renamed"}), {"owner", "admin"}),
    "add member": (lambda g, p: ("post", reverse("group_member_add", args=[g.pk]), {"user_id": p["xavier"].pk}), {"owner", "admin"}),
    "remove member": (lambda g, p: ("post", reverse("group_member_remove", args=[g.pk, p["sam"].pk]), {}), {"owner", "admin"}),
    "make admin": (lambda g, p: ("post", reverse("group_member_role", args=[g.pk, p["sam"].pk]), {"role": "admin"}), {"owner", "admin"}),
    "invite": (lambda g, p: ("post", reverse("group_invite", args=[g.pk]), {"user_id": p["xavier"].pk}), {"owner", "admin"}),
    "transfer ownership": (lambda g, p: ("post", reverse("group_member_owner", args=[g.pk, p["sam"].pk]), {}), {"owner"}),
    "delete group": (lambda g, p: ("post", reverse("group_delete", args=[g.pk]), {}), {"owner"}),
    "send message": (lambda g, p: ("post", reverse("send_message", args=[g.pk]), {"body": "hi"}), {"owner", "admin", "member"}),
    "leave": (lambda g, p: ("post", reverse("group_leave", args=[g.pk]), {}), {"owner", "admin", "member"}),
}


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("action", list(HTTP_ACTIONS))
def test_http_permission_matrix(action, actor):
    group, people, actors = build_world()
    make_request, allowed = HTTP_ACTIONS[action]
    method, url, data = make_request(group, people)
    client = Client()
    if actors[actor]:
        client.force_login(actors[actor])
    before = snapshot(group.pk)
    response = getattr(client, method)(url, data, **HTMX)
    if actor in allowed:
        assert response.status_code in (200, 302), response.content[:300]
        if method == "post":
            assert snapshot(group.pk) != before
    else:
        if actor == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        else:
            assert response.status_code in (403, 404), (response.status_code, response.content[:300])
        assert snapshot(group.pk) == before


async def _socket_for(user):
    cookie = await database_sync_to_async(session_cookie_for)(user)
    communicator = WebsocketCommunicator(application, "/ws/", headers=[
        (b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie.encode())])
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from()  # hello
    return communicator


SOCKET_FRAMES = {
    "send": lambda g: {"type": "message.send", "conversation": g.pk, "body": "hi", "client_id": "perm-1"},
    "typing": lambda g: {"type": "typing", "conversation": g.pk},
    "resume": lambda g: {"type": "resume", "conversation": g.pk, "after_seq": 0},
    "read": lambda g: {"type": "read", "conversation": g.pk, "seq": 99},  # capped at the last seq
}
SOCKET_REPLY = {"send": "message.ack", "resume": "history"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("actor", ["owner", "admin", "member", "removed", "outsider"])
@pytest.mark.parametrize("frame", list(SOCKET_FRAMES))
async def test_socket_permission_matrix(frame, actor):
    group, people, actors = await database_sync_to_async(build_world)()
    before = await database_sync_to_async(snapshot)(group.pk)
    observer = await _socket_for(people["sam"])  # another member, to see what the action tells others
    ws = await _socket_for(actors[actor])
    await ws.send_json_to(SOCKET_FRAMES[frame](group))
    allowed = actor in {"owner", "admin", "member"}
    if allowed and frame in SOCKET_REPLY:
        await next_of_type(ws, SOCKET_REPLY[frame])
    elif allowed and frame == "typing":
        seen = await next_of_type(observer, "typing.started")
        assert seen["user_id"] == actors[actor].pk
    elif allowed and frame == "read":
        seen = await next_of_type(observer, "receipt.updated")
        assert seen["user_id"] == actors[actor].pk
    else:
        reply = await next_of_type(ws, "error")
        assert "not a member" in reply["error"]
        assert await database_sync_to_async(snapshot)(group.pk) == before
        assert await nothing_more(observer, timeout=0.2)
    await ws.disconnect()
    await observer.disconnect()
