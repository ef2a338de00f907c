"""What a signed-in tab shows, kept up to date by the socket's events, against the page fetched fresh.

The idea is Zulip's ``verify_action`` (zerver/tests/test_events.py): fetch the state a client holds,
run an action, apply the events the client's queue received, and require the result to equal the
state fetched again after the action. Here:

- ``fetch_page`` is the page as the server renders it: the sidebar from
  ``selectors.list_conversations`` through ``html.render_conversation_entry`` (parsed back into the
  fields the browser reads and writes), and, for an open chat, what ``views.conversation_detail``
  puts in it (its messages, receipts, members, header).
- ``apply_event`` is what the browser's modules (static/js/main.js routes each event to
  sidebar.js, timeline.js, composer.js) do with each event, handler by handler, including the
  frames the tab sends back (``read`` when the open chat is on screen, ``delivered`` otherwise).
  A fetch the browser makes (``refreshEntry``: GET /c/<id>/entry/) is the same selector here.
  **It mirrors those modules: change the two together.** An event type it does not know fails the test.
- ``verify_action`` opens a real socket for the observer, settles the page (the frames a tab sends
  when it connects), runs the action, applies what arrives until the socket is quiet, and requires
  the page so updated to equal the page fetched fresh, and to differ from before (else the test
  proves nothing), unless the action is one the observer must not see at all. It also requires
  the socket to follow exactly the conversations the user is now a member of.

What is compared is what the page shows (``PageState.shown``), not the browser's private variables:
for instance the read watermarks of the others matter only through the "Seen"/"Delivered" status of
the viewer's own messages and the "Seen by N" of a group, so that is what is compared.
"""

import json
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from html.parser import HTMLParser

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from accounts import selectors as account_selectors
from chatsite.errors import NotFound
from chatsite.realtime import conversation_group, user_group
from groups import selectors as group_selectors
from messaging import selectors
from messaging.html import conversation_title, render_conversation_entry, render_message_item
from messaging.models import Conversation
from messaging.tests.test_consumer import connect

# Events the page model deliberately ignores: they change nothing compared here (typing and
# presence indicators, a toast, the friends list, which htmx refetches).
IGNORED_EVENTS = {"typing.started", "presence.changed", "mention.created", "friends.changed"}
BARRIER = json.dumps({"type": "pong"})  # sent through the layer: see settle()
DELIVERED_THROTTLE = 2.0  # seconds: timeline.js sends one ``delivered`` per conversation per 2 s


class StateMismatch(AssertionError):
    """The page updated by the events differs from the page fetched fresh."""


# --- the page as the server renders it ---------------------------------------------------------

