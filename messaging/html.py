"""The two most repeated pieces of HTML: a message's ``<li>`` (the same for every reader) and a
sidebar entry.

Built with plain string formatting rather than Django templates because every live
``message.created`` event and every page renders them (50 messages a page, up to 50 sidebar
entries on every page of the app), and the template engine cost ~1 ms per message and ~0.5 ms per
entry on a 2-core machine, against ~30 µs here (bench/micro.py, cProfile of the chat page). Everything user-made is escaped here or was sanitised at write time
(``body_html``, see messaging.rendering). Messages with attachments render their body from the
``messaging/kinds/<kind>.html`` templates: those are rare and need the template's file tags.

The actions menu (reply, star, edit, delete, react) is not repeated in every message: each message
has only its "⋯" disclosure, and static/js/app.js fills it on first open from the one
``<template id="message-menu">`` of the page (messaging/partials/message_menu.html).
"""

from functools import cache
from html import escape

from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .models import Message

_PLACEHOLDER = 987654321


@cache
def _url_pattern(name: str) -> str:
    """``reverse`` once per process; per message only the id is filled in."""
    return reverse(name, args=[_PLACEHOLDER]).replace(str(_PLACEHOLDER), "{}")


@cache
def _words_in(language: str) -> dict[str, str]:
    """The fixed words of the HTML below, translated once per process and language (gettext reads
    the active language from a context-local on every call, and a message has several words), and
    escaped: the values filled into them are escaped already."""
    words = {
        "deleted": _("This message was deleted."),
        "a_deleted_account": _("a deleted account"),
        "reply_to": _("Reply to %(name)s"),
        "reactions": _("Reactions"),
        "edited": _("(edited)"),
        "actions_for": _("Actions for message from %(name)s at %(time)s"),
        "deleted_account_lower": _("deleted account"),
        "deleted_account": _("Deleted account"),
        "blocked_note": _("Message from someone you blocked."),
        "pinned": _("Pinned"),
        "pinned_hidden": _(", pinned"),
        "muted": _("Muted"),
        "muted_hidden": _(", muted"),
        "no_messages": _("No messages yet"),
        "by_you": _("You: %(text)s"),
        "by_name": _("%(name)s: %(text)s"),
        "unread": _("unread"),
        "online": _("online"),
        "away": _("away"),
        "offline": _("offline"),
    }
    return {key: escape(text) for key, text in words.items()}


def _words() -> dict[str, str]:
    return _words_in(get_language())


def _sender_name(sender) -> str:
    return sender.display_name if sender else ""


def _via(message: Message) -> str:
    """"via <hook name>" after the sender of a message an incoming webhook posted."""
    if not message.via:
        return ""
    return f'<span class="msg-via">{escape(_("via %(name)s") % {"name": message.via})}</span> '


def _body(message: Message) -> str:
    pk = message.pk
    if message.is_deleted:
        return f'<p class="msg-body msg-body-deleted"><em>{_words()["deleted"]}</em></p>'
    if message.kind in (Message.Kind.TEXT, Message.Kind.LINK):
        return f'<div class="msg-body" id="msg-body-{pk}">{message.body_html}</div>'
    if message.kind == Message.Kind.CALL:
        return f'<p class="msg-body msg-call" id="msg-body-{pk}"><span aria-hidden="true">📞</span> {escape(message.body)}</p>'
    return render_to_string(f"messaging/kinds/{message.kind}.html", {"m": message})


def _reply_quote(message: Message) -> str:
    reply = message.reply_to
    if reply is None or message.is_deleted:
        return ""
    words = _words()
    who = escape(reply.sender.display_name) if reply.sender else words["a_deleted_account"]
    return (f'<a class="msg-quote" href="#msg-{message.conversation_id}-{reply.seq}" data-jump-to="{reply.seq}">'
            f'<span class="msg-quote-sender">{words["reply_to"] % {"name": who}}</span>'
            f'<span class="msg-quote-text">{escape(reply.preview)}</span></a>')


