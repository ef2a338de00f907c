"""Who may contact whom: the one answer to "may A message / call / add to a group / invite /
befriend / see the presence of / see the typing and receipts of B". Every service asks here; none
keeps its own copy of a rule.

The rules
- A block stops contact both ways. Neither person may start a direct chat with the other, send,
  edit or react in the direct chat they had, call the other, add or invite the other to a group,
  or send a friend request. Deleting one's own message stays possible (it takes words back, it
  does not reach out), and so does reading the history both already hold.
- A block is never revealed. The one who blocked hears "You blocked X. Unblock them ..." (code
  ``blocked``); the one who was blocked hears what a stranger hears from someone who accepts
  contact from friends only (code ``friends_only``). A friend request to someone who blocked you
  seems to go out and stores nothing.
- "Friends only" (``User.direct_messages_from``) is about starting contact: only friends may start
  a direct chat, call without a direct chat, or add or invite the person to a group. A direct chat
  that already exists stays usable.
- Groups stay usable across a block: every member's messages, edits and reactions reach every
  member (the blocker's page folds the blocked person's messages away), and so do read receipts,
  which are part of the group's shared "seen by" view, not contact between the two. What is
  personal is hidden across a block in every chat: presence (online, away, last seen) and typing.
- In a direct chat across a block nothing live crosses: no typing, no read or delivery receipts.
- Presence is shown to friends and to people who share a conversation, never across a block.
- Calls follow the direct chat: a call may be placed where a message may be sent.

Live events that go to a conversation's channel-layer group but must not reach some of its members
carry ``exclude_user_ids`` (see ``Audience``); the socket drops them for those people.

accounts knows people and their relations, not conversations: which people share a conversation
is registered here by messaging at start (``register_shares_conversation``), so nothing in
accounts imports the apps above it.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from chatsite.errors import ErrorCode, NotAllowed

from . import selectors
from .models import Block, User

# --- the relations every rule starts from ---------------------------------------------------------

are_friends = selectors.are_friends
friend_ids = selectors.friend_ids
block_between = selectors.block_between


def estranged_ids(user_id: int) -> set[int]:
    """Everyone this user blocked or was blocked by: the people who see nothing personal of them."""
    return selectors.blocked_either_way_ids(user_id)


def blocker_ids(user_id: int, among: Iterable[int]) -> set[int]:
    """Which of ``among`` blocked this user: they are not notified of the user's mentions."""
    return selectors.blocker_ids(user_id, among)


def estranged(one_id: int, other_id: int) -> bool:
    return one_id != other_id and block_between(one_id, other_id) is not None


def block_exists_sql(one: str, other: str) -> str:
    """An SQL condition that is true when the people in the columns ``one`` and ``other`` blocked
    each other, either way: for a hot path that asks in the same query as everything else
    (messaging.store). What a true answer means is decided by ``check_direct_message``."""
    table = connection.ops.quote_name(Block._meta.db_table)
    blocker = connection.ops.quote_name(Block._meta.get_field("blocker").column)
    blocked = connection.ops.quote_name(Block._meta.get_field("blocked").column)
    return (f"EXISTS (SELECT 1 FROM {table} pb WHERE (pb.{blocker} = {one} AND pb.{blocked} = {other}) "
            f"OR (pb.{blocker} = {other} AND pb.{blocked} = {one}))")


def estranged_from(person_id: int, column: str) -> Exists:
    """An ORM condition: the person in ``column`` (an OuterRef path) and ``person_id`` blocked each
    other, either way. For a query that reads people anyway (one query, not one more per page)."""
    other = OuterRef(column)
    return Exists(Block.objects.filter(Q(blocker_id=person_id, blocked_id=other) | Q(blocker_id=other, blocked_id=person_id)))


# --- what the higher layers know ------------------------------------------------------------------

def _nobody_shares(one_id: int, other_id: int) -> bool:
    return False


_shares_conversation: Callable[[int, int], bool] = _nobody_shares


def register_shares_conversation(answer: Callable[[int, int], bool]) -> None:
    """messaging tells, at start, whether two people share a conversation (for presence)."""
    global _shares_conversation
    _shares_conversation = answer


# --- contact: decisions that refuse with the right words ------------------------------------------

def _person(other) -> User:
    return other if isinstance(other, User) else User.objects.get(pk=other)


def _friends_only_chat(other: User) -> NotAllowed:
    return NotAllowed(_("%(name)s accepts chats from friends only. Send a friend request first.")
                      % {"name": other.display_name}, code=ErrorCode.FRIENDS_ONLY)


def _refuse_across_block(actor: User, other: User, block: Block, *, blocker_says: str,
                         blocked_hears: Callable[[User], NotAllowed]) -> None:
    if block.blocker_id == actor.pk:
        raise NotAllowed(blocker_says % {"name": other.display_name}, code=ErrorCode.BLOCKED)
    raise blocked_hears(other)  # the words a stranger hears: the block stays secret


def check_direct_message(actor: User, other, *, blocked: bool | None = None) -> None:
    """May ``actor`` send, edit or react in the direct chat they have with ``other`` (a User or
    an id)? ``blocked``: the answer of ``block_exists_sql`` when the caller's query already asked
    (False skips the lookup); None looks it up."""
    if blocked is False:
        return
    other_id = other.pk if isinstance(other, User) else other
    block = block_between(actor.pk, other_id)
    if block is None:
        return
    _refuse_across_block(actor, _person(other), block, blocker_says=_("You blocked %(name)s. Unblock them to chat."),
                         blocked_hears=_friends_only_chat)