class _EntryParser(HTMLParser):
    """The fields of one sidebar ``<li>`` that sidebar.js reads or writes."""

    TEXTS = {"entry-title": "title", "entry-preview": "preview"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.attrs: dict[str, str] = {}
        self.texts = {"title": "", "preview": ""}
        self.time = ""
        self._open: list[str | None] = []  # per open span: the text it collects, if any

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "li" and not self.attrs:
            self.attrs = attrs
        elif tag == "time" and "entry-time" in (attrs.get("class") or ""):
            self.time = attrs.get("datetime", "")
        elif tag == "span":
            classes = (attrs.get("class") or "").split()
            self._open.append(next((self.TEXTS[c] for c in classes if c in self.TEXTS), None))

    def handle_endtag(self, tag):
        if tag == "span" and self._open:
            self._open.pop()

    def handle_data(self, data):
        collecting = [name for name in self._open if name]
        if collecting:
            self.texts[collecting[-1]] += data


@dataclass
class Entry:
    """One sidebar entry, as its ``<li>`` shows it (sidebar.js keeps its state in the same DOM)."""
    kind: str
    last_seq: int
    pinned: bool
    muted: bool
    unread: int
    title: str
    preview: str
    time: str  # the ``datetime`` of its time: the last activity

    @classmethod
    def parse(cls, html: str) -> "Entry":
        parser = _EntryParser()
        parser.feed(html)
        a = parser.attrs
        return cls(kind=a["data-kind"], last_seq=int(a["data-last-seq"]), pinned=a["data-pinned"] == "1",
                   muted=a["data-muted"] == "1", unread=int(a["data-unread"]), title=parser.texts["title"],
                   preview=parser.texts["preview"], time=parser.time)


_SENDER = re.compile(r'data-sender-id="(\d*)"')
_CREATED = re.compile(r'data-created="([^"]+)"')


def _to_ms(iso: str) -> datetime:
    """An ISO time as the browser's Date.parse holds it: to the millisecond."""
    moment = datetime.fromisoformat(iso)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass
class OpenChat:
    """The chat page's part: header, messages, receipts, members. ``member`` False once the viewer
    is no longer in it (main.js shows a banner; a fresh load would not show the chat at all)."""
    conversation_id: int
    member: bool = True
    kind: str = ""
    title: str = ""
    header_pinned: bool = False  # the header's Pin / Unpin and Mute / Unmute buttons
    header_muted: bool = False
    members: list[int] = field(default_factory=list)  # mention autocomplete, "N members"; groups only
    timeline: dict[int, str] = field(default_factory=dict)  # seq -> the message's <li>
    # timeline.js's own variables, seeded from the page's data attributes and JSON blocks:
    last_read_sent: int = 0
    others_read: int = 0
    others_delivered: int = 0
    read_seqs: dict[int, int] = field(default_factory=dict)
    joined: dict[int, datetime] = field(default_factory=dict)  # joinedAt: when each member joined (ms)
    resume_in_flight: bool = False

    @property
    def last_seq(self) -> int:
        return max(self.timeline, default=0)

    def receipts(self, me: int) -> dict[int, str]:
        """What timeline.js's applyStatuses shows on each of the viewer's own messages. "Seen by N"
        counts the listed members, the viewer aside, whose watermark reached the message and who
        joined before it was sent (groups.selectors.list_seen_by, the same rule)."""
        shown = {}
        for seq, html in sorted(self.timeline.items()):
            sender = _SENDER.search(html)
            if not sender or sender.group(1) != str(me):
                continue
            if self.kind == Conversation.Kind.DIRECT:
                shown[seq] = ("Seen" if seq <= self.others_read else
                              "Delivered" if seq <= self.others_delivered else "Sent")
            else:
                created = _to_ms(_CREATED.search(html).group(1))
                readers = sum(1 for uid, read in self.read_seqs.items()
                              if uid != me and read >= seq and uid in self.joined and self.joined[uid] <= created)
                shown[seq] = f"Seen by {readers}" if readers else ""
        return shown

    def shown(self, me: int) -> dict:
        if not self.member:
            return {"conversation": self.conversation_id, "member": False}
        return {"conversation": self.conversation_id, "member": True, "title": self.title,
                "header_pinned": self.header_pinned, "header_muted": self.header_muted, "members": self.members,
                "timeline": dict(self.timeline), "receipts": self.receipts(me)}


@dataclass
class PageState:
    user: object
    visible: bool = True  # document.visibilityState of the tab
    sidebar: dict[int, Entry] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)  # the sidebar's entries, top to bottom
    chat: OpenChat | None = None
    bell: int = 0  # unread notifications
    invitations: int = 0  # pending group invitations
    delivered_sent: dict[int, float] = field(default_factory=dict)

    @property
    def me(self) -> int:
        return self.user.pk

    def shown(self) -> dict:
        return {"sidebar": {cid: asdict(entry) for cid, entry in self.sidebar.items()}, "order": list(self.order),
                "chat": self.chat.shown(self.me) if self.chat else None, "bell": self.bell,
                "invitations": self.invitations}


