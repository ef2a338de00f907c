"""Reads. ``access_*`` fetch and authorise in one call: a non-member gets NotFound, never a hint
that the thing exists."""

import re
from collections import defaultdict

from django.db.models import Subquery, Sum, prefetch_related_objects
from django.utils.translation import gettext as _

from accounts import policy, presence_reads
from accounts.selectors import clean_search, search_people  # noqa: F401 (where messaging's pages and groups find them)
from chatsite.errors import ErrorCode, NotFound
from chatsite.ids import parse_id

from .models import Attachment, Conversation, Membership, Mention, Message, Reaction, Star

PAGE_SIZE = 50


def access_membership(user, conversation_id) -> Membership:
    conversation_id = parse_id(conversation_id)
    membership = conversation_id and Membership.objects.select_related("conversation").filter(
        conversation_id=conversation_id, user=user).first()
    if not membership:
        raise NotFound(_("That conversation does not exist or you are not a member of it."), code=ErrorCode.NOT_MEMBER)
    return membership


def access_attachment(user, attachment_id) -> Attachment:
    attachment = parse_id(attachment_id) and Attachment.objects.filter(pk=parse_id(attachment_id)).first()
    if not attachment or attachment.message_id is None:
        raise NotFound(_("That file does not exist."))
    try:
        message = access_message(user, attachment.message_id)
    except NotFound:  # an outsider hears what a missing file says: nothing tells them it exists
        raise NotFound(_("That file does not exist.")) from None
    if message.is_deleted:
        raise NotFound(_("That file was deleted."))
    return attachment


def count_stored_bytes(user) -> int:
    """What the person keeps in storage: their uploads, claimed or not (pending S3 ones count at the
    size they asked for, so a burst of presigned POSTs cannot overrun the quota)."""
    return Attachment.objects.filter(uploader=user).aggregate(total=Sum("size"))["total"] or 0


def access_message(user, message_id) -> Message:
    message = parse_id(message_id) and Message.objects.select_related("conversation", "sender").filter(
        pk=parse_id(message_id)).first()
    if not message:
        raise NotFound(_("That message does not exist."))
    if not Membership.objects.filter(conversation_id=message.conversation_id, user=user).exists():
        raise NotFound(_("That message does not exist."))
    return message


def list_conversation_ids(user) -> list[int]:
    return list(Membership.objects.filter(user=user).values_list("conversation_id", flat=True))


def shares_conversation(one_id: int, other_id: int) -> bool:
    """Whether two people are members of one conversation (any kind); registered with accounts.policy."""
    return Membership.objects.filter(user_id=one_id, conversation__memberships__user_id=other_id).exists()


def list_member_ids(conversation_id: int) -> list[int]:
    return list(Membership.objects.filter(conversation_id=conversation_id).values_list("user_id", flat=True))


def list_member_summaries(conversation_id: int) -> list[dict]:
    """Members as plain data for the chat page (and the ``members.changed`` event): mention
    autocomplete, "N members" and "Seen by N" (``joined_at``: see groups.selectors.list_seen_by)."""
    rows = (Membership.objects.filter(conversation_id=conversation_id)
            .values_list("user_id", "user__username", "user__first_name", "user__last_name", "last_read_seq",
                         "joined_at")
            .order_by("user__first_name", "user__username"))
    return [{"id": uid, "username": username, "name": f"{first} {last}".strip() or username, "read_seq": read,
             "joined_at": joined.isoformat()}
            for uid, username, first, last, read, joined in rows]


def _with_counterparts(user, memberships: list[Membership]) -> list[Membership]:
    """Give each direct chat's membership ``.counterpart``: the other person (one query for all)."""
    direct_ids = [m.conversation_id for m in memberships if m.conversation.kind == Conversation.Kind.DIRECT]
    others = {}
    if direct_ids:
        for other in (Membership.objects.filter(conversation_id__in=direct_ids).exclude(user=user)
                      .select_related("user")):
            others[other.conversation_id] = other
    statuses = presence_reads.statuses([o.user_id for o in others.values()]) if others else {}
    if others:  # nobody sees the presence of someone across a block
        for estranged in policy.estranged_ids(user.pk):
            statuses[estranged] = presence_reads.OFFLINE
    for membership in memberships:
        other = others.get(membership.conversation_id)
        membership.counterpart = other.user if other else None
        membership.counterpart_membership = other
        membership.counterpart_status = statuses.get(other.user_id, "offline") if other else None
    return memberships


SIDEBAR_PAGE_SIZE = 30


