"""The call history page. Thin: the rows are read by calls.selectors."""

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import selectors
from .models import Call, CallParticipant


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


def _row(call: Call, user) -> dict:
    participants = list(call.participants.all())
    mine = next((p for p in participants if p.user_id == user.pk), None)
    outgoing = call.initiator_id == user.pk
    others = [p.user.display_name for p in participants if p.user_id != user.pk]
    with_whom = call.conversation.title if call.conversation.is_group else ", ".join(others)
    if call.is_active:
        outcome = call.get_status_display()
    elif mine is not None and mine.status in (CallParticipant.Status.MISSED, CallParticipant.Status.BUSY) and not outgoing:
        outcome = _("Missed")
    elif mine is not None and mine.status == CallParticipant.Status.DECLINED:
        outcome = _("Declined")
    else:
        outcome = call.get_status_display()
    return {
        "call": call, "outgoing": outgoing, "direction": _("Outgoing") if outgoing else _("Incoming"),
        "kind": call.get_kind_display(), "outcome": outcome, "with_whom": with_whom,
        "people": ", ".join(others), "duration": _duration(call.duration_seconds),
        "missed": outcome == _("Missed"),
    }


@require_GET
def call_history(request):
    rows = [_row(call, request.user) for call in selectors.list_call_history(request.user)]
    return render(request, "calls/history.html", {"rows": rows})