def fetch_entry(user, conversation_id: int) -> Entry | None:
    """GET /c/<id>/entry/ (views.conversation_entry): None when it answers 404."""
    try:
        membership = selectors.get_conversation_entry(user, conversation_id)
    except NotFound:
        return None
    return Entry.parse(render_conversation_entry(membership, viewer_id=user.pk))


def fetch_chat(user, conversation_id: int) -> OpenChat:
    """What views.conversation_detail renders for the chat page."""
    try:
        membership = selectors.get_conversation_entry(user, conversation_id)
    except NotFound:
        return OpenChat(conversation_id, member=False)
    conversation = membership.conversation
    messages, _ = selectors.list_messages(conversation.pk, limit=selectors.opening_page_size(membership.unread_count))
    starred = selectors.starred_ids(user, messages)
    read, delivered = selectors.read_watermarks(conversation.pk, user.pk)
    members = (selectors.list_member_summaries(conversation.pk)
               if conversation.kind != Conversation.Kind.DIRECT else [])
    return OpenChat(
        conversation_id, kind=conversation.kind,
        title=conversation.title if conversation.is_group else conversation_title(membership),
        header_pinned=membership.pinned, header_muted=membership.muted,
        members=sorted(m["id"] for m in members),
        timeline={m.seq: render_message_item(m, reactions=selectors.reaction_summary(m), starred=m.pk in starred)
                  for m in messages},
        last_read_sent=membership.last_read_seq, others_read=read, others_delivered=delivered,
        read_seqs={m["id"]: m["read_seq"] for m in members},
        joined={m["id"]: _to_ms(m["joined_at"]) for m in members},
    )


def fetch_page(user, *, chat: int | None = None, visible: bool = True) -> PageState:
    """A page of the app fetched fresh: the sidebar, the open chat if any, the header's counts."""
    entries = selectors.list_conversations(user)
    assert len(entries) < selectors.SIDEBAR_PAGE_SIZE, "the model holds the sidebar's first page only"
    return PageState(
        user=user, visible=visible,
        sidebar={e.conversation_id: Entry.parse(render_conversation_entry(e, viewer_id=user.pk, active_id=chat))
                 for e in entries},
        order=[e.conversation_id for e in entries],
        chat=fetch_chat(user, chat) if chat else None,
        bell=account_selectors.count_unread_notifications(user.pk),
        invitations=group_selectors.count_pending_invitations(user.pk),
    )


# --- what the browser's modules do with each event ----------------------------------------------

def _sort_key(state: PageState, conversation_id: int) -> tuple:
    """sidebar.js sortKey: the server's order, pinned first, then the last activity, then the id."""
    entry = state.sidebar[conversation_id]
    return (entry.pinned, _to_ms(entry.time), conversation_id)


def _place_entry(state: PageState, conversation_id: int) -> None:
    """placeEntry: before the first other entry that sorts after it, else after the last one."""
    if conversation_id in state.order:
        state.order.remove(conversation_id)
    key = _sort_key(state, conversation_id)
    later = next((i for i, cid in enumerate(state.order) if key > _sort_key(state, cid)), len(state.order))
    state.order.insert(later, conversation_id)


def _refresh_entry(state: PageState, conversation_id: int) -> None:
    """refreshEntry: fetch the entry; replace it, and put it in its place."""
    fresh = fetch_entry(state.user, conversation_id)
    if fresh is None:
        return
    state.sidebar[conversation_id] = fresh
    _place_entry(state, conversation_id)


def _set_unread(state: PageState, conversation_id: int, count: int) -> None:
    entry = state.sidebar.get(conversation_id)
    if entry is not None:
        entry.unread = count


def _preview_text(state: PageState, entry: Entry, e: dict) -> str:
    """previewText: "You: " before one's own message, the sender's short name in a group."""
    who = ("You: " if e["sender_id"] == state.me else
           e["sender_name"] + ": " if entry.kind != Conversation.Kind.DIRECT and e["sender_name"] else "")
    return who + e["preview"]


