from django import template
from django.utils.safestring import mark_safe

from messaging import selectors
from django.template.loader import render_to_string

from messaging.html import conversation_title, render_conversation_entry, render_message_item

register = template.Library()


@register.inclusion_tag("messaging/partials/conversation_list.html", takes_context=True)
def conversation_list(context, active_id=None):
    """The sidebar list, on every page of the app shell."""
    user = context["request"].user
    return {"entries": selectors.list_conversations(user), "active_id": active_id, "request": context["request"],
            "user": user, "page_size": selectors.SIDEBAR_PAGE_SIZE}


@register.simple_tag
def conversation_entries(entries, viewer, active_id=None, page_size=None, offset=0):
    """The sidebar entries, then a "More conversations" loader when the page was full."""
    html = "".join(render_conversation_entry(entry, viewer_id=viewer.pk, active_id=active_id) for entry in entries)
    if page_size and len(entries) >= page_size:
        html += render_to_string("messaging/partials/more_conversations.html", {"offset": offset + len(entries)})
    return mark_safe(html)


@register.simple_tag(takes_context=True)
def pending_invitation_count(context) -> int:
    from groups.selectors import count_pending_invitations

    return count_pending_invitations(context["request"].user.pk)


@register.filter
def entry_title(entry) -> str:
    return conversation_title(entry)


@register.simple_tag
def message_item(message, starred=()):
    """One message's <li>; ``starred``: the ids of the messages the reader starred."""
    return mark_safe(render_message_item(message, reactions=selectors.reaction_summary(message),
                                         starred=message.pk in (starred or ())))


@register.simple_tag
def reaction_choices():
    from messaging.services import REACTION_CHOICES

    return REACTION_CHOICES.items()


COMPOSER_EMOJI = "😀 😂 😊 😍 😎 🤔 😅 😢 😮 😡 👍 👎 👏 🙏 💪 👋 ❤️ 🔥 🎉 ✅ ❌ ⭐ ☕ 🍕".split()


@register.simple_tag
def composer_emoji():
    return COMPOSER_EMOJI


@register.simple_tag(takes_context=True)
def unread_notification_count(context) -> int:
    from accounts.selectors import count_unread_notifications

    return count_unread_notifications(context["request"].user.pk)
