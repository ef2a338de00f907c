"""The calls app's real-time events (declared in chatsite.protocol): one ``call.updated`` per change
of a call, to every participant's tabs; the signalling relays are built in calls.frames."""

from django.urls import reverse

from chatsite.realtime import event

from .models import Call


def participant_info(participant) -> dict:
    person = participant.user
    return {
        "id": person.pk, "name": person.display_name, "initials": person.initials,
        "avatar": reverse("avatar", args=[person.pk]) if person.avatar else "",
        "status": participant.status, "connected": participant.disconnected_at is None,
    }


def call_info(call: Call) -> dict:
    """What a tab knows of a call: enough to ring, to draw the tiles and to place its offers."""
    conversation = call.conversation
    return {
        "id": call.pk, "version": call.version, "conversation": call.conversation_id, "kind": call.kind,
        "status": call.status,
        "initiator": call.initiator_id, "group": conversation.is_group,
        "title": conversation.title if conversation.is_group else "",
        "started_at": call.started_at.isoformat(),
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "participants": [participant_info(p) for p in call.participants.all()],
    }


def call_updated(call: Call) -> dict:
    return event("call.updated", {"call": call_info(call)})
