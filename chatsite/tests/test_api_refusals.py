"""Every API endpoint's refusals, in tables: anonymous callers (401), read-only tokens writing
(403 read_only_token), outsiders and removed members (404, the same answer as for an id that does
not exist: nothing leaks), and people across a block (403). A refused call changes nothing."""

import re

import pytest

from accounts.models import Block, FriendRequest, Friendship, Notification
from accounts.services import block_user, notify
from chatsite.api import api
from conftest import ApiCaller, make_user
from groups import services as group_services
from groups.models import GroupInvitation
from messaging import services
from messaging.models import Attachment, Membership, Message, Reaction, Star

pytestmark = pytest.mark.django_db

READS = {"get"}


def all_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the schema, its path parameters filled with 1."""
    schema = api.get_openapi_schema()
    return [(method, re.sub(r"\{[^}]+\}", "1", path)) for path, ops in schema["paths"].items() for method in ops]


def snapshot() -> tuple:
    """Everything any endpoint could change, counted."""
    return (
        sorted(Message.objects.values_list("pk", "body", "deleted_at")),
        sorted(Membership.objects.values_list("conversation_id", "user_id", "role", "pinned", "muted", "last_read_seq")),
        Reaction.objects.count(), Star.objects.count(),
        sorted(Attachment.objects.values_list("pk", "message_id")),
        sorted(GroupInvitation.objects.values_list("pk", "status")),
        sorted(FriendRequest.objects.values_list("pk", "status")), Friendship.objects.count(), Block.objects.count(),
        Notification.objects.filter(read_at__isnull=True).count(),
    )


def test_every_operation_refuses_anonymous_callers(alice):
    anonymous = ApiCaller(None)
    operations = all_operations()
    assert len(operations) > 40  # the table covers the whole API, not a few routes
    before = snapshot()
    for method, path in operations:
        response = getattr(anonymous, method)(path)
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.json()["error"]["code"] == "unauthorized", (method, path)
        assert response["WWW-Authenticate"] == "Bearer"
    assert snapshot() == before


def test_every_write_refuses_a_read_only_token(api_as, alice):
    reader = api_as(alice, scope="read")
    before = snapshot()
    # A socket ticket changes nothing, and its socket keeps the token's scope (test_api_sockets.py).
    writes = [(m, p) for m, p in all_operations() if m not in READS and p != "/api/v1/socket/ticket"]
    assert writes
    for method, path in writes:
        response = getattr(reader, method)(path, {})
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.json()["error"]["code"] == "read_only_token", (method, path)
    assert snapshot() == before


def test_a_read_only_token_reads(api_as, alice, direct, send):
    send(alice, "hello")
    reader = api_as(alice, scope="read")
    for path in ("/me", "/conversations", f"/conversations/{direct.pk}", f"/conversations/{direct.pk}/messages",
                 "/notifications", "/friends", "/invitations", "/calls", "/starred"):
        assert reader.get(path).status_code == 200, path


# --- outsiders and removed members: 404, as for what does not exist ------------------------------

@pytest.fixture
def world():
    olga, mia, rita, nina, xavier = (make_user(n) for n in ("olga", "mia", "rita", "nina", "xavier"))
    group = group_services.create_group(user=olga, title="Crew", member_ids=[mia.pk, rita.pk])
    said = services.send_message(user=mia, conversation_id=group.pk, body="inside").message
    upload = Attachment.objects.create(uploader=olga, file="attachments/aa/x", size=1, original_name="x.txt",
                                       content_type="text/plain")
    with_file = services.send_message(user=olga, conversation_id=group.pk, body="",
                                      attachment_ids=[upload.pk]).message
    invitation = group_services.invite(user=olga, conversation_id=group.pk, invitee_id=xavier.pk)
    group_services.remove_member(user=olga, conversation_id=group.pk, member_id=rita.pk)
    return {"group": group, "message": said, "file_message": with_file, "attachment": upload, "invitation": invitation,
            "people": {"owner": olga, "member": mia, "removed": rita, "outsider": nina, "invitee": xavier}}


MISSING = 10**12  # an id nothing has

# name -> (method, path from the world's ids, body): the conversation's, its messages' and files'.
SCOPED = {
    "conversation detail": ("get", "/conversations/{group}", None),
    "pin": ("patch", "/conversations/{group}", {"pinned": True}),
    "mark read": ("post", "/conversations/{group}/read", {"seq": 1}),
    "history": ("get", "/conversations/{group}/messages", None),
    "send": ("post", "/conversations/{group}/messages", {"body": "let me in", "client_id": "x-1"}),
    "message": ("get", "/messages/{message}", None),
    "edit": ("patch", "/messages/{message}", {"body": "changed"}),
    "delete": ("delete", "/messages/{message}", None),
    "react": ("put", "/messages/{message}/reactions", {"emoji": "👍"}),
    "unreact": ("delete", "/messages/{message}/reactions?emoji=%F0%9F%91%8D", None),
    "star": ("put", "/messages/{message}/star", None),
    "unstar": ("delete", "/messages/{message}/star", None),
    "download": ("get", "/attachments/{attachment}", None),
    "group settings": ("patch", "/groups/{group}", {"title": "Taken"}),
    "delete group": ("delete", "/groups/{group}", None),
    "transfer ownership": ("post", "/groups/{group}/owner", {"user_id": MISSING}),
    "members": ("get", "/groups/{group}/members", None),
    "add member": ("post", "/groups/{group}/members", {"user_ids": [MISSING]}),
    "remove member": ("delete", "/groups/{group}/members/{owner}", None),
    "set role": ("patch", "/groups/{group}/members/{owner}", {"role": "member"}),
    "leave": ("post", "/groups/{group}/leave", {}),
    "group invitations": ("get", "/groups/{group}/invitations", None),
    "invite": ("post", "/groups/{group}/invitations", {"user_id": MISSING}),
    "accept invitation": ("post", "/invitations/{invitation}/accept", None),
    "decline invitation": ("post", "/invitations/{invitation}/decline", None),
    "revoke invitation": ("post", "/invitations/{invitation}/revoke", None),
}


def _path(template: str, ids: dict) -> str:
    return template.format(**ids)


@pytest.mark.parametrize("actor", ["outsider", "removed"])
@pytest.mark.parametrize("action", list(SCOPED))
def test_outsiders_and_removed_members_get_what_a_missing_id_gets(api_as, world, action, actor):
    method, template, body = SCOPED[action]
    caller = api_as(world["people"][actor])
    real = {"group": world["group"].pk, "message": world["message"].pk, "attachment": world["attachment"].pk,
            "invitation": world["invitation"].pk, "owner": world["people"]["owner"].pk}
    before = snapshot()
    refused = getattr(caller, method)(_path(template, real), body)
    assert refused.status_code == 404, (refused.status_code, refused.content[:300])
    assert snapshot() == before
    missing = getattr(caller, method)(_path(template, {**real, **{k: MISSING for k in real if k != "owner"}}), body)
    assert (refused.status_code, refused.json()) == (missing.status_code, missing.json())


@pytest.mark.parametrize("action", [a for a in SCOPED if a not in ("accept invitation", "decline invitation")])
def test_a_member_is_not_refused_what_outsiders_are(api_as, world, action):
    """The table above refuses for the right reason: the same calls by a member get past membership."""
    method, template, body = SCOPED[action]
    real = {"group": world["group"].pk, "message": world["message"].pk, "attachment": world["attachment"].pk,
            "invitation": world["invitation"].pk, "owner": world["people"]["owner"].pk}
    if action == "download":
        real["attachment"] = world["attachment"].pk
    response = getattr(api_as(world["people"]["member"]), method)(_path(template, real), body)
    assert response.status_code != 404 or response.json()["error"]["code"] not in ("not_member",), response.content
    if action not in ("download", "add member", "invite", "transfer ownership"):  # (a made-up file / person: 404)
        assert response.status_code < 404, (response.status_code, response.content[:300])


# --- across a block ------------------------------------------------------------------------------

@pytest.fixture
def estranged(alice, bob, direct):
    said = services.send_message(user=bob, conversation_id=direct.pk, body="before the block").message
    mine = services.send_message(user=alice, conversation_id=direct.pk, body="mine").message
    block_user(user=bob, other_id=alice.pk)
    return {"blocked": alice, "blocker": bob, "theirs": {alice.pk: said, bob.pk: mine}, "mine": {alice.pk: mine,
                                                                                                   bob.pk: said}}


# name -> (method, path, body); {conversation}, {other}, {theirs} (a message of the other), {mine}
ACROSS_BLOCK = {
    "send": ("post", "/conversations/{conversation}/messages", {"body": "hello?"}),
    "edit": ("patch", "/messages/{mine}", {"body": "edited"}),
    "react": ("put", "/messages/{theirs}/reactions", {"emoji": "👍"}),
    "open direct chat": ("post", "/conversations/direct", {"user_id": "{other}"}),
    "invite to a group": ("post", "/groups", {"title": "Us", "member_ids": ["{other}"]}),
}


@pytest.mark.parametrize("actor,code", [("blocked", "friends_only"), ("blocker", "blocked")])
@pytest.mark.parametrize("action", list(ACROSS_BLOCK))
def test_nothing_reaches_across_a_block(api_as, direct, estranged, action, actor, code):
    person = estranged[actor]
    other = estranged["blocker" if actor == "blocked" else "blocked"]
    ids = {"conversation": direct.pk, "other": other.pk, "theirs": estranged["theirs"][person.pk].pk,
           "mine": estranged["mine"][person.pk].pk}
    method, template, body = ACROSS_BLOCK[action]
    if body:
        body = {k: (int(_path(v, ids)) if isinstance(v, str) and v.startswith("{") else
                    [int(_path(i, ids)) for i in v] if isinstance(v, list) else v) for k, v in body.items()}
    before = snapshot()
    refused = getattr(api_as(person), method)(_path(template, ids), body)
    assert refused.status_code == 403, (refused.status_code, refused.content[:300])
    assert refused.json()["error"]["code"] == code  # the one who was blocked is not told of the block
    assert snapshot() == before


def test_history_stays_readable_across_a_block(api_as, direct, estranged):
    for person in (estranged["blocked"], estranged["blocker"]):
        page = api_as(person).get(f"/conversations/{direct.pk}/messages")
        assert page.status_code == 200 and len(page.json()["messages"]) == 2


def test_a_notification_of_someone_else_is_not_mine_to_mark(api_as, alice, bob):
    theirs = notify(recipient_id=bob.pk, kind="mention", text="for Bob")
    assert api_as(alice).post(f"/notifications/{theirs.pk}/read").status_code == 204
    theirs.refresh_from_db()
    assert theirs.read_at is None
