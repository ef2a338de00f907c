"""Calls and who took part: the call log, and the state the signalling checks against.

A person is "in a call" while their participant row is JOINED in a call that is RINGING or ONGOING
(the initiator joins at the start). That is what "busy" means for someone else calling them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy


class Call(models.Model):
    class Kind(models.TextChoices):
        AUDIO = "audio", gettext_lazy("Audio")
        VIDEO = "video", gettext_lazy("Video")

    class Status(models.TextChoices):
        RINGING = "ringing", gettext_lazy("Ringing")
        ONGOING = "ongoing", gettext_lazy("Ongoing")
        ENDED = "ended", gettext_lazy("Ended")
        MISSED = "missed", gettext_lazy("Missed")
        DECLINED = "declined", gettext_lazy("Declined")
        CANCELLED = "cancelled", gettext_lazy("Cancelled")
        BUSY = "busy", gettext_lazy("Busy")

    ACTIVE = (Status.RINGING, Status.ONGOING)

    conversation = models.ForeignKey("messaging.Conversation", on_delete=models.CASCADE, related_name="calls")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    initiator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RINGING)
    started_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Counts the call's changes: events can arrive out of order (two people answer at once), so a
    # tab applies a call.updated only when it is newer than the one it holds.
    version = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["status", "started_at"])]
        constraints = [
            # One call at a time per conversation: a second "call" button joins the one going on.
            models.UniqueConstraint(fields=["conversation"], condition=Q(status__in=["ringing", "ongoing"]),
                                    name="one_active_call_per_conversation"),
        ]

    def __str__(self):
        return f"{self.kind} call #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def duration_seconds(self) -> int | None:
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(int((self.ended_at - self.answered_at).total_seconds()), 0)


class CallParticipant(models.Model):
    class Status(models.TextChoices):
        INVITED = "invited", gettext_lazy("Ringing")
        JOINED = "joined", gettext_lazy("In the call")
        LEFT = "left", gettext_lazy("Left")
        DECLINED = "declined", gettext_lazy("Declined")
        MISSED = "missed", gettext_lazy("Missed")
        BUSY = "busy", gettext_lazy("Busy")

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="call_participations")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.INVITED)
    joined_at = models.DateTimeField(null=True, blank=True)  # the first time they joined
    left_at = models.DateTimeField(null=True, blank=True)
    # Set when the socket that was in the call closed (a reload, a navigation, a lost network);
    # cleared when they come back. Past CALL_RECONNECT_SECONDS the sweep drops them.
    disconnected_at = models.DateTimeField(null=True, blank=True)
    # Which socket is in the call for this person (a token of the socket's own): the close of an
    # older socket, after the page has already rejoined from a new one, must not mark them gone.
    connection = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["call", "user"], name="one_participant_per_call")]
        indexes = [models.Index(fields=["user", "status"])]

    def __str__(self):
        return f"{self.user_id} in call {self.call_id} ({self.status})"