def _on_sidebar_message(state: PageState, e: dict) -> None:
    entry = state.sidebar.get(e["conversation"])
    if entry is None:
        _refresh_entry(state, e["conversation"])
        return
    if e["seq"] <= entry.last_seq:  # the fetched entry already counts it
        return
    mine = e["sender_id"] == state.me
    entry.preview = _preview_text(state, entry, e)
    entry.last_seq = e["seq"]
    entry.time = e["created_at"]
    chat = state.chat
    reading = chat is not None and e["conversation"] == chat.conversation_id and state.visible
    if mine:  # sending moved my read position to it
        entry.unread = 0
    elif not reading:
        entry.unread += 1
    _place_entry(state, e["conversation"])


def _mark_read(state: PageState) -> list[dict]:
    chat = state.chat
    if chat is None or not state.visible or not chat.last_seq or chat.last_seq <= chat.last_read_sent:
        return []
    chat.last_read_sent = chat.last_seq
    _set_unread(state, chat.conversation_id, 0)
    return [{"type": "read", "conversation": chat.conversation_id, "seq": chat.last_seq}]


def _mark_delivered(state: PageState, conversation_id: int, seq: int) -> list[dict]:
    now = time.monotonic()
    if now - state.delivered_sent.get(conversation_id, -DELIVERED_THROTTLE) < DELIVERED_THROTTLE:
        return []
    state.delivered_sent[conversation_id] = now
    return [{"type": "delivered", "conversation": conversation_id, "seq": seq}]


def _resume(state: PageState) -> list[dict]:
    chat = state.chat
    if chat is None or chat.resume_in_flight:
        return []
    chat.resume_in_flight = True
    return [{"type": "resume", "conversation": chat.conversation_id, "after_seq": chat.last_seq}]


_STARRED = ' data-starred="true"'


def _keep_star(old: str, new: str) -> str:
    """timeline.js messageUpdated keeps the reader's data-starred (the event's HTML has nobody's);
    the server writes it as the <li>'s last attribute."""
    new = new.replace(_STARRED, "", 1)
    if _STARRED in old.split(">", 1)[0]:
        tag, rest = new.split(">", 1)
        new = tag + _STARRED + ">" + rest
    return new


def _insert_message(state: PageState, html: str, seq: int) -> list[dict]:
    chat = state.chat
    gap = chat.last_seq and seq > chat.last_seq + 1
    chat.timeline[seq] = html
    # As timeline.js does: the resume asks for what follows the newest message held, after inserting it.
    return _resume(state) if gap else []


def page_opened(state: PageState) -> list[dict]:
    """The socket's first "open": timeline.js marks the open chat read."""
    return _mark_read(state)


def _set_members(chat, members) -> None:
    chat.read_seqs = {m["id"]: max(chat.read_seqs.get(m["id"], 0), m["read_seq"]) for m in members}
    chat.joined = {m["id"]: _to_ms(m["joined_at"]) for m in members}
    chat.members = sorted(m["id"] for m in members)


