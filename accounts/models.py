import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


def avatar_path(instance, filename: str) -> str:
    # The storage key is made by the server: an uploaded name never reaches the file system.
    return f"avatars/{uuid.uuid4().hex}.png"


class User(AbstractUser):
    """A person. Email addresses (and their verification) live in allauth's EmailAddress."""

    avatar = models.ImageField(upload_to=avatar_path, blank=True)
    about = models.CharField(max_length=500, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["email"])]

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def initials(self) -> str:
        parts = [p for p in (self.first_name, self.last_name) if p] or [self.username]
        return "".join(p[0] for p in parts[:2]).upper()
