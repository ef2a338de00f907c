"""The API's people endpoints: the caller, profiles, people search, friends, blocks, notifications,
personal access tokens. Thin: services and selectors do the work."""

from datetime import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile

from chatsite.apikit import ERRORS, check_form, responses
from chatsite.errors import InvalidInput, NotAllowed
from chatsite.ids import parse_id

from . import selectors, services
from .forms import ApiTokenForm, ProfileForm
from .services import tokens

router = Router(tags=["me"])


class PersonOut(Schema):
    id: int
    username: str
    display_name: str
    about: str
    avatar_url: str | None


class MeOut(PersonOut):
    email: str
    first_name: str
    last_name: str


def person_out(person) -> dict:
    return {
        "id": person.pk, "username": person.username, "display_name": person.display_name,
        "about": person.about,
        "avatar_url": reverse("avatar", args=[person.pk]) if person.avatar else None,
    }


class ProfileIn(Schema):
    """Only the fields sent change."""
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    about: str | None = None


def me_out(user) -> dict:
    return {**person_out(user), "email": user.email, "first_name": user.first_name, "last_name": user.last_name}


@router.get("/me", response=responses(MeOut), summary="The signed-in person")
def me(request):
    return me_out(request.user)


@router.patch("/me", response=responses(MeOut), summary="Change my profile")
def update_me(request, changes: ProfileIn):
    user = request.user
    fields = ProfileForm.Meta.fields
    data = {name: getattr(user, name) for name in fields} | changes.dict(exclude_none=True)
    cleaned = check_form(ProfileForm(data, instance=user))
    try:
        services.update_profile(user=user, **{name: cleaned[name] for name in fields})
    finally:
        user.refresh_from_db()  # the form wrote its values onto the instance
    return me_out(user)


@router.post("/me/avatar", response=responses(MeOut), summary="Set my avatar",
             description="Multipart ``avatar``: JPEG, PNG, GIF or WebP, cropped to a square (the site's rules).")
def set_avatar(request, avatar: File[UploadedFile]):
    user = request.user
    fields = ProfileForm.Meta.fields
    data = {name: getattr(user, name) for name in fields}
    cleaned = check_form(ProfileForm(data, {"avatar": avatar}, instance=user))
    try:
        services.update_profile(user=user, **{name: cleaned[name] for name in fields}, avatar=cleaned["avatar"])
    except ValidationError as error:
        raise InvalidInput(error.messages[0], field="avatar") from None
    finally:
        user.refresh_from_db()
    return me_out(user)


@router.delete("/me/avatar", response=responses(MeOut), summary="Remove my avatar")
def clear_avatar(request):
    user = request.user
    services.update_profile(user=user, **{name: getattr(user, name) for name in ProfileForm.Meta.fields},
                            clear_avatar=True)
    return me_out(user)


# --- people, friends, blocks --------------------------------------------------------------------

people_router = Router(tags=["people"])


class RelationOut(Schema):
    friends: bool
    request_sent_id: int | None  # my pending request to them
    request_received_id: int | None  # their pending request to me
    i_blocked: bool


class ProfileOut(PersonOut):
    relation: RelationOut | None  # None for myself


class FriendRequestOut(Schema):
    id: int
    from_user: PersonOut
    to_user: PersonOut
    note: str
    status: str  # pending | accepted | rejected | cancelled
    created_at: datetime


class FriendRequestIn(Schema):
    user_id: int
    note: str = ""


class FriendRequestSent(Schema):
    # None when nothing was stored: to someone who blocked you a request looks sent all the same
    # (accounts.policy.may_befriend), so a client shows "sent" either way.
    request: FriendRequestOut | None


def request_out(friend_request) -> dict:
    return {"id": friend_request.pk, "from_user": person_out(friend_request.from_user),
            "to_user": person_out(friend_request.to_user), "note": friend_request.note,
            "status": friend_request.status, "created_at": friend_request.created_at}


@people_router.get("/people", response=responses(list[PersonOut]), summary="Find people",
                   description="By the start of a username, first or last name, or by a whole email address.")
def search_people(request, q: str = Query(..., max_length=selectors.SEARCH_MAX),
                  limit: int = Query(20, ge=1, le=50)):
    return [person_out(p) for p in selectors.search_people(request.user, q, limit=limit)]


@people_router.get("/people/{user_id}", response=responses(ProfileOut), summary="A person's profile")
def profile(request, user_id: int):
    person = selectors.get_active_user(parse_id(user_id) or 0)
    relation = None
    if person != request.user:
        found = selectors.relationship(request.user, person)
        relation = {"friends": found["friends"], "i_blocked": found["i_blocked"],
                    "request_sent_id": found["request_sent"] and found["request_sent"].pk,
                    "request_received_id": found["request_received"] and found["request_received"].pk}
    return {**person_out(person), "relation": relation}


@people_router.get("/friends", response=responses(list[PersonOut]), summary="My friends")
def friends(request):
    return [person_out(p) for p in selectors.list_friends(request.user)]


@people_router.delete("/friends/{user_id}", response={204: None, **ERRORS}, summary="Unfriend")
def unfriend(request, user_id: int):
    services.unfriend(user=request.user, other_id=user_id)
    return Status(204, None)


@people_router.get("/friend-requests", response=responses(list[FriendRequestOut]), summary="Pending friend requests",
                   description="``received`` (to me) or ``sent`` (by me).")
def friend_requests(request, direction: Literal["received", "sent"] = "received"):
    found = (selectors.list_requests_received if direction == "received" else selectors.list_requests_sent)(request.user)
    return [request_out(r) for r in found]