def apply_event(state: PageState, e: dict) -> list[dict]:
    """Apply one frame the socket received, as the browser's handler for its type does; return the
    frames the tab sends in answer."""
    kind = e["type"]
    chat = state.chat
    is_open = chat is not None and e.get("conversation") == chat.conversation_id
    frames: list[dict] = []
    if kind == "message.created":
        _on_sidebar_message(state, e)
        if is_open:
            sender = e["sender_id"]
            if sender and sender != state.me:  # the sender has read what they answer
                chat.read_seqs[sender] = max(chat.read_seqs.get(sender, 0), e["seq"])
                if chat.kind == Conversation.Kind.DIRECT:
                    chat.others_read = max(chat.others_read, e["seq"])
                    chat.others_delivered = max(chat.others_delivered, e["seq"])
            frames += _insert_message(state, e["html"], e["seq"])
            if e["sender_id"] != state.me:
                frames += _mark_read(state) if state.visible else _mark_delivered(state, e["conversation"], e["seq"])
        elif e["sender_id"] != state.me:
            frames += _mark_delivered(state, e["conversation"], e["seq"])
    elif kind == "message.updated":
        if is_open and e["seq"] in chat.timeline:
            chat.timeline[e["seq"]] = _keep_star(chat.timeline[e["seq"]], e["html"])
        entry = state.sidebar.get(e["conversation"])
        if entry is not None and entry.last_seq == e["seq"]:
            entry.preview = _preview_text(state, entry, e)
    elif kind == "history":
        if chat is not None:
            chat.resume_in_flight = False
        if is_open:
            for m in e["messages"]:
                frames += _insert_message(state, m["html"], m["seq"])
            frames += _resume(state) if e["more"] else _mark_read(state)
            if e.get("members") is not None:  # main.js: a group's pages say who is in it now
                _set_members(chat, e["members"])
    elif kind == "receipt.updated":
        if is_open and e["user_id"] != state.me:
            chat.read_seqs[e["user_id"]] = max(chat.read_seqs.get(e["user_id"], 0), e["read_seq"])
            chat.others_read = max(chat.others_read, e["read_seq"])
            chat.others_delivered = max(chat.others_delivered, e["delivered_seq"])
    elif kind == "conversation.changed":
        entry = state.sidebar.get(e["conversation"])
        if entry is not None and (entry.pinned != e["pinned"] or entry.muted != e["muted"]):
            _refresh_entry(state, e["conversation"])
        else:
            _set_unread(state, e["conversation"], e["unread"])
        if is_open:  # timeline.js conversationChanged: the header's Pin / Mute buttons
            chat.header_pinned, chat.header_muted = e["pinned"], e["muted"]
    elif kind == "members.changed":
        if is_open:  # timeline.js and composer.js membersChanged
            _set_members(chat, e["members"])
    elif kind == "conversation.joined":
        _refresh_entry(state, e["conversation"])
    elif kind == "conversation.left":
        if e["conversation"] in state.sidebar:
            del state.sidebar[e["conversation"]]
            state.order.remove(e["conversation"])
        if is_open:
            chat.member = False
    elif kind == "group.changed":
        _refresh_entry(state, e["conversation"])
        if is_open and chat.kind == Conversation.Kind.GROUP:
            chat.title = e["title"]
    elif kind in ("notification.created", "notifications.read"):
        state.bell = e["unread"]
    elif kind == "invitation.changed":
        state.invitations = e["pending"]
    elif kind == "error":
        raise AssertionError(f"the server refused a frame the tab sent: {e}")
    elif kind not in IGNORED_EVENTS:
        raise AssertionError(f"the page model does not know {kind!r}: add what the browser does with it to apply_event")
    return frames


# --- the check ---------------------------------------------------------------------------------

def differences(left, right, path="page") -> list[str]:
    """Readable lines for where two shown states differ."""
    if isinstance(left, dict) and isinstance(right, dict):
        lines = []
        for key in sorted(set(left) | set(right), key=str):
            if key not in right:
                lines.append(f"{path}[{key!r}]: only after the events: {left[key]!r}")
            elif key not in left:
                lines.append(f"{path}[{key!r}]: only in the fresh page: {right[key]!r}")
            else:
                lines += differences(left[key], right[key], f"{path}[{key!r}]")
        return lines
    return [] if left == right else [f"{path}: after the events {left!r}, fresh {right!r}"]


async def _read_until_pong(ws, state: PageState, events: list, frames: list) -> None:
    while True:
        frame = await ws.receive_json_from(timeout=5)
        if frame["type"] == "pong":
            return
        events.append(frame)
        frames += await database_sync_to_async(apply_event)(state, frame)