def list_conversations(user, limit: int = SIDEBAR_PAGE_SIZE, offset: int = 0) -> list[Membership]:
    """The sidebar: pinned first, then by last activity. Two queries whatever the numbers; the page
    shows the first ``SIDEBAR_PAGE_SIZE`` and loads more as the list is scrolled."""
    memberships = list(
        Membership.objects.filter(user=user)
        .select_related("conversation", "conversation__last_message", "conversation__last_message__sender")
        .order_by("-pinned", "-conversation__last_activity_at", "-conversation_id")[offset:offset + limit]
    )
    return _with_counterparts(user, memberships)


def get_conversation_entry(user, conversation_id, *, with_stored_bytes: bool = False) -> Membership:
    """``with_stored_bytes``: also ``.stored_bytes``, count_stored_bytes(user), in the same query
    (the chat page's composer checks uploads against the quota before sending them)."""
    membership = access_membership(user, conversation_id)
    queryset = Membership.objects.select_related("conversation", "conversation__last_message",
                                                 "conversation__last_message__sender")
    if with_stored_bytes:
        stored = (Attachment.objects.filter(uploader=user).order_by().values("uploader")
                  .annotate(total=Sum("size")).values("total"))
        queryset = queryset.annotate(stored_bytes=Subquery(stored))
    membership = queryset.get(pk=membership.pk)
    return _with_counterparts(user, [membership])[0]


def _message_queryset(conversation_id: int):
    # Senders are prefetched, not joined: a page of 50 messages has a handful of senders, and one
    # shared User per sender instead of one per row halves the page's model-building time.
    return (Message.objects.filter(conversation_id=conversation_id)
            .select_related("reply_to", "reply_to__sender").prefetch_related("sender"))


FILE_KINDS = {Message.Kind.IMAGE, Message.Kind.FILE, Message.Kind.AUDIO, Message.Kind.VIDEO}


def with_reactions_and_files(messages: list[Message]) -> list[Message]:
    """Give each message ``reaction_list`` (one query for the page) and its attachments (only the
    file kinds have any). Django's prefetch_related built a related manager and a queryset per
    message for each relation: most of a history page's time on the server (cProfile)."""
    by_message = defaultdict(list)
    if messages:
        for reaction in (Reaction.objects.filter(message_id__in=[m.pk for m in messages])
                         .select_related("user").order_by("created_at")):
            by_message[reaction.message_id].append(reaction)
    for message in messages:
        message.reaction_list = by_message.get(message.pk, [])
    with_files = [m for m in messages if m.kind in FILE_KINDS]
    if with_files:
        prefetch_related_objects(with_files, "attachments")
    return messages


def opening_page_size(unread: int) -> int:
    """How many messages a chat opens with: the newest page, reaching back far enough to show the
    first unread message when it is near. Further back, the newest page only (older pages load as
    the reader scrolls up): rendering up to 200 messages that still fell short of it made the page slow."""
    reach = unread + 10
    return reach if PAGE_SIZE < reach <= 2 * PAGE_SIZE else PAGE_SIZE


def get_message_for_display(message_id: int) -> Message:
    """A message with everything its template shows; the caller has authorised the access."""
    message = Message.objects.only("conversation_id").get(pk=message_id)
    return with_reactions_and_files([_message_queryset(message.conversation_id).get(pk=message_id)])[0]


def list_messages(conversation_id: int, *, before_seq: int | None = None, after_seq: int | None = None,
                  limit: int = PAGE_SIZE) -> tuple[list[Message], bool]:
    """A page of messages in ascending seq order, and whether more lie beyond it.

    Keyset pagination on (conversation, seq): a page deep in history costs the same as the newest.
    """
    queryset = _message_queryset(conversation_id)
    if after_seq is not None:
        page = list(queryset.filter(seq__gt=after_seq).order_by("seq")[: limit + 1])
        more = len(page) > limit
        return with_reactions_and_files(page[:limit]), more
    if before_seq is not None:
        queryset = queryset.filter(seq__lt=before_seq)
    page = list(queryset.order_by("-seq")[: limit + 1])
    more = len(page) > limit
    return with_reactions_and_files(list(reversed(page[:limit]))), more


def list_messages_around(conversation_id: int, seq: int, *, limit: int = PAGE_SIZE) -> tuple[list[Message], bool, bool]:
    """A page centred on ``seq`` (a search result opened in its chat), ascending, and whether older
    and newer messages lie beyond it."""
    queryset = _message_queryset(conversation_id)
    half = limit // 2
    older = list(queryset.filter(seq__lt=seq).order_by("-seq")[: half + 1])
    newer = list(queryset.filter(seq__gte=seq).order_by("seq")[: limit - half + 1])
    more_before, more_after = len(older) > half, len(newer) > limit - half
    page = list(reversed(older[:half])) + newer[: limit - half]
    return with_reactions_and_files(page), more_before, more_after


def starred_ids(user, messages) -> set[int]:
    ids = [m.pk for m in messages]
    if not ids:
        return set()
    return set(Star.objects.filter(user=user, message_id__in=ids).values_list("message_id", flat=True))


