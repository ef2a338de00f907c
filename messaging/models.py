"""Conversations, memberships, messages. One Conversation model serves direct, group and assistant
chats; per-user state (role, pin, mute, read watermark) lives on Membership."""

import uuid
from html import unescape

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


def avatar_path(instance, filename: str) -> str:
    return f"conversation-avatars/{uuid.uuid4().hex}.png"


class Conversation(models.Model):
    class Kind(models.TextChoices):
        DIRECT = "direct", gettext_lazy("Direct")
        GROUP = "group", gettext_lazy("Group")
        ASSISTANT = "assistant", gettext_lazy("Assistant")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=500, blank=True)
    avatar = models.ImageField(upload_to=avatar_path, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # "<smaller user id>:<larger user id>" for direct chats: the database keeps one chat per pair.
    direct_key = models.CharField(max_length=41, unique=True, null=True, blank=True)
    # The seq allocator: the last seq handed out. Messages are numbered 1, 2, 3... without gaps.
    last_seq = models.PositiveBigIntegerField(default=0)
    last_message = models.ForeignKey("Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Policy(models.TextChoices):
        EVERYONE = "everyone", gettext_lazy("Everyone")
        ADMINS = "admins", gettext_lazy("Admins only")

    # Group settings (ignored for direct chats).
    post_policy = models.CharField(gettext_lazy("Who may post"), max_length=8, choices=Policy.choices,
                                   default=Policy.EVERYONE)
    invite_policy = models.CharField(gettext_lazy("Who may invite"), max_length=8, choices=Policy.choices,
                                     default=Policy.ADMINS)
    mention_all_policy = models.CharField(gettext_lazy("Who may mention @all"), max_length=8, choices=Policy.choices,
                                          default=Policy.ADMINS)

    def __str__(self):
        return self.title or f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_group(self) -> bool:
        return self.kind == self.Kind.GROUP

    @staticmethod
    def make_direct_key(user_a_id: int, user_b_id: int) -> str:
        low, high = sorted((user_a_id, user_b_id))
        return f"{low}:{high}"

    def counterpart_id(self, user_id: int) -> int | None:
        """The other person of a direct chat (read from its key: no query); None for other kinds."""
        if self.kind != self.Kind.DIRECT or not self.direct_key:
            return None
        low, high = (int(i) for i in self.direct_key.split(":"))
        return high if low == user_id else low


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", gettext_lazy("Owner")
        ADMIN = "admin", gettext_lazy("Admin")
        MEMBER = "member", gettext_lazy("Member")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)
    pinned = models.BooleanField(default=False)
    muted = models.BooleanField(default=False)
    # Watermarks: every message with seq <= last_read_seq has been seen by this member.
    last_read_seq = models.PositiveBigIntegerField(default=0)
    last_delivered_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "user"], name="one_membership_per_user")]
        indexes = [models.Index(fields=["user", "-pinned"])]

    def __str__(self):
        return f"{self.user} in {self.conversation} ({self.role})"

    @property
    def is_admin(self) -> bool:
        """Owner or admin: the roles that manage a group."""
        return self.role in (self.Role.OWNER, self.Role.ADMIN)

    def may(self, policy: str) -> bool:
        return policy == Conversation.Policy.EVERYONE or self.is_admin

    @property
    def unread_count(self) -> int:
        return max(self.conversation.last_seq - self.last_read_seq, 0)


class Message(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", gettext_lazy("Text")
        IMAGE = "image", gettext_lazy("Image")
        FILE = "file", gettext_lazy("File")
        AUDIO = "audio", gettext_lazy("Audio")
        VIDEO = "video", gettext_lazy("Video")
        LINK = "link", gettext_lazy("Link")
        SYSTEM = "system", gettext_lazy("System")
        CALL = "call", gettext_lazy("Call")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveBigIntegerField()
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEXT)
    body = models.TextField(blank=True)
    # The sanitised HTML of body, made once at write time so that reads never re-render markdown.
    body_html = models.TextField(blank=True)
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Made by the sending client; a retried send with the same id is stored once.
    client_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Space-separated ids of the mentioned users, "all" for @all: lets one rendering of a message
    # highlight it for exactly the people it mentions (a per-user CSS rule, like "mine").
    mention_ids = models.CharField(max_length=2000, blank=True)
    # The incoming webhook that posted it, by name, shown as "via <name>" ("" for anything else).
    via = models.CharField(max_length=80, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="one_message_per_seq"),
            models.UniqueConstraint(fields=["sender", "client_id"], condition=~Q(client_id=""), name="one_message_per_client_id"),
        ]

    def __str__(self):
        return f"#{self.seq} in {self.conversation_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def preview(self) -> str:
        if self.is_deleted:
            return _("Message deleted")
        if self.kind != self.Kind.TEXT and not self.body:
            return self.get_kind_display()
        # Plain text of what people see (markdown applied, marks removed), not the raw markdown.
        text = " ".join(unescape(strip_tags(self.body_html or self.body)).split())
        return text[:80] + ("…" if len(text) > 80 else "")