@people_router.post("/friend-requests", response={201: FriendRequestSent, **ERRORS}, summary="Ask to be friends",
                    description="When they already asked you, this accepts their request.")
def send_friend_request(request, data: FriendRequestIn):
    sent = services.send_friend_request(user=request.user, to_id=data.user_id, note=data.note)
    return Status(201, {"request": request_out(sent) if sent else None})


def _answer(request, request_id: int, answer: str):
    if answer == "cancel":
        found = services.cancel_friend_request(user=request.user, request_id=request_id)
    else:
        found = services.respond_to_friend_request(user=request.user, request_id=request_id, accept=answer == "accept")
    return request_out(found)


@people_router.post("/friend-requests/{request_id}/accept", response=responses(FriendRequestOut), summary="Accept")
def accept_friend_request(request, request_id: int):
    return _answer(request, request_id, "accept")


@people_router.post("/friend-requests/{request_id}/reject", response=responses(FriendRequestOut), summary="Reject")
def reject_friend_request(request, request_id: int):
    return _answer(request, request_id, "reject")


@people_router.post("/friend-requests/{request_id}/cancel", response=responses(FriendRequestOut),
                    summary="Cancel my request")
def cancel_friend_request(request, request_id: int):
    return _answer(request, request_id, "cancel")


@people_router.get("/blocks", response=responses(list[PersonOut]), summary="People I blocked")
def blocks(request):
    return [person_out(p) for p in selectors.list_blocked(request.user)]


@people_router.put("/blocks/{user_id}", response={204: None, **ERRORS}, summary="Block someone",
                   description="No friend requests, direct messages, invitations or calls from them; they are not told.")
def block(request, user_id: int):
    services.block_user(user=request.user, other_id=user_id)
    return Status(204, None)


@people_router.delete("/blocks/{user_id}", response={204: None, **ERRORS}, summary="Unblock")
def unblock(request, user_id: int):
    services.unblock_user(user=request.user, other_id=user_id)
    return Status(204, None)


# --- notifications ------------------------------------------------------------------------------

notification_router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str  # friend_request | friend_accepted | group_invitation | mention | missed_call | message
    text: str
    url: str  # the site's page it is about
    actor: PersonOut | None
    conversation_id: int | None
    count: int  # how many times it happened while unread
    created_at: datetime
    updated_at: datetime
    read: bool


class NotificationList(Schema):
    unread_count: int
    notifications: list[NotificationOut]


@notification_router.get("/notifications", response=responses(NotificationList), summary="My notifications")
def notifications(request):
    found = selectors.list_notifications(request.user)
    return {"unread_count": selectors.count_unread_notifications(request.user.pk), "notifications": [
        {"id": n.pk, "kind": n.kind, "text": n.text, "url": n.url, "actor": person_out(n.actor) if n.actor else None,
         "conversation_id": n.conversation_id, "count": n.count, "created_at": n.created_at,
         "updated_at": n.updated_at, "read": n.read_at is not None} for n in found]}


@notification_router.post("/notifications/{notification_id}/read", response={204: None, **ERRORS}, summary="Mark read")
def notification_read(request, notification_id: int):
    services.mark_notification_read(user=request.user, notification_id=notification_id)
    return Status(204, None)


@notification_router.post("/notifications/read-all", response={204: None, **ERRORS}, summary="Mark all read")
def notifications_read_all(request):
    services.mark_all_notifications_read(user=request.user)
    return Status(204, None)


# --- personal access tokens ---------------------------------------------------------------------

token_router = Router(tags=["tokens"])


class TokenOut(Schema):
    id: int
    name: str
    scope: str  # read | write
    prefix: str  # the token's first characters, to tell tokens apart
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class NewTokenOut(TokenOut):
    token: str  # the whole token: shown this once, never again


class TokenIn(Schema):
    name: str
    scope: Literal["read", "write"] = "write"
    expires_in_days: Literal[30, 90, 365] | None = Field(90, description="None: until revoked")


def token_out(token) -> dict:
    return {"id": token.pk, "name": token.name, "scope": token.scope, "prefix": token.prefix,
            "created_at": token.created_at, "last_used_at": token.last_used_at, "expires_at": token.expires_at}


def _signed_in_person(request) -> None:
    # Tokens are made by a person who signed in (the site, or an app's JWT), never by a token:
    # a leaked token must not be able to mint others that outlive its revocation.
    if request.api_token is not None:
        raise NotAllowed(_("Make tokens with an app's sign-in or on the site's API tokens page, not with a token."))


@token_router.get("/tokens", response=responses(list[TokenOut]), summary="My personal access tokens")
def list_tokens(request):
    return [token_out(t) for t in tokens.list_api_tokens(user=request.user)]


@token_router.post("/tokens", response={201: NewTokenOut, **ERRORS}, summary="Make a personal access token",
                   description="With an app's access token (JWT) only. The answer's ``token`` is shown once.")
def make_token(request, data: TokenIn):
    _signed_in_person(request)
    form = ApiTokenForm({"name": data.name, "scope": data.scope,
                         "expires_in_days": "" if data.expires_in_days is None else str(data.expires_in_days)})
    made = tokens.create_api_token(user=request.user, **check_form(form))
    return Status(201, {**token_out(made.token), "token": made.secret})


@token_router.delete("/tokens/{token_id}", response={204: None, **ERRORS}, summary="Revoke a token",
                     description="It stops working at once, on the API and the socket.")
def revoke_token(request, token_id: int):
    tokens.revoke_api_token(user=request.user, token_id=parse_id(token_id) or 0)
    return Status(204, None)