def _reactions(message: Message, reactions: list[dict]) -> str:
    if not reactions or message.is_deleted:
        return ""
    url = _url_pattern("react_message").format(message.pk)
    buttons = "".join(
        f'<button type="button" class="reaction" data-user-ids="{r["user_ids"]}" aria-pressed="false" '
        f'title="{escape(r["names"])}" aria-label="{r["emoji"]} {r["count"]}: {escape(r["names"])}" '
        f'hx-post="{url}" hx-vals=\'{{"emoji": "{r["emoji"]}"}}\' hx-target="closest .msg" hx-swap="outerHTML">'
        f'{r["emoji"]} {r["count"]}</button>'
        for r in reactions
    )
    return f'<div class="msg-reactions" role="group" aria-label="{_words()["reactions"]}">{buttons}</div>'


def render_message_item(message: Message, *, reactions: list[dict] = (), starred: bool = False) -> str:
    """``reactions``: selectors.reaction_summary(message) (a new message has none)."""
    m = message
    created = m.created_at
    iso = created.isoformat()
    hhmm = timezone.localtime(created).strftime("%H:%M")
    classes = f"msg msg-{m.kind}" + (" msg-deleted" if m.is_deleted else "")
    attrs = (f'class="{classes}" id="msg-{m.conversation_id}-{m.seq}" data-seq="{m.seq}" data-id="{m.pk}" '
             f'data-sender-id="{m.sender_id or ""}" data-client-id="{escape(m.client_id)}" data-created="{iso}"')
    if m.mention_ids:
        attrs += f' data-mentions="{escape(m.mention_ids)}"'
    if starred:
        attrs += ' data-starred="true"'
    if m.kind == Message.Kind.SYSTEM:
        return f'<li {attrs}><p class="msg-system">{escape(m.body)}</p></li>'

    words = _words()
    sender = escape(_sender_name(m.sender)) if m.sender_id else ""
    edited = f'<span class="msg-edited">{words["edited"]}</span>' if m.edited_at and not m.is_deleted else ""
    seen_url = _url_pattern("seen_by").format(m.pk)
    actions = "" if m.is_deleted else (
        f'<details class="msg-actions"><summary aria-label="'
        f'{words["actions_for"] % {"name": sender or words["deleted_account_lower"], "time": hhmm}}">'
        f'<span aria-hidden="true">⋯</span></summary></details>')
    return (
        f'<li {attrs}><div class="msg-bubble">'
        f'<p class="msg-meta"><span class="msg-sender">{sender or words["deleted_account"]}</span> '
        f'{_via(m)}<time datetime="{iso}">{hhmm}</time> {edited}'
        f'<span class="msg-status" data-status></span> '
        f'<button type="button" class="msg-seen link-button" data-seen hx-get="{seen_url}" '
        f'hx-target="#seen-{m.pk}" hx-swap="innerHTML"></button></p>'
        f'{_reply_quote(m)}'
        f'<div id="seen-{m.pk}" class="seen-by-box" aria-live="polite"></div>'
        f'<p class="msg-blocked-note muted">{words["blocked_note"]}</p>'
        f'{_body(m)}{_reactions(m, reactions)}{actions}'
        f'</div></li>'
    )


def _avatar(image_url: str, fallback: str) -> str:
    """An avatar beside a visible name: decorative, so screen readers hear the name only once."""
    inner = (f'<img src="{image_url}" alt="" loading="lazy" width="40" height="40">' if image_url
             else escape(fallback))
    return f'<span class="avatar avatar-md" aria-hidden="true">{inner}</span>'


@cache
def _assistant_avatar() -> str:
    return static("img/assistant.svg")


def _person_avatar(person, status: str, words: dict[str, str]) -> str:
    image = (_url_pattern("avatar").format(person.pk) + f"?v={person.avatar.name[8:16]}") if person.avatar else ""
    return (f'<span class="avatar-wrap">{_avatar(image, person.initials)}'
            f'<span class="presence" data-presence-user="{person.pk}" data-status="{status}">'
            f'<span class="visually-hidden">{words.get(status, status)}</span></span></span>')


