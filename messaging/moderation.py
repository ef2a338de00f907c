"""Reports and what moderators do with them: every state change of the moderation queue.

A moderator reads a private chat only through a report, and every such reading is recorded
(``AuditEntry``), as is every action taken.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services.profile import deactivate_user
from chatsite import ratelimit
from chatsite.errors import InvalidInput, NotAllowed, NotFound
from chatsite.ids import parse_id
from chatsite.text import clean_text

from .models import AuditEntry, Membership, Message, Report
from .selectors import access_message
from .services import erase_message

REPORT_RATE = "10/h"  # reports per person
DETAILS_MAX = 1000
CONTEXT_MESSAGES = 20  # messages either side of a reported one that a moderator sees


def _clean_report(reason, details) -> tuple[str, str]:
    if reason not in Report.Reason.values:
        raise InvalidInput(_("Choose why you are reporting this."), field="reason")
    details = clean_text(details, max_length=DETAILS_MAX, what=_("The details"), multiline=True, field="details")
    if reason == Report.Reason.OTHER and not details:
        raise InvalidInput(_("Say in a few words what is wrong."), field="details")
    return reason, details


def _store_once(report: Report, **target) -> Report:
    """The reporter's open report on the same target stands: reporting twice queues it once."""
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:
        return Report.objects.get(reporter=report.reporter, status=Report.Status.OPEN, **target)
    return report


def report_message(*, user: User, message_id, reason: str, details: str = "") -> Report:
    """Report a message of a chat the person is in to the moderators."""
    message = access_message(user, message_id)
    if message.sender_id is None:
        raise InvalidInput(_("Messages from the site itself cannot be reported."))
    if message.sender_id == user.pk:
        raise InvalidInput(_("You cannot report your own message."))
    if message.is_deleted:
        raise InvalidInput(_("That message was already deleted."))
    reason, details = _clean_report(reason, details)
    ratelimit.hit("report", user.pk, REPORT_RATE, _("You have sent many reports. Please wait a while."))
    report = Report(reporter=user, message=message, conversation_id=message.conversation_id,
                    reported_user_id=message.sender_id, reason=reason, details=details)
    return _store_once(report, message=message)


def report_user(*, user: User, user_id, reason: str, details: str = "") -> Report:
    """Report a person (their profile, their behaviour) to the moderators."""
    other = parse_id(user_id) and User.objects.filter(pk=parse_id(user_id), is_active=True).first()
    if not other:
        raise NotFound(_("That person does not exist."))
    if other.pk == user.pk:
        raise InvalidInput(_("You cannot report yourself."))
    reason, details = _clean_report(reason, details)
    ratelimit.hit("report", user.pk, REPORT_RATE, _("You have sent many reports. Please wait a while."))
    report = Report(reporter=user, reported_user=other, reason=reason, details=details)
    return _store_once(report, reported_user=other, message__isnull=True)


# --- Moderators ------------------------------------------------------------------------------------
def _require_moderator(moderator: User) -> None:
    if not (moderator.is_active and moderator.is_staff and moderator.has_perm("messaging.change_report")):
        raise NotAllowed(_("Only moderators can do that."))


def _report(report_id) -> Report:
    report = parse_id(report_id) and Report.objects.select_related(
        "message", "conversation", "reported_user", "reporter").filter(pk=parse_id(report_id)).first()
    if not report:
        raise NotFound(_("That report does not exist."))
    return report


@dataclass(frozen=True)
class ReportedChat:
    report: Report
    members: list[Membership]
    messages: list[Message]


