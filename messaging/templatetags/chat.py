"""Formatting only: every value comes from the view or a context processor (the app shell's
sidebar, bell and invitations: accounts/messaging/groups context_processors.py), so rendering
a template never queries the database."""

from django import template
from django.utils.safestring import mark_safe

from messaging.html import conversation_title, render_conversation_entries, render_message_item
from messaging.selectors import SIDEBAR_PAGE_SIZE, summarize_reactions

register = template.Library()


@register.simple_tag
def conversation_entries(entries, viewer, active_id=None):
    return mark_safe(render_conversation_entries(entries, viewer_id=viewer.pk, active_id=active_id,
                                                 page_size=SIDEBAR_PAGE_SIZE))


@register.filter
def entry_title(entry) -> str:
    return conversation_title(entry)


@register.simple_tag
def message_item(message, starred=()):
    """One message's <li>. ``message`` comes from a selector that attached its ``reaction_list``
    (selectors.with_reactions_and_files); ``starred``: the ids of the messages the reader starred."""
    return mark_safe(render_message_item(message, reactions=summarize_reactions(message.reaction_list),
                                         starred=message.pk in (starred or ())))


@register.simple_tag
def reaction_choices():
    from messaging.services import REACTION_CHOICES

    return REACTION_CHOICES.items()


COMPOSER_EMOJI = ["😀", "😂", "😊", "😍", "😎", "🤔", "😅", "😢", "😮", "😡", "👍", "👎", "👏", "🙏", "💪", "👋", "❤️", "🔥",
                  "🎉", "✅", "❌", "⭐", "☕", "🍕"]


@register.simple_tag
def composer_emoji():
    return COMPOSER_EMOJI


@register.filter
def duration(milliseconds) -> str:
    """A voice note's length as m:ss."""
    seconds = round((milliseconds or 0) / 1000)
    return f"{seconds // 60}:{seconds % 60:02d}"


_ICONS = {"application/pdf": "📕", "application/zip": "🗜️", "text/plain": "📝", "text/csv": "📊"}


@register.filter
def file_icon(content_type: str) -> str:
    """The card's picture of a file's type (decorative: the card's name says what it is)."""
    if content_type in _ICONS:
        return _ICONS[content_type]
    family = (content_type or "").split("/")[0]
    return {"audio": "🎵", "video": "🎬", "image": "🖼️"}.get(family, "📄")
