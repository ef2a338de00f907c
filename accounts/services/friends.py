"""Friend requests, friendships and blocks. Every state change is idempotent: doing it twice
leaves the same state and raises nothing."""

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from chatsite import ratelimit
from chatsite.errors import InvalidInput, NotFound
from chatsite.ids import parse_id
from chatsite.realtime import publish_on_commit, user_group
from chatsite.text import clean_text

from .. import events, policy, selectors
from ..models import Block, FriendRequest, Friendship, Notification, User
from .notifications import notify, settle_notifications

Status = FriendRequest.Status
SOCIAL_RATE = "30/m"  # friend requests per person
NOTE_MAX = 200

def _other(user: User, other_id) -> User:
    try:
        other = User.objects.get(pk=parse_id(other_id), is_active=True)
    except (User.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("That person does not exist.")) from None
    if other.pk == user.pk:
        raise InvalidInput(_("That is you."))
    return other


def _tell_both(user_id: int, other_id: int) -> None:
    publish_on_commit([user_group(user_id)], events.friends_changed(other_id=other_id))
    publish_on_commit([user_group(other_id)], events.friends_changed(other_id=user_id))


def _befriend(one: User, other: User) -> None:
    try:
        with transaction.atomic():
            Friendship.objects.create(**Friendship.pair(one.pk, other.pk))
    except IntegrityError:
        pass  # already friends


@transaction.atomic
def send_friend_request(*, user: User, to_id, note: str = "") -> FriendRequest | None:
    """Ask to be friends. If they already asked you, this accepts their request instead."""
    other = _other(user, to_id)
    ratelimit.hit("social", user.pk, SOCIAL_RATE, _("You are sending friend requests too fast. Please wait a moment."))
    note = clean_text(note, max_length=NOTE_MAX, what=_("A note"), field="note")
    if not policy.may_befriend(user, other):
        return None  # to the blocked person it looks as if the request went out; nothing is stored
    if selectors.are_friends(user.pk, other.pk):
        raise InvalidInput(_("You and %(name)s are already friends.") % {"name": other.display_name})
    theirs = FriendRequest.objects.select_for_update().filter(from_user=other, to_user=user, status=Status.PENDING).first()
    if theirs:
        return respond_to_friend_request(user=user, request_id=theirs.pk, accept=True)
    mine = FriendRequest.objects.filter(from_user=user, to_user=other, status=Status.PENDING).first()
    if mine:
        return mine
    request = FriendRequest.objects.create(from_user=user, to_user=other, note=note)
    if note:
        text = _("%(name)s wants to be your friend: “%(note)s”") % {"name": user.display_name, "note": note}
    else:
        text = _("%(name)s wants to be your friend") % {"name": user.display_name}
    notify(recipient_id=other.pk, kind=Notification.Kind.FRIEND_REQUEST, actor=user, text=text,
           url=reverse("people") + "?tab=received")
    _tell_both(user.pk, other.pk)
    return request


def _request_for(user: User, request_id, *, side: str) -> FriendRequest:
    try:
        request = FriendRequest.objects.select_for_update(of=("self",)).select_related("from_user", "to_user").get(pk=parse_id(request_id))
    except (FriendRequest.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("That friend request does not exist.")) from None
    if getattr(request, f"{side}_id") != user.pk:
        raise NotFound(_("That friend request does not exist."))
    return request


@transaction.atomic
def respond_to_friend_request(*, user: User, request_id, accept: bool) -> FriendRequest:
    request = _request_for(user, request_id, side="to_user")
    wanted = Status.ACCEPTED if accept else Status.REJECTED
    if request.status == wanted:
        return request  # answered the same way twice: nothing more to do
    if request.status != Status.PENDING:
        # Translators: status is the request's state, lower case: "accepted", "rejected" or "cancelled".
        raise InvalidInput(_("That request was already %(status)s.") % {"status": request.get_status_display().lower()})
    request.status, request.responded_at = wanted, timezone.now()
    request.save(update_fields=["status", "responded_at"])
    settle_notifications(user_id=user.pk, kind=Notification.Kind.FRIEND_REQUEST, actor_id=request.from_user_id)
    if accept:
        _befriend(request.from_user, user)
        notify(recipient_id=request.from_user_id, kind=Notification.Kind.FRIEND_ACCEPTED, actor=user,
               text=_("%(name)s accepted your friend request") % {"name": user.display_name},
               url=reverse("profile_detail", args=[user.pk]))
    _tell_both(user.pk, request.from_user_id)
    return request


@transaction.atomic
def cancel_friend_request(*, user: User, request_id) -> FriendRequest:
    request = _request_for(user, request_id, side="from_user")
    if request.status == Status.CANCELLED:
        return request
    if request.status != Status.PENDING:
        # Translators: status is the request's state, lower case: "accepted", "rejected" or "cancelled".
        raise InvalidInput(_("That request was already %(status)s.") % {"status": request.get_status_display().lower()})
    request.status, request.responded_at = Status.CANCELLED, timezone.now()
    request.save(update_fields=["status", "responded_at"])
    _tell_both(user.pk, request.to_user_id)
    return request


@transaction.atomic
def unfriend(*, user: User, other_id) -> None:
    other = _other(user, other_id)
    Friendship.objects.filter(**Friendship.pair(user.pk, other.pk)).delete()
    _tell_both(user.pk, other.pk)


@transaction.atomic
def block_user(*, user: User, other_id) -> Block:
    """Block: no friend requests, direct messages, group invitations or calls from them. Ends any
    friendship and cancels pending requests both ways. They are not told."""
    other = _other(user, other_id)
    block, _created = Block.objects.get_or_create(blocker=user, blocked=other)
    Friendship.objects.filter(**Friendship.pair(user.pk, other.pk)).delete()
    FriendRequest.objects.filter(from_user__in=[user, other], to_user__in=[user, other], status=Status.PENDING).update(
        status=Status.CANCELLED, responded_at=timezone.now())
    publish_on_commit([user_group(user.pk)], events.friends_changed(other_id=other.pk))
    return block


@transaction.atomic
def unblock_user(*, user: User, other_id) -> None:
    other = _other(user, other_id)
    Block.objects.filter(blocker=user, blocked=other).delete()
    publish_on_commit([user_group(user.pk)], events.friends_changed(other_id=other.pk))
