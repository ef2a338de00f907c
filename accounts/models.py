import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy


def avatar_path(instance, filename: str) -> str:
    # The storage key is made by the server: an uploaded name never reaches the file system.
    return f"avatars/{uuid.uuid4().hex}.png"


class User(AbstractUser):
    """A person. Email addresses (and their verification) live in allauth's EmailAddress."""

    avatar = models.ImageField(upload_to=avatar_path, blank=True)
    about = models.CharField(max_length=500, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    # Privacy and notification settings.
    direct_messages_from = models.CharField(gettext_lazy("Who may start a chat with me"), max_length=8,
                                            default="everyone", choices=[("everyone", gettext_lazy("Everyone")),
                                                                         ("friends", gettext_lazy("Friends only"))])
    hide_last_seen = models.BooleanField(gettext_lazy("Hide when I was last online"), default=False)
    email_digest = models.BooleanField(gettext_lazy("Email me a digest of unread messages when I am away"),
                                       default=True)
    digest_sent_at = models.DateTimeField(null=True, blank=True)
    # The AI assistant's account (messaging.assistant): never signs in (inactive, no password), so it
    # is in no people search, friend list or direct chat; its messages render like anyone's.
    is_bot = models.BooleanField(default=False, editable=False)
    # Web Push (accounts/push.py): what a notification on a lock screen may show, and when none comes.
    push_private_previews = models.BooleanField(
        gettext_lazy("Private previews: notifications say only “New message”"), default=False)
    quiet_hours_start = models.TimeField(gettext_lazy("Quiet hours from"), null=True, blank=True)
    quiet_hours_end = models.TimeField(gettext_lazy("Quiet hours until"), null=True, blank=True)
    # An IANA name (Europe/Paris); empty means the server's TIME_ZONE.
    time_zone = models.CharField(gettext_lazy("Time zone"), max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["email"])]

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def initials(self) -> str:
        parts = [p for p in (self.first_name, self.last_name) if p] or [self.username]
        return "".join(p[0] for p in parts[:2]).upper()


class Friendship(models.Model):
    """Two people are friends. One row per pair, the smaller id first."""

    user_a = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    user_b = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_a", "user_b"], name="one_friendship_per_pair"),
            models.CheckConstraint(condition=models.Q(user_a__lt=models.F("user_b")), name="friendship_pair_ordered"),
        ]
        indexes = [models.Index(fields=["user_b"])]

    @staticmethod
    def pair(one_id: int, other_id: int) -> dict:
        low, high = sorted((one_id, other_id))
        return {"user_a_id": low, "user_b_id": high}


class FriendRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", gettext_lazy("Pending")
        ACCEPTED = "accepted", gettext_lazy("Accepted")
        REJECTED = "rejected", gettext_lazy("Rejected")
        CANCELLED = "cancelled", gettext_lazy("Cancelled")

    from_user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="friend_requests_sent")
    to_user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="friend_requests_received")
    note = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["from_user", "to_user"], condition=models.Q(status="pending"),
                                    name="one_pending_request_per_direction"),
        ]


class Block(models.Model):
    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_received")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blocker", "blocked"], name="one_block_per_pair")]


class Notification(models.Model):
    class Kind(models.TextChoices):
        FRIEND_REQUEST = "friend_request", gettext_lazy("Friend request")
        FRIEND_ACCEPTED = "friend_accepted", gettext_lazy("Friend request accepted")
        GROUP_INVITATION = "group_invitation", gettext_lazy("Group invitation")
        MENTION = "mention", gettext_lazy("Mention")
        MISSED_CALL = "missed_call", gettext_lazy("Missed call")
        MESSAGE = "message", gettext_lazy("New messages")
        WEBHOOK_DISABLED = "webhook_disabled", gettext_lazy("Webhook disabled")

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=300, blank=True)
    # For "new messages" notifications: one unread row per conversation, updated as messages come.
    conversation = models.ForeignKey("messaging.Conversation", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["recipient", "read_at", "-updated_at"])]


class ApiToken(models.Model):
    """A personal access token for a bot or a script (the API's Authorization: Bearer). Only a
    hash is stored: the token is shown once, when it is made. A read token may only read."""

    class Scope(models.TextChoices):
        READ = "read", gettext_lazy("Read only")
        WRITE = "write", gettext_lazy("Read and write")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(gettext_lazy("Name"), max_length=80)
    scope = models.CharField(gettext_lazy("Access"), max_length=5, choices=Scope.choices, default=Scope.WRITE)
    # SHA-256 of the whole token: tokens are 256 random bits, so a fast hash is enough (no
    # dictionary to guess from) and lets every request find its token by one indexed lookup.
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, shown on the settings page so a person can tell tokens apart.
    prefix = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE


class PushSubscription(models.Model):
    """One browser on one device that accepted Web Push: where to send (the push service's
    endpoint) and the keys to encrypt for it (RFC 8291). A person has one per device."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=128)
    auth = models.CharField(max_length=64)
    # "Firefox on Android": lets a person tell their devices apart.
    user_agent = models.CharField(gettext_lazy("Device"), max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.user_id}: {self.user_agent or self.endpoint[:40]}"
