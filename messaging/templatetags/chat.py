from django import template
from django.utils.safestring import mark_safe

from messaging import selectors
from messaging.html import conversation_title, render_conversation_entries, render_message_item

register = template.Library()


@register.inclusion_tag("messaging/partials/conversation_list.html", takes_context=True)
def conversation_list(context, active_id=None):
    """The sidebar list, on every page of the app shell."""
    user = context["request"].user
    return {"entries": selectors.list_conversations(user), "active_id": active_id, "request": context["request"],
            "user": user}


@register.simple_tag
def conversation_entries(entries, viewer, active_id=None):
    return mark_safe(render_conversation_entries(entries, viewer_id=viewer.pk, active_id=active_id,
                                                 page_size=selectors.SIDEBAR_PAGE_SIZE))


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