async def settle(ws, state: PageState, frames: list[dict] = ()) -> list[dict]:
    """Send the tab's frames and apply what arrives, until the tab has nothing more to send and the
    socket nothing more to deliver. Two barriers per round: a ``ping`` (its ``pong`` comes after
    every frame sent before it was handled, and so after their events were published), then a
    ``pong`` sent through the channel layer to the user's group (it arrives after everything the
    layer carried for this socket before it, on the in-memory layer and on Redis alike)."""
    events: list[dict] = []
    frames = list(frames)
    while True:
        for frame in frames:
            await ws.send_json_to(frame)
        frames = []
        await ws.send_json_to({"type": "ping"})
        await _read_until_pong(ws, state, events, frames)
        await get_channel_layer().group_send(user_group(state.me), {"type": "test.barrier", "text": BARRIER})
        await _read_until_pong(ws, state, events, frames)
        if not frames:
            return events


async def followed_conversations(ws, state: PageState, candidates) -> set[int]:
    """The conversations whose events reach this socket now: a typing event is put in each
    candidate's channel-layer group (the transport forwards it only to a socket that follows the
    conversation), then a barrier through the user's group says when all have arrived."""
    layer = get_channel_layer()
    for conversation_id in sorted(candidates):
        text = json.dumps({"type": "typing.started", "conversation": conversation_id, "user_id": state.me,
                           "name": "probe"})
        await layer.group_send(conversation_group(conversation_id),
                               {"type": "typing.started", "conversation_id": conversation_id, "text": text})
    await layer.group_send(user_group(state.me), {"type": "test.barrier", "text": BARRIER})
    reached = set()
    while (frame := await ws.receive_json_from(timeout=5))["type"] != "pong":
        assert frame["type"] == "typing.started" and frame["name"] == "probe", frame
        reached.add(frame["conversation"])
    return reached


def _candidate_conversations(state: PageState) -> set[int]:
    return set(Conversation.objects.values_list("pk", flat=True)) | set(state.sidebar)


async def verify_action(user, action, *, chat: int | None = None, visible: bool = True,
                        state_change_expected: bool = True) -> list[dict]:
    """Run ``action`` (a sync callable: a service call by anyone) while ``user``'s tab is open
    (on the chat ``chat``, or on a page with the sidebar only; ``visible``: the tab is on screen).
    Return the events the tab received; raise StateMismatch when they do not bring the page to
    what a fresh load shows."""
    state = await database_sync_to_async(fetch_page)(user, chat=chat, visible=visible)
    ws, connected, code = await connect(user)
    assert connected, code
    try:
        await settle(ws, state, page_opened(state))
        fresh = (await database_sync_to_async(fetch_page)(user, chat=chat, visible=visible)).shown()
        if state.shown() != fresh:  # the model and the page disagree before anything happened
            raise AssertionError("\n".join(["the page model is wrong before the action:"]
                                           + differences(state.shown(), fresh)))
        before = fresh
        candidates = await database_sync_to_async(_candidate_conversations)(state)
        await database_sync_to_async(action)()
        events = await settle(ws, state)
        # Membership as the transport sees it: the socket follows exactly the user's conversations.
        candidates |= await database_sync_to_async(_candidate_conversations)(state)
        followed = await followed_conversations(ws, state, candidates)
        member_of = set(await database_sync_to_async(selectors.list_conversation_ids)(user))
        if followed != member_of:
            raise StateMismatch(f"the socket follows conversations {sorted(followed)}, "
                                f"the user is a member of {sorted(member_of)}")
    finally:
        await ws.disconnect()
    fresh = (await database_sync_to_async(fetch_page)(user, chat=chat, visible=visible)).shown()
    if state_change_expected:
        assert fresh != before, "the action changed nothing this page shows: the test proves nothing"
    else:
        assert fresh == before, "\n".join(["the action changed this page:"] + differences(fresh, before))
    after = state.shown()
    if after != fresh:
        raise StateMismatch("\n".join(
            ["the events do not bring the page to what a fresh load shows:"] + differences(after, fresh)
            + ["events:"] + [f"  {json.dumps({k: v for k, v in e.items() if k != 'html'})}" for e in events]))
    return events
