"""Reads of calls. ``access_call`` fetches and authorises: a call is seen by the members of its
conversation (a non-member gets NotFound, never a hint that it exists)."""

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from chatsite.errors import NotFound
from chatsite.ids import parse_id
from messaging.models import Membership

from .models import Call, CallParticipant

HISTORY_PAGE = 100


def _with_people(queryset):
    return queryset.select_related("conversation", "initiator").prefetch_related(
        Prefetch("participants", queryset=CallParticipant.objects.select_related("user").order_by("pk")))


def access_call(user, call_id, *, for_update: bool = False) -> Call:
    call_id = parse_id(call_id)
    queryset = Call.objects.select_for_update() if for_update else Call.objects
    call = call_id and queryset.filter(pk=call_id).first()
    if not call or not Membership.objects.filter(conversation_id=call.conversation_id, user=user).exists():
        raise NotFound(_("That call does not exist."))
    return call


def get_call(call_id: int) -> Call:
    """A call with its conversation and participants, for its events."""
    return _with_people(Call.objects.filter(pk=call_id)).get()


def joined_ids(call_id: int) -> set[int]:
    """The people in the call now: who may signal to whom."""
    return set(CallParticipant.objects.filter(call_id=call_id, status=CallParticipant.Status.JOINED,
                                              call__status__in=Call.ACTIVE).values_list("user_id", flat=True))


def current_call_of(user_id: int) -> Call | None:
    """The active call the person is in (joined), if any: another call finds them busy."""
    participant = (CallParticipant.objects.filter(user_id=user_id, status=CallParticipant.Status.JOINED,
                                                  call__status__in=Call.ACTIVE).select_related("call").first())
    return participant.call if participant else None


def busy_ids(user_ids) -> set[int]:
    return set(CallParticipant.objects.filter(user_id__in=list(user_ids), status=CallParticipant.Status.JOINED,
                                              call__status__in=Call.ACTIVE).values_list("user_id", flat=True))


def list_active_calls(user) -> list[Call]:
    """The active calls of the person's conversations they are ringing for or in: what a new tab
    shows (an incoming call, or the call to rejoin after a reload) and the ongoing group calls of
    their chats they may join."""
    ids = Call.objects.filter(status__in=Call.ACTIVE, conversation__memberships__user=user).values("pk")
    return list(_with_people(Call.objects.filter(pk__in=ids)).order_by("pk"))


def list_call_history(user, limit: int = HISTORY_PAGE) -> list[Call]:
    """The calls of the person's conversations that they were part of (placed, rung or joined), newest first."""
    ids = CallParticipant.objects.filter(user=user).values("call_id")
    return list(_with_people(Call.objects.filter(pk__in=ids)).order_by("-started_at", "-pk")[:limit])