def check_direct_chat(actor: User, other: User, *, exists: bool) -> None:
    """May ``actor`` open the direct chat with ``other``: the one they have (``exists``), or a new one?"""
    check_direct_message(actor, other)
    if not exists and other.direct_messages_from == "friends" and not are_friends(actor.pk, other.pk):
        raise _friends_only_chat(other)


def check_call(actor: User, other: User, *, share_direct_chat: bool) -> None:
    """May ``actor`` call ``other``? Where a message may be sent: not across a block; someone who
    accepts contact from friends only is called by friends or in the direct chat they already have."""
    def friends_only(person: User) -> NotAllowed:
        return NotAllowed(_("%(name)s accepts calls from friends only. Send a friend request first.")
                          % {"name": person.display_name}, code=ErrorCode.FRIENDS_ONLY)

    block = block_between(actor.pk, other.pk)
    if block is not None:
        _refuse_across_block(actor, other, block, blocker_says=_("You blocked %(name)s. Unblock them to call."),
                             blocked_hears=friends_only)
    if not share_direct_chat and other.direct_messages_from == "friends" and not are_friends(actor.pk, other.pk):
        raise friends_only(other)


def check_group_add(actor: User, people: list[User]) -> None:
    """May ``actor`` put ``people`` in a group, by creating it with them, adding or inviting them?
    One query for the blocks of the whole list; friendships only when someone needs them."""
    if not people:
        return
    ids = [p.pk for p in people]
    rows = Block.objects.filter(Q(blocker_id=actor.pk, blocked_id__in=ids) | Q(blocked_id=actor.pk, blocker_id__in=ids))
    i_blocked, blocked_me = set(), set()
    for blocker_id, blocked_id in rows.values_list("blocker_id", "blocked_id"):
        if blocker_id == actor.pk:
            i_blocked.add(blocked_id)
        else:
            blocked_me.add(blocker_id)
    friends = friend_ids(actor.pk) if any(p.direct_messages_from == "friends" for p in people) else set()
    for person in people:
        if person.pk in i_blocked:
            raise NotAllowed(_("You blocked %(name)s. Unblock them to add them to a group.")
                             % {"name": person.display_name}, code=ErrorCode.BLOCKED)
        if person.pk in blocked_me or (person.direct_messages_from == "friends" and person.pk not in friends):
            raise NotAllowed(_("Only friends of %(name)s can add or invite them to a group.")
                             % {"name": person.display_name}, code=ErrorCode.FRIENDS_ONLY)


def may_befriend(actor: User, other: User) -> bool:
    """May ``actor`` send ``other`` a friend request? Refused, with words, to the one who blocked;
    False, with none, to the one who was blocked: their request must seem sent and store nothing."""
    block = block_between(actor.pk, other.pk)
    if block is None:
        return True
    if block.blocker_id == actor.pk:
        raise NotAllowed(_("You blocked %(name)s. Unblock them first.") % {"name": other.display_name},
                         code=ErrorCode.BLOCKED)
    return False


# --- what one person sees of another --------------------------------------------------------------

def may_see_presence(viewer_id: int, person_id: int) -> bool:
    """Presence is for friends and people who share a conversation, never across a block."""
    if viewer_id == person_id:
        return True
    if estranged(viewer_id, person_id):
        return False
    return are_friends(viewer_id, person_id) or _shares_conversation(viewer_id, person_id)


def may_see_typing(viewer_id: int, typer_id: int) -> bool:
    """Typing shows in every chat the two share, except across a block."""
    return not estranged(viewer_id, typer_id)


def may_see_receipts(viewer_id: int, reader_id: int, *, direct: bool) -> bool:
    """Receipts are hidden across a block in a direct chat; a group's "seen by" is shared by all."""
    return may_see_receipts_of(direct and estranged(viewer_id, reader_id), direct=direct)


def may_see_receipts_of(estranged: bool, *, direct: bool) -> bool:
    """The same rule, when the caller has already asked whether the two are estranged."""
    return not (direct and estranged)


@dataclass(frozen=True)
class Audience:
    """Who among a conversation's members hears a live event about one person: ``publish`` False
    sends it to nobody; ``exclude_user_ids`` go into the event as the socket's routing key."""

    publish: bool = True
    exclude_user_ids: tuple[int, ...] = ()

    def routing(self) -> dict:
        return {"exclude_user_ids": list(self.exclude_user_ids)} if self.exclude_user_ids else {}


def typing_audience(typer_id: int, *, direct_with: int | None) -> Audience:
    """``direct_with``: the other person of a direct chat, None for a group."""
    if direct_with is not None:
        return Audience(publish=may_see_typing(direct_with, typer_id))
    return presence_audience(typer_id)


def receipt_audience(reader_id: int, *, direct_with: int | None) -> Audience:
    if direct_with is not None:
        return Audience(publish=may_see_receipts(direct_with, reader_id, direct=True))
    return Audience()


def presence_audience(person_id: int) -> Audience:
    """Presence (and typing in groups) goes to everyone it is sent to but the estranged."""
    return Audience(exclude_user_ids=tuple(sorted(estranged_ids(person_id))))
