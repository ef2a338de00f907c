"""The ``<li>`` of one message, the same for every reader.

Built with plain string formatting rather than a Django template because it is the hottest piece of
HTML on the site: every live ``message.created`` event and every page of history renders it (50 per
page), and the template engine cost ~1 ms per message on a 2-core machine against ~30 µs here
(bench/micro.py). Everything user-made is escaped here or was sanitised at write time
(``body_html``, see messaging.rendering). Messages with attachments render their body from the
``messaging/kinds/<kind>.html`` templates: those are rare and need the template's file tags.

The actions menu (reply, star, edit, delete, react) is not repeated in every message: each message
has only its "⋯" disclosure, and static/js/chat.js fills it on first open from the one
``<template id="message-menu">`` of the page (messaging/partials/message_menu.html).
"""

from functools import lru_cache
from html import escape

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import Message

_PLACEHOLDER = 987654321


@lru_cache(maxsize=None)
def _url_pattern(name: str) -> str:
    """``reverse`` once per process; per message only the id is filled in."""
    return reverse(name, args=[_PLACEHOLDER]).replace(str(_PLACEHOLDER), "{}")


def _sender_name(sender) -> str:
    return sender.display_name if sender else ""


def _body(message: Message) -> str:
    pk = message.pk
    if message.is_deleted:
        return '<p class="msg-body msg-body-deleted"><em>This message was deleted.</em></p>'
    if message.kind in (Message.Kind.TEXT, Message.Kind.LINK):
        return f'<div class="msg-body" id="msg-body-{pk}">{message.body_html}</div>'
    if message.kind == Message.Kind.CALL:
        return f'<p class="msg-body msg-call" id="msg-body-{pk}"><span aria-hidden="true">📞</span> {escape(message.body)}</p>'
    return render_to_string(f"messaging/kinds/{message.kind}.html", {"m": message})


def _reply_quote(message: Message) -> str:
    reply = message.reply_to
    if reply is None or message.is_deleted:
        return ""
    who = escape(reply.sender.display_name) if reply.sender else "a deleted account"
    return (f'<a class="msg-quote" href="#msg-{message.conversation_id}-{reply.seq}" data-jump-to="{reply.seq}">'
            f'<span class="msg-quote-sender">Reply to {who}</span>'
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
    return f'<div class="msg-reactions" role="group" aria-label="Reactions">{buttons}</div>'


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

    sender = escape(_sender_name(m.sender)) if m.sender_id else ""
    edited = '<span class="msg-edited">(edited)</span>' if m.edited_at and not m.is_deleted else ""
    seen_url = _url_pattern("seen_by").format(m.pk)
    actions = "" if m.is_deleted else (
        f'<details class="msg-actions"><summary aria-label="Actions for message from '
        f'{sender or "deleted account"} at {hhmm}"><span aria-hidden="true">⋯</span></summary></details>')
    return (
        f'<li {attrs}><div class="msg-bubble">'
        f'<p class="msg-meta"><span class="msg-sender">{sender or "Deleted account"}</span> '
        f'<time datetime="{iso}">{hhmm}</time> {edited}'
        f'<span class="msg-status" data-status></span> '
        f'<button type="button" class="msg-seen link-button" data-seen hx-get="{seen_url}" '
        f'hx-target="#seen-{m.pk}" hx-swap="innerHTML"></button></p>'
        f'{_reply_quote(m)}'
        f'<div id="seen-{m.pk}" class="seen-by-box" aria-live="polite"></div>'
        f'<p class="msg-blocked-note muted">Message from someone you blocked.</p>'
        f'{_body(m)}{_reactions(m, reactions)}{actions}'
        f'</div></li>'
    )