def reaction_summary(message: Message) -> list[dict]:
    """[{emoji, count, user_ids, names}] in the order each emoji was first used."""
    reactions = getattr(message, "reaction_list", None)
    if reactions is None:  # a single message fetched without with_reactions_and_files
        reactions = list(message.reactions.select_related("user").order_by("created_at"))
    return summarize_reactions(reactions)


def summarize_reactions(reactions) -> list[dict]:
    """reaction_summary of reactions already fetched (with their users): no query."""
    groups: dict[str, list] = defaultdict(list)
    for reaction in reactions:
        groups[reaction.emoji].append(reaction.user)
    return [
        {"emoji": emoji, "count": len(users), "user_ids": " ".join(str(u.pk) for u in users),
         "names": ", ".join(u.display_name for u in users)}
        for emoji, users in groups.items()
    ]


def _list_for_user(user, message_ids, limit: int) -> list[Message]:
    """Live messages among ``message_ids`` in conversations the user is still a member of, newest first."""
    conversation_ids = Membership.objects.filter(user=user).values("conversation_id")
    return with_reactions_and_files(list(
        Message.objects.filter(pk__in=message_ids, conversation_id__in=conversation_ids, deleted_at__isnull=True)
        .select_related("sender", "conversation", "reply_to", "reply_to__sender")
        .order_by("-created_at")[:limit]
    ))


def list_starred(user, limit: int = 100) -> list[Message]:
    return _list_for_user(user, Star.objects.filter(user=user).values("message_id"), limit)


def list_mentions(user, limit: int = 100) -> list[Message]:
    return _list_for_user(user, Mention.objects.filter(user=user).values("message_id"), limit)


def read_watermarks(conversation_id: int, exclude_user_id: int) -> tuple[int, int]:
    """(read, delivered) seq of the other members: for a direct chat, the counterpart's watermarks,
    none across a block (accounts.policy.may_see_receipts), as the live receipts."""
    others = (Membership.objects.filter(conversation_id=conversation_id).exclude(user_id=exclude_user_id)
              .annotate(estranged=policy.estranged_from(exclude_user_id, "user_id")))
    rows = list(others.values_list("last_read_seq", "last_delivered_seq", "estranged", "conversation__kind"))
    if not rows:
        return 0, 0
    if len(rows) == 1 and not policy.may_see_receipts_of(rows[0][2], direct=rows[0][3] == Conversation.Kind.DIRECT):
        return 0, 0
    return min(r[0] for r in rows), min(r[1] for r in rows)


# --- galleries: a conversation's media, files, links and the reader's stars, newest first --------

GALLERY_TABS = ("media", "files", "links", "starred")
GALLERY_PAGE_SIZE = 30
_LINK = re.compile(r'<a href="([^"]+)"')


def list_gallery(user, conversation_id, *, tab: str, page: int = 1, page_size: int = GALLERY_PAGE_SIZE) -> dict:
    """One page of a conversation's gallery tab for a member: ``items`` (each with ``message``, and
    ``attachment`` for media and files, ``urls`` for links), newest first, and ``more`` (another
    page follows). Deleted messages are left out; so is everything of a chat the user is not in."""
    membership = access_membership(user, conversation_id)
    tab = tab if tab in GALLERY_TABS else "media"
    page = max(1, min(page or 1, 10_000))
    start = (page - 1) * page_size
    conversation_id = membership.conversation_id
    if tab in ("media", "files"):
        kinds = ((Attachment.Kind.IMAGE, Attachment.Kind.VIDEO) if tab == "media"
                 else (Attachment.Kind.FILE, Attachment.Kind.AUDIO))
        rows = list(Attachment.objects.filter(kind__in=kinds, message__conversation_id=conversation_id,
                                              message__deleted_at__isnull=True)
                    .select_related("message", "message__sender").order_by("-message__seq", "-pk")
                    [start:start + page_size + 1])
        items = [{"message": a.message, "attachment": a} for a in rows[:page_size]]
    elif tab == "links":
        rows = list(Message.objects.filter(conversation_id=conversation_id, deleted_at__isnull=True,
                                           body_html__contains='<a href="')
                    .select_related("sender").order_by("-seq")[start:start + page_size + 1])
        items = [{"message": m, "urls": list(dict.fromkeys(_LINK.findall(m.body_html)))} for m in rows[:page_size]]
    else:
        rows = list(Star.objects.filter(user=user, message__conversation_id=conversation_id,
                                        message__deleted_at__isnull=True)
                    .select_related("message", "message__sender").order_by("-created_at", "-pk")
                    [start:start + page_size + 1])
        items = [{"message": star.message} for star in rows[:page_size]]
    return {"membership": membership, "tab": tab, "items": items, "page": page, "more": len(rows) > page_size}