def attachment_path(instance, filename: str) -> str:
    # The storage key is made by the server; the uploaded name is kept only as data.
    return f"attachments/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file sent in a message. Served only through an authorising view (never a public URL).

    Uploaded first, claimed by a message later (``message`` is empty until then): the send that
    claims it is the message's one write, so a retried send finds its files claimed already and
    stores nothing twice. Uploads no message claimed are removed after UPLOAD_GRACE_MINUTES
    (``manage.py cleanup_uploads``)."""

    class Kind(models.TextChoices):
        IMAGE = "image", gettext_lazy("Image")
        AUDIO = "audio", gettext_lazy("Audio")
        VIDEO = "video", gettext_lazy("Video")
        FILE = "file", gettext_lazy("File")

    class Status(models.TextChoices):
        # S3: a presigned POST was handed out; the object is checked before a message may claim it.
        PENDING = "pending", gettext_lazy("Pending")
        READY = "ready", gettext_lazy("Ready")

    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    file = models.FileField(upload_to=attachment_path)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.FILE)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.READY)
    content_type = models.CharField(max_length=100)  # sniffed from the bytes, not the browser's word
    size = models.PositiveBigIntegerField()
    original_name = models.CharField(max_length=255)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    # A voice note's length as the recorder measured it (a recording's container often has none).
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    thumbnail = models.FileField(upload_to=attachment_path, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["uploader", "message"]), models.Index(fields=["message", "created_at"])]

    def __str__(self):
        return self.original_name

    @property
    def is_voice_note(self) -> bool:
        return self.kind == self.Kind.AUDIO and self.duration_ms is not None


class Mention(models.Model):
    """``user`` was mentioned in ``message`` (by @username or @all)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentions")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="one_mention_per_user")]


class Reaction(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user", "emoji"], name="one_reaction_per_emoji")]


class Star(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stars")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "message"], name="one_star_per_message")]
        indexes = [models.Index(fields=["user", "-created_at"])]


class Report(models.Model):
    """A person's report of a message or of another person, for the moderators' queue."""

    class Reason(models.TextChoices):
        SPAM = "spam", gettext_lazy("Spam")
        ABUSE = "abuse", gettext_lazy("Abuse or harassment")
        OTHER = "other", gettext_lazy("Something else")

    class Status(models.TextChoices):
        OPEN = "open", gettext_lazy("Open")
        RESOLVED = "resolved", gettext_lazy("Resolved")
        DISMISSED = "dismissed", gettext_lazy("Dismissed")

    class Outcome(models.TextChoices):
        NONE = "", gettext_lazy("No action")
        MESSAGE_DELETED = "message_deleted", gettext_lazy("Message deleted for everyone")
        USER_DEACTIVATED = "user_deactivated", gettext_lazy("Person deactivated")

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reported_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                      related_name="reports_against")
    # The reported message and its chat (the chat stays when the message is erased).
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    conversation = models.ForeignKey(Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=8, choices=Reason.choices)
    details = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.OPEN, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default=Outcome.NONE)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(gettext_lazy("Moderator's note"), max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One open report per reporter and target: reporting twice does not queue it twice.
            models.UniqueConstraint(fields=["reporter", "message"], condition=Q(status="open", message__isnull=False),
                                    name="one_open_report_per_message"),
            models.UniqueConstraint(fields=["reporter", "reported_user"],
                                    condition=Q(status="open", message__isnull=True),
                                    name="one_open_report_per_person"),
        ]

    def __str__(self):
        what = _("message") if self.message_id else _("person")
        return _("Report #%(id)s (%(what)s)") % {"id": self.pk, "what": what}


class AuditEntry(models.Model):
    """Who looked at or acted on what, when: every moderator's view of a reported chat and every
    moderation action. Written by the moderation services, never edited."""

    class Action(models.TextChoices):
        VIEWED_REPORTED_CHAT = "viewed_chat", gettext_lazy("Viewed a reported chat")
        DELETED_MESSAGE = "deleted_message", gettext_lazy("Deleted a message for everyone")
        DEACTIVATED_USER = "deactivated_user", gettext_lazy("Deactivated a person")
        RESOLVED_REPORT = "resolved", gettext_lazy("Resolved a report")
        DISMISSED_REPORT = "dismissed", gettext_lazy("Dismissed a report")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit")
    conversation = models.ForeignKey(Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    target_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = gettext_lazy("audit entries")

    def __str__(self):
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class AssistantUsage(models.Model):
    """What one person's assistant requests cost in one calendar month (UTC): tokens from the API's
    ``usage``, or counted from the text when the endpoint gives none. The monthly budget
    (ASSISTANT_MONTHLY_TOKENS) is checked against it; admins reset it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text=gettext_lazy("The first day of the month."))
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "month"], name="one_usage_row_per_user_month")]
        verbose_name = gettext_lazy("assistant usage")
        verbose_name_plural = gettext_lazy("assistant usage")

    def __str__(self):
        return f"{self.user} {self.month:%Y-%m}"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Webhook(models.Model):
    """An outgoing webhook: a bot's URL that receives, as signed JSON, the events of the chats its
    person is in (messaging/webhooks.py). Registered with a token (POST /api/v1/webhooks); it stops
    with the token. After WEBHOOK_MAX_FAILURES failed calls in a row it is disabled, and its person told."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks")
    token = models.ForeignKey("accounts.ApiToken", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    # The HMAC key each call is signed with. Kept as it is (signing needs it); shown once, when made.
    secret = models.CharField(max_length=64)
    active = models.BooleanField(default=True)
    failures = models.PositiveIntegerField(default=0)  # failed calls in a row
    last_error = models.CharField(max_length=300, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["active", "user"])]

    def __str__(self):
        return f"Webhook #{self.pk} of {self.user_id}"


class IncomingWebhook(models.Model):
    """A chat's incoming webhook: POST /hooks/<secret> with {"text": …} posts a message there as
    its creator, marked "via <name>". Only the secret's hash is stored: it is shown once."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="incoming_webhooks")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(gettext_lazy("Name"), max_length=80)
    secret_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)  # the first characters, to tell hooks apart
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["conversation", "revoked_at"])]

    def __str__(self):
        return self.name