def conversation_title(entry) -> str:
    """What a membership's chat is called for its member: the other person, or the group's title."""
    conversation = entry.conversation
    if conversation.kind == conversation.Kind.DIRECT:
        return entry.counterpart.display_name if entry.counterpart else _("Deleted account")
    if conversation.kind == conversation.Kind.ASSISTANT:
        return conversation.title or _("Assistant")
    return conversation.title or _("Untitled group")


def render_conversation_entry(entry, *, viewer_id: int, active_id: int | None = None) -> str:
    """One sidebar entry. ``entry``: a Membership from selectors.list_conversations."""
    conversation = entry.conversation
    pk = conversation.pk
    unread = entry.unread_count
    activity = conversation.last_activity_at.isoformat()
    words = _words()
    classes = "conversation-entry" + (" has-unread" if unread else "") + (" is-muted" if entry.muted else "")
    if entry.counterpart:
        avatar = _person_avatar(entry.counterpart, entry.counterpart_status or "offline", words)
    elif conversation.kind == conversation.Kind.ASSISTANT:
        avatar = _avatar(_assistant_avatar(), "AI")
    else:
        image = (_url_pattern("group_avatar").format(pk) + f"?v={conversation.avatar.name[20:28]}"
                 if conversation.avatar else "")
        avatar = _avatar(image, "#")
    flags = ""
    if entry.pinned:
        flags += (f'<span class="entry-flag" title="{words["pinned"]}"><span aria-hidden="true">📌</span>'
                  f'<span class="visually-hidden">{words["pinned_hidden"]}</span></span>')
    if entry.muted:
        flags += (f'<span class="entry-flag" title="{words["muted"]}"><span aria-hidden="true">🔕</span>'
                  f'<span class="visually-hidden">{words["muted_hidden"]}</span></span>')
    last = conversation.last_message
    if last is None:
        preview = words["no_messages"]
    elif last.sender_id == viewer_id:
        preview = words["by_you"] % {"text": escape(last.preview)}
    elif last.sender and conversation.kind != conversation.Kind.DIRECT:
        preview = words["by_name"] % {"name": escape(last.sender.first_name or last.sender.username),
                                      "text": escape(last.preview)}
    else:
        preview = escape(last.preview)
    current = ' aria-current="page"' if active_id == pk else ""
    return (
        f'<li class="{classes}" id="conv-{pk}" data-conversation-id="{pk}" data-kind="{conversation.kind}" '
        f'data-last-seq="{conversation.last_seq}" data-pinned="{int(entry.pinned)}" data-muted="{int(entry.muted)}" '
        f'data-unread="{unread}" data-last-activity="{activity}">'
        f'<a href="{_url_pattern("conversation").format(pk)}"{current}>{avatar}'
        f'<span class="entry-text"><span class="entry-top">'
        f'<span class="entry-title">{escape(conversation_title(entry))}</span>{flags}'
        f'<time class="entry-time" datetime="{activity}" data-relative>'
        f'{timezone.localtime(conversation.last_activity_at).strftime("%H:%M")}</time></span>'
        f'<span class="entry-bottom"><span class="entry-preview">{preview}</span>'
        f'<span class="badge" data-unread-badge{"" if unread else " hidden"}><span data-unread-count>{unread}</span>'
        f'<span class="visually-hidden"> {words["unread"]}</span></span></span></span></a></li>'
    )


def render_conversation_entries(entries, *, viewer_id: int, active_id: int | None = None, page_size: int,
                                offset: int = 0) -> str:
    """A page of sidebar entries, then a "More conversations" loader when the page was full."""
    html = "".join(render_conversation_entry(entry, viewer_id=viewer_id, active_id=active_id) for entry in entries)
    if len(entries) >= page_size:
        html += render_to_string("messaging/partials/more_conversations.html", {"offset": offset + len(entries)})
    return html
