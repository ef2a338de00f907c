"""One person's data as a zip, for data-access requests: what they gave the site, nothing of
anyone else's (their friends appear by name only; other people's messages not at all)."""

import json
import zipfile
from pathlib import Path

from allauth.account.models import EmailAddress
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q

from accounts.models import Block, FriendRequest, Friendship, User

from .models import Attachment, Membership, Message

README = """This archive holds the data of {name} (@{username}) on {site}, exported {when}.

profile.json        your account, email addresses and settings
friends.json        your friends, the friend requests you sent, the people you blocked
conversations.json  the chats you are in (direct chats by the other person's username)
messages.json       every message you sent that you have not deleted
files/              the files you sent (files.json lists them with their messages)
avatar.png          your picture, if you set one
"""


def _dump(archive: zipfile.ZipFile, name: str, data) -> None:
    archive.writestr(name, json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False))


def _profile(user: User) -> dict:
    return {
        "username": user.username, "first_name": user.first_name, "last_name": user.last_name,
        "about": user.about, "date_joined": user.date_joined, "last_login": user.last_login,
        "last_seen": user.last_seen,
        "emails": list(EmailAddress.objects.filter(user=user).values("email", "verified", "primary")),
        "settings": {"direct_messages_from": user.direct_messages_from, "hide_last_seen": user.hide_last_seen,
                     "email_digest": user.email_digest},
    }


def _friends(user: User) -> dict:
    pairs = Friendship.objects.filter(Q(user_a=user) | Q(user_b=user)).select_related("user_a", "user_b")
    return {
        "friends": [{"username": other.username, "since": pair.created_at}
                    for pair in pairs for other in [pair.user_b if pair.user_a_id == user.pk else pair.user_a]],
        "requests_sent": list(FriendRequest.objects.filter(from_user=user)
                              .values("to_user__username", "note", "status", "created_at")),
        "blocked": list(Block.objects.filter(blocker=user).values("blocked__username", "created_at")),
    }


def _conversations(user: User) -> list[dict]:
    memberships = list(Membership.objects.filter(user=user).select_related("conversation"))
    # The other person of each direct chat, in one query (their username only).
    direct_ids = [m.conversation_id for m in memberships if not m.conversation.is_group]
    others = dict(Membership.objects.filter(conversation_id__in=direct_ids).exclude(user=user)
                  .values_list("conversation_id", "user__username"))
    entries = []
    for membership in memberships:
        conversation = membership.conversation
        entry = {"id": conversation.pk, "kind": conversation.kind, "role": membership.role,
                 "joined_at": membership.joined_at}
        if conversation.is_group:
            entry["title"] = conversation.title
        else:
            entry["with"] = others.get(conversation.pk)
        entries.append(entry)
    return entries


def export_user_data(user: User, path: Path, *, site: str, when: str) -> Path:
    """Write the person's archive to ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(name=user.display_name, username=user.username,
                                                     site=site, when=when))
        _dump(archive, "profile.json", _profile(user))
        _dump(archive, "friends.json", _friends(user))
        _dump(archive, "conversations.json", _conversations(user))
        _dump(archive, "messages.json", list(
            Message.objects.filter(sender=user, deleted_at__isnull=True).order_by("conversation_id", "seq")
            .values("conversation_id", "seq", "kind", "body", "created_at", "edited_at", "reply_to_id")))
        files = []
        for attachment in Attachment.objects.filter(uploader=user).select_related("message").iterator():
            if not attachment.file or (attachment.message_id and attachment.message.is_deleted):
                continue
            name = f"files/{attachment.pk}-{Path(attachment.original_name).name or 'file'}"
            with attachment.file.open("rb") as source:
                archive.writestr(name, source.read())
            files.append({"file": name, "message_conversation_id": attachment.message.conversation_id
                          if attachment.message_id else None, "message_seq": attachment.message.seq
                          if attachment.message_id else None, "content_type": attachment.content_type,
                          "size": attachment.size, "created_at": attachment.created_at})
        _dump(archive, "files.json", files)
        if user.avatar:
            with user.avatar.open("rb") as avatar:
                archive.writestr("avatar.png", avatar.read())
    return path
