from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy


class GroupInvitation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", gettext_lazy("Pending")
        ACCEPTED = "accepted", gettext_lazy("Accepted")
        DECLINED = "declined", gettext_lazy("Declined")
        REVOKED = "revoked", gettext_lazy("Revoked")

    conversation = models.ForeignKey("messaging.Conversation", on_delete=models.CASCADE, related_name="invitations")
    inviter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    invitee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_invitations")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "invitee"], condition=Q(status="pending"),
                                    name="one_pending_invitation_per_invitee"),
        ]
        indexes = [models.Index(fields=["invitee", "status"])]

    def __str__(self):
        return f"{self.invitee} to {self.conversation} ({self.status})"
