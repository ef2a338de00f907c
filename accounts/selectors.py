"""Reads about people and their relations."""

from django.db.models import Q
from django.shortcuts import get_object_or_404

from chatsite.ids import parse_id
from chatsite.text import strip_unsafe

from .models import Block, FriendRequest, Friendship, Notification, PushSubscription, User


def get_active_user(user_id: int) -> User:
    """A person another signed-in user may look at: active accounts only."""
    return get_object_or_404(User, pk=user_id, is_active=True)


def list_people_by_ids(user, user_ids) -> list[User]:
    """The active people among ``user_ids`` (as a form posted them: what is not an id is left out), in
    the order given, without ``user`` and without repeats: e.g. the people a form had picked."""
    ids = list(dict.fromkeys(i for i in map(parse_id, user_ids) if i is not None and i != user.pk))
    found = User.objects.filter(pk__in=ids, is_active=True).in_bulk()
    return [found[i] for i in ids if i in found]


def are_friends(one_id: int, other_id: int) -> bool:
    return Friendship.objects.filter(**Friendship.pair(one_id, other_id)).exists()


def friend_ids(user_id: int) -> set[int]:
    rows = Friendship.objects.filter(Q(user_a_id=user_id) | Q(user_b_id=user_id)).values_list("user_a_id", "user_b_id")
    return {b if a == user_id else a for a, b in rows}


def list_friends(user) -> list[User]:
    return list(User.objects.filter(pk__in=friend_ids(user.pk), is_active=True).order_by("first_name", "username"))


def block_between(one_id: int, other_id: int) -> Block | None:
    """The block, in either direction, between two people (None when neither blocked the other)."""
    return Block.objects.filter(Q(blocker_id=one_id, blocked_id=other_id) | Q(blocker_id=other_id, blocked_id=one_id)).first()


def blocked_ids(user_id: int) -> set[int]:
    """The people this user blocked."""
    return set(Block.objects.filter(blocker_id=user_id).values_list("blocked_id", flat=True))


def blocked_either_way_ids(user_id: int) -> set[int]:
    """Everyone this user blocked or was blocked by."""
    rows = Block.objects.filter(Q(blocker_id=user_id) | Q(blocked_id=user_id)).values_list("blocker_id", "blocked_id")
    return {b if a == user_id else a for a, b in rows}


def blocker_ids(user_id: int, among) -> set[int]:
    """Which of ``among`` blocked this user."""
    return set(Block.objects.filter(blocked_id=user_id, blocker_id__in=list(among)).values_list("blocker_id", flat=True))


def can_see_presence(viewer_id: int, person_id: int) -> bool:
    """The profile page's name for accounts.policy.may_see_presence, where the rule lives."""
    from .policy import may_see_presence  # the policy reads through this module: imported when asked

    return may_see_presence(viewer_id, person_id)


def list_blocked(user) -> list[User]:
    return list(User.objects.filter(blocks_received__blocker=user).order_by("first_name", "username"))


def list_requests_received(user) -> list[FriendRequest]:
    return list(FriendRequest.objects.filter(to_user=user, status=FriendRequest.Status.PENDING, from_user__is_active=True)
                .select_related("from_user").order_by("-created_at"))


def list_requests_sent(user) -> list[FriendRequest]:
    return list(FriendRequest.objects.filter(from_user=user, status=FriendRequest.Status.PENDING)
                .select_related("to_user").order_by("-created_at"))


def relationship(user, other) -> dict:
    """What the profile page needs to offer the right buttons."""
    pending = FriendRequest.objects.filter(
        Q(from_user=user, to_user=other) | Q(from_user=other, to_user=user), status=FriendRequest.Status.PENDING).first()
    return {
        "friends": are_friends(user.pk, other.pk),
        "request_sent": pending if pending and pending.from_user_id == user.pk else None,
        "request_received": pending if pending and pending.to_user_id == user.pk else None,
        "i_blocked": Block.objects.filter(blocker=user, blocked=other).exists(),
    }


def count_unread_notifications(user_id: int) -> int:
    return Notification.objects.filter(recipient_id=user_id, read_at__isnull=True).count()


def list_notifications(user, limit: int = 100) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user).select_related("actor").order_by("-updated_at")[:limit])


SEARCH_MAX = 100  # characters of a search that count; nobody's name is longer


def clean_search(query) -> str:
    """A search as typed, made safe to query with (no NUL, which PostgreSQL refuses) and to show."""
    return " ".join(strip_unsafe(query if isinstance(query, str) else "").split())[:SEARCH_MAX]


def search_people(user, query: str, limit: int = 20) -> list[User]:
    query = clean_search(query).lstrip("@")
    if not query:
        return []
    match = Q(username__istartswith=query) | Q(first_name__istartswith=query) | Q(last_name__istartswith=query)
    if "@" in query:
        # A whole address finds its owner; a prefix would let anyone probe for addresses.
        match |= Q(email__iexact=query)
    if " " in query:
        first, _, last = query.partition(" ")
        match |= Q(first_name__istartswith=first, last_name__istartswith=last.strip())
    people = User.objects.filter(match, is_active=True).exclude(pk=user.pk)
    return list(people.order_by("first_name", "username")[:limit])


def list_push_subscriptions(user_id: int):
    """The person's devices with push notifications on, newest first (the settings page)."""
    return list(PushSubscription.objects.filter(user_id=user_id).only("user_agent", "created_at").order_by("-created_at"))
