"""Every change of a call: start, answer, decline, hang up / leave, join / rejoin, the socket
dropping out, and the sweep of calls that rang too long or people who never came back.

Each transition locks the call's row, changes it and its participants, and publishes one
``call.updated`` to every participant's tabs after commit. A call that finishes writes a call
message into its conversation ("Video call, 4 min", "Missed audio call"); a missed call notifies
whom it missed."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import policy
from accounts import services as account_services
from accounts.models import Notification, User
from chatsite import ratelimit
from chatsite.errors import ErrorCode, InvalidInput, NotAllowed, ServiceError
from chatsite.realtime import publish_on_commit, user_group
from messaging import services as messaging_services
from messaging.models import Conversation, Membership, Message
from messaging.selectors import access_membership

from . import events, selectors
from .models import Call, CallParticipant

START_RATE = "10/m"  # calls a person may place per minute (each one rings other people)
P = CallParticipant.Status


def _publish(call_id: int) -> Call:
    Call.objects.filter(pk=call_id).update(version=F("version") + 1)
    call = selectors.get_call(call_id)
    publish_on_commit([user_group(p.user_id) for p in call.participants.all()], events.call_updated(call))
    return call


def _check_free(user: User) -> None:
    if selectors.current_call_of(user.pk) is not None:
        raise ServiceError(_("You are already in a call. Hang up first."), code=ErrorCode.BUSY)


def _kind_label(kind: str) -> str:
    return _("video call") if kind == Call.Kind.VIDEO else _("audio call")


def _duration_label(seconds: int) -> str:
    if seconds < 60:
        return _("%(n)s s") % {"n": seconds}
    if seconds < 3600:
        return _("%(n)s min") % {"n": round(seconds / 60)}
    return _("%(h)s h %(m)s min") % {"h": seconds // 3600, "m": (seconds % 3600) // 60}


def call_message_text(call: Call) -> str:
    """The line a finished call leaves in its chat (in the server's language, like every stored text)."""
    kind = call.kind
    if call.status == Call.Status.ENDED:
        label = _("Video call") if kind == Call.Kind.VIDEO else _("Audio call")
        return _("%(call)s, %(duration)s") % {"call": label, "duration": _duration_label(call.duration_seconds or 0)}
    if call.status == Call.Status.DECLINED:
        return _("Declined %(kind)s") % {"kind": _kind_label(kind)}
    if call.status == Call.Status.CANCELLED:
        return _("Cancelled %(kind)s") % {"kind": _kind_label(kind)}
    if call.status == Call.Status.BUSY:
        return _("Missed %(kind)s (busy)") % {"kind": _kind_label(kind)}
    return _("Missed %(kind)s") % {"kind": _kind_label(kind)}


def _notify_missed(call: Call, user_ids) -> None:
    caller = call.initiator
    name = caller.display_name if caller else _("someone")
    text = _("Missed %(kind)s from %(name)s") % {"kind": _kind_label(call.kind), "name": name}
    for user_id in user_ids:
        account_services.notify(recipient_id=user_id, kind=Notification.Kind.MISSED_CALL, text=text,
                                url=f"/c/{call.conversation_id}/", actor=caller, conversation_id=call.conversation_id)


def _finish(call: Call, status: str, now: datetime) -> None:
    """End ``call`` (locked) with ``status``: whoever was in it has left, whoever was still rung missed it."""
    call.status, call.ended_at = status, now
    call.save(update_fields=["status", "ended_at"])
    call.participants.filter(status=P.JOINED).update(status=P.LEFT, left_at=now, disconnected_at=None)
    missed = list(call.participants.filter(status=P.INVITED).values_list("user_id", flat=True))
    call.participants.filter(status=P.INVITED).update(status=P.MISSED)
    busy = list(call.participants.filter(status=P.BUSY).values_list("user_id", flat=True)) if status == Call.Status.BUSY else []
    message = messaging_services.post_message(conversation_id=call.conversation_id, sender=call.initiator,
                                              kind=Message.Kind.CALL, body=call_message_text(call))
    # The line is the caller's, as their own sends are: it is not unread for them (unless they had
    # not read what came before it either).
    if call.initiator_id and Membership.objects.filter(conversation_id=call.conversation_id, user_id=call.initiator_id,
                                                       last_read_seq__gte=message.seq - 1).exists():
        messaging_services.mark_read(user=call.initiator, conversation_id=call.conversation_id, seq=message.seq)
    if missed or busy:
        _notify_missed(call, missed + busy)


@transaction.atomic
def start_call(*, user: User, conversation_id: int, kind: str, connection: str = "") -> Call:
    """Ring the other people of a direct or group chat. Someone already in a call is busy: in a
    direct chat the call then ends at once as BUSY (a call message, a missed-call notification)."""
    if kind not in Call.Kind.values:
        raise InvalidInput(_("A call is audio or video."), field="kind")
    membership = access_membership(user, conversation_id)
    conversation = membership.conversation
    if conversation.kind not in (Conversation.Kind.DIRECT, Conversation.Kind.GROUP):
        raise NotAllowed(_("You cannot call in this conversation."))
    others = list(User.objects.filter(memberships__conversation=conversation, is_active=True).exclude(pk=user.pk))
    if not others:
        raise InvalidInput(_("There is nobody to call in this conversation."))
    if conversation.kind == Conversation.Kind.DIRECT:
        policy.check_call(user, others[0], share_direct_chat=True)
    if Call.objects.filter(conversation=conversation, status__in=Call.ACTIVE).exists():
        raise ServiceError(_("A call is already going on in this chat: join it instead."), code=ErrorCode.BUSY)
    _check_free(user)
    ratelimit.hit("call_start", user.pk, START_RATE, _("You are placing calls too often. Please wait a moment."))
    now = timezone.now()
    try:
        with transaction.atomic():
            call = Call.objects.create(conversation=conversation, kind=kind, initiator=user)
    except IntegrityError:  # someone else in this chat started one a moment ago
        raise ServiceError(_("A call is already going on in this chat: join it instead."), code=ErrorCode.BUSY) from None
    busy = selectors.busy_ids(o.pk for o in others)
    CallParticipant.objects.bulk_create(
        [CallParticipant(call=call, user=user, status=P.JOINED, joined_at=now, connection=connection)]
        + [CallParticipant(call=call, user=o, status=P.BUSY if o.pk in busy else P.INVITED) for o in others])
    if len(busy) == len(others):
        _finish(call, Call.Status.BUSY, now)
    return _publish(call.pk)


def _participant(call: Call, user: User) -> CallParticipant | None:
    return CallParticipant.objects.filter(call=call, user=user).first()


def _join(call: Call, user: User, participant: CallParticipant | None, *, connection: str) -> Call:
    joined = call.participants.filter(status=P.JOINED).exclude(user=user).count()
    if joined >= settings.CALL_MAX_PARTICIPANTS:
        raise ServiceError(_("This call is full: at most %(max)s people can be in one call.")
                           % {"max": settings.CALL_MAX_PARTICIPANTS}, code=ErrorCode.CALL_FULL)
    now = timezone.now()
    if participant is None:
        participant = CallParticipant(call=call, user=user)
    participant.status, participant.disconnected_at, participant.connection = P.JOINED, None, connection
    participant.joined_at = participant.joined_at or now
    participant.left_at = None
    participant.save()
    if call.status == Call.Status.RINGING:
        call.status, call.answered_at = Call.Status.ONGOING, now
        call.save(update_fields=["status", "answered_at"])
    return _publish(call.pk)


@transaction.atomic
def accept_call(*, user: User, call_id: int, connection: str = "") -> Call:
    """Answer a call that rings for you. A second answer (another tab) is refused: the first won."""
    call = selectors.access_call(user, call_id, for_update=True)
    participant = _participant(call, user)
    if participant is None or not call.is_active:
        raise ServiceError(_("That call has ended."), code=ErrorCode.BUSY)
    if participant.status == P.JOINED:
        raise ServiceError(_("You answered this call in another tab."), code=ErrorCode.BUSY)
    if participant.status != P.INVITED:
        raise ServiceError(_("That call no longer rings for you."), code=ErrorCode.BUSY)
    _check_free(user)
    return _join(call, user, participant, connection=connection)


@transaction.atomic
def join_call(*, user: User, call_id: int, connection: str = "") -> Call:
    """Join an ongoing call of one's chat: a group call one left or was never rung for, or the call
    one was in before the page reloaded (the tab comes back with the same call)."""
    call = selectors.access_call(user, call_id, for_update=True)
    participant = _participant(call, user)
    if not call.is_active:
        raise ServiceError(_("That call has ended."), code=ErrorCode.BUSY)
    if participant is not None and participant.status == P.INVITED:
        return accept_call(user=user, call_id=call.pk, connection=connection)
    if call.status != Call.Status.ONGOING:
        raise ServiceError(_("That call has not been answered yet."), code=ErrorCode.BUSY)
    if not call.conversation.is_group and (participant is None or participant.status != P.JOINED):
        raise ServiceError(_("That call has ended."), code=ErrorCode.BUSY)  # a direct call ends when one leaves
    current = selectors.current_call_of(user.pk)
    if current is not None and current.pk != call.pk:
        raise ServiceError(_("You are already in a call. Hang up first."), code=ErrorCode.BUSY)
    return _join(call, user, participant, connection=connection)


@transaction.atomic
def decline_call(*, user: User, call_id: int) -> Call:
    call = selectors.access_call(user, call_id, for_update=True)
    participant = _participant(call, user)
    if participant is None or participant.status != P.INVITED or not call.is_active:
        raise ServiceError(_("That call no longer rings for you."), code=ErrorCode.BUSY)
    participant.status = P.DECLINED
    participant.save(update_fields=["status"])
    _settle_ringing(call, timezone.now())
    return _publish(call.pk)


def _settle_ringing(call: Call, now: datetime) -> None:
    """A ringing call nobody is left to answer ends: declined if someone said no, else missed."""
    if call.status != Call.Status.RINGING or call.participants.filter(status=P.INVITED).exists():
        return
    declined = call.participants.filter(status=P.DECLINED).exists()
    _finish(call, Call.Status.DECLINED if declined else Call.Status.MISSED, now)


def _leave(call: Call, participant: CallParticipant, now: datetime) -> None:
    """``participant`` (joined) leaves: the caller of a ringing call cancels it; a direct call ends
    when either leaves; a group call when the last person leaves."""
    if call.status == Call.Status.RINGING and participant.user_id == call.initiator_id:
        _finish(call, Call.Status.CANCELLED, now)
        return
    participant.status, participant.left_at, participant.disconnected_at = P.LEFT, now, None
    participant.save(update_fields=["status", "left_at", "disconnected_at"])
    remaining = call.participants.filter(status=P.JOINED).count()
    if call.status == Call.Status.RINGING:
        if remaining == 0:
            _finish(call, Call.Status.CANCELLED, now)
    elif remaining == 0 or (not call.conversation.is_group and remaining < 2):
        _finish(call, Call.Status.ENDED, now)


@transaction.atomic
def hang_up(*, user: User, call_id: int) -> Call:
    """Hang up, leave, or (for the one rung) decline: whatever ends one's part in the call."""
    call = selectors.access_call(user, call_id, for_update=True)
    participant = _participant(call, user)
    if participant is None or not call.is_active:
        raise ServiceError(_("That call has ended."), code=ErrorCode.BUSY)
    if participant.status == P.INVITED:
        return decline_call(user=user, call_id=call.pk)
    if participant.status != P.JOINED:
        raise ServiceError(_("You are not in that call."), code=ErrorCode.NOT_MEMBER)
    _leave(call, participant, timezone.now())
    return _publish(call.pk)


@transaction.atomic
def disconnect(*, user: User, call_ids, connection: str) -> None:
    """The socket that was in these calls closed (a reload, a navigation, a lost network). The
    person stays in the call for CALL_RECONNECT_SECONDS so that the next page can rejoin it; the
    others' tiles show them as reconnecting. A socket that is no longer the person's connection to
    the call (they rejoined from another page first) changes nothing."""
    now = timezone.now()
    for participant in CallParticipant.objects.filter(call_id__in=list(call_ids), user=user, status=P.JOINED,
                                                      connection=connection, call__status__in=Call.ACTIVE):
        participant.disconnected_at = now
        participant.save(update_fields=["disconnected_at"])
        _publish(participant.call_id)


def expire_ringing(*, now: datetime | None = None) -> int:
    """Calls that rang CALL_RING_SECONDS without an answer are missed; in an ongoing group call,
    the people still rung stop ringing (they missed it). Returns the calls changed."""
    now = now or timezone.now()
    deadline = now - timedelta(seconds=settings.CALL_RING_SECONDS)
    changed = 0
    for call_id in list(Call.objects.filter(status__in=Call.ACTIVE, started_at__lte=deadline,
                                            participants__status=P.INVITED).values_list("pk", flat=True).distinct()):
        with transaction.atomic():
            call = Call.objects.select_for_update().filter(pk=call_id, status__in=Call.ACTIVE).first()
            if call is None:
                continue
            if call.status == Call.Status.RINGING:
                _finish(call, Call.Status.MISSED, now)
            else:
                missed = list(call.participants.filter(status=P.INVITED).values_list("user_id", flat=True))
                call.participants.filter(status=P.INVITED).update(status=P.MISSED)
                _notify_missed(call, missed)
            _publish(call.pk)
            changed += 1
    return changed


def drop_disconnected(*, now: datetime | None = None) -> int:
    """People whose socket closed more than CALL_RECONNECT_SECONDS ago and who did not come back
    leave their calls, so no call stays "ongoing" for a page that is gone. Returns the people dropped."""
    now = now or timezone.now()
    deadline = now - timedelta(seconds=settings.CALL_RECONNECT_SECONDS)
    dropped = 0
    for participant_id, call_id in list(CallParticipant.objects.filter(
            status=P.JOINED, disconnected_at__lte=deadline, call__status__in=Call.ACTIVE).values_list("pk", "call_id")):
        with transaction.atomic():
            call = Call.objects.select_for_update().filter(pk=call_id, status__in=Call.ACTIVE).first()
            participant = CallParticipant.objects.filter(pk=participant_id, status=P.JOINED,
                                                         disconnected_at__lte=deadline).first()
            if call is None or participant is None:
                continue
            _leave(call, participant, now)
            _publish(call.pk)
            dropped += 1
    return dropped


def sweep_calls(*, now: datetime | None = None) -> dict:
    """The periodic job (calls/tasks.py, every CALL_SWEEP_EVERY_MINUTES; ``manage.py sweep_calls``
    by hand): ringing calls time out as missed, vanished participants
    are dropped. Idempotent: running it twice changes nothing more."""
    return {"missed": expire_ringing(now=now), "dropped": drop_disconnected(now=now)}


def expire_all_active(*, now: datetime | None = None) -> int:
    """At a server start with nobody connected (``manage.py sweep_calls --all``): no call from
    before stays ringing or ongoing forever."""
    now = now or timezone.now()
    ended = 0
    for call_id in list(Call.objects.filter(status__in=Call.ACTIVE).values_list("pk", flat=True)):
        with transaction.atomic():
            call = Call.objects.select_for_update().filter(pk=call_id, status__in=Call.ACTIVE).first()
            if call is None:
                continue
            _finish(call, Call.Status.MISSED if call.status == Call.Status.RINGING else Call.Status.ENDED, now)
            _publish(call.pk)
            ended += 1
    return ended