@transaction.atomic
def open_reported_chat(*, moderator: User, report_id) -> ReportedChat:
    """What a moderator needs to judge a report: the chat's members and the messages around the
    reported one. Recorded in the audit log, whoever looks."""
    _require_moderator(moderator)
    report = _report(report_id)
    members, messages = [], []
    if report.conversation_id:
        members = list(Membership.objects.filter(conversation_id=report.conversation_id)
                       .select_related("user").order_by("joined_at"))
        around = report.message.seq if report.message else 0
        messages = list(Message.objects.filter(conversation_id=report.conversation_id,
                                               seq__gte=around - CONTEXT_MESSAGES, seq__lte=around + CONTEXT_MESSAGES)
                        .select_related("sender").order_by("seq"))
        AuditEntry.objects.create(actor=moderator, action=AuditEntry.Action.VIEWED_REPORTED_CHAT, report=report,
                                  conversation_id=report.conversation_id,
                                  detail=_("messages %(first)s to %(last)s") % {
                                      "first": messages[0].seq if messages else 0,
                                      "last": messages[-1].seq if messages else 0})
    return ReportedChat(report=report, members=members, messages=messages)


def _close(report: Report, moderator: User, *, status: str, outcome: str, note: str) -> None:
    report.status, report.outcome, report.note = status, outcome, note
    report.handled_by, report.handled_at = moderator, timezone.now()
    report.save(update_fields=["status", "outcome", "note", "handled_by", "handled_at"])


def _open_report(moderator: User, report_id, note) -> tuple[Report, str]:
    _require_moderator(moderator)
    report = _report(report_id)
    if report.status != Report.Status.OPEN:
        raise InvalidInput(_("That report was already handled."))
    note = clean_text(note, max_length=DETAILS_MAX, what=_("The note"), multiline=True, field="note")
    return report, note


@transaction.atomic
def dismiss_report(*, moderator: User, report_id, note: str = "") -> Report:
    report, note = _open_report(moderator, report_id, note)
    _close(report, moderator, status=Report.Status.DISMISSED, outcome=Report.Outcome.NONE, note=note)
    AuditEntry.objects.create(actor=moderator, action=AuditEntry.Action.DISMISSED_REPORT, report=report,
                              conversation_id=report.conversation_id, detail=note[:300])
    return report


@transaction.atomic
def resolve_report(*, moderator: User, report_id, outcome: str, note: str = "") -> Report:
    """Close a report with an action: delete the reported message for everyone, deactivate the
    reported person, or none. Other open reports of the same message or person close with it."""
    report, note = _open_report(moderator, report_id, note)
    if outcome not in Report.Outcome.values:
        raise InvalidInput(_("Choose what to do."), field="outcome")
    same = Report.objects.filter(status=Report.Status.OPEN)
    if outcome == Report.Outcome.MESSAGE_DELETED:
        if not report.message or report.message.is_deleted:
            raise InvalidInput(_("There is no message to delete: it was already deleted."), field="outcome")
        erase_message(report.message)
        AuditEntry.objects.create(actor=moderator, action=AuditEntry.Action.DELETED_MESSAGE, report=report,
                                  conversation_id=report.conversation_id, target_user_id=report.reported_user_id,
                                  detail=_("message %(seq)s") % {"seq": report.message.seq})
        same = same.filter(message_id=report.message_id)
    elif outcome == Report.Outcome.USER_DEACTIVATED:
        if not report.reported_user or report.reported_user.pk == moderator.pk:
            raise InvalidInput(_("There is no one to deactivate."), field="outcome")
        deactivate_user(user_id=report.reported_user_id)
        AuditEntry.objects.create(actor=moderator, action=AuditEntry.Action.DEACTIVATED_USER, report=report,
                                  target_user_id=report.reported_user_id)
        same = same.filter(reported_user_id=report.reported_user_id)
    else:
        same = same.filter(pk=report.pk)
    for each in same.exclude(pk=report.pk):
        _close(each, moderator, status=Report.Status.RESOLVED, outcome=outcome, note=note)
    _close(report, moderator, status=Report.Status.RESOLVED, outcome=outcome, note=note)
    AuditEntry.objects.create(actor=moderator, action=AuditEntry.Action.RESOLVED_REPORT, report=report,
                              conversation_id=report.conversation_id, detail=note[:300])
    return report
