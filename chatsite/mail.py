"""Email through the task queue.

``EMAIL_BACKEND`` is ``TaskEmailBackend``: sending a message (allauth's codes, our digests, anything
calling ``send_mail``) only enqueues ``deliver_email``, after the commit, with the message
serialised. The worker then hands it to ``EMAIL_DELIVERY_BACKEND`` (the console, SMTP or an anymail
provider: chatsite/settings.py picks it from the environment) and retries while the provider fails.

Exactly once: each message gets a key (and a Message-ID) when it is queued; the key is recorded when
the provider accepts the message, and an attempt that finds it recorded sends nothing. (A worker
killed between the provider's "accepted" and the record sends that one message again on restart,
with the same Message-ID: SMTP offers nothing stronger.)
"""

import base64
import uuid
from email.mime.base import MIMEBase

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import make_msgid

from .tasks import claim_key, durable_task, enqueue_on_commit, key_is_claimed

# With the default backoff (TASKS_RETRY_BACKOFF_SECONDS=10) the last attempt comes some hours
# after the first: a code still arrives after a provider outage of a minute, or of an hour.
EMAIL_RETRIES = 10


def serialise(message: EmailMessage) -> dict:
    """The message as JSON (a task's arguments must be JSON)."""
    attachments = []
    for attachment in message.attachments:
        if isinstance(attachment, MIMEBase):
            attachments.append({"mime": base64.b64encode(attachment.as_bytes()).decode()})
            continue
        filename, content, mimetype = attachment
        raw = content.encode() if isinstance(content, str) else content
        attachments.append({"filename": filename, "content": base64.b64encode(raw).decode(), "mimetype": mimetype})
    return {
        "subject": str(message.subject),
        "body": str(message.body),
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": {str(k): str(v) for k, v in message.extra_headers.items()},
        "content_subtype": message.content_subtype,
        "alternatives": [[str(content), mimetype] for content, mimetype in getattr(message, "alternatives", [])],
        "attachments": attachments,
    }


def deserialise(data: dict) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=data["subject"], body=data["body"], from_email=data["from_email"], to=data["to"],
        cc=data["cc"], bcc=data["bcc"], reply_to=data["reply_to"], headers=data["headers"],
    )
    message.content_subtype = data.get("content_subtype", "plain")
    for content, mimetype in data["alternatives"]:
        message.attach_alternative(content, mimetype)
    for attachment in data["attachments"]:
        if "mime" in attachment:
            from email import message_from_bytes

            message.attach(message_from_bytes(base64.b64decode(attachment["mime"])))
        else:
            raw = base64.b64decode(attachment["content"])
            mimetype = attachment["mimetype"] or ""
            content = raw.decode() if mimetype.startswith("text/") else raw
            message.attach(attachment["filename"], content, attachment["mimetype"])
    return message


@durable_task(retries=EMAIL_RETRIES, private_args=("message",))
def deliver_email(*, message: dict, key: str) -> str:
    """Send one queued message with the real backend, once."""
    key = f"email:{key}"
    if key_is_claimed(key):
        return "already sent"
    connection = get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=False)
    connection.send_messages([deserialise(message)])
    claim_key(key)
    return "sent"


class TaskEmailBackend(BaseEmailBackend):
    """Queues each message for the worker (``deliver_email``) instead of sending it."""

    def send_messages(self, email_messages) -> int:
        count = 0
        for message in email_messages:
            if not message.recipients():
                continue
            # One Message-ID for every attempt, so a provider or a reader can tell a repeat.
            message.extra_headers.setdefault("Message-ID", make_msgid(domain=_domain(message.from_email)))
            enqueue_on_commit(deliver_email, message=serialise(message), key=uuid.uuid4().hex)
            count += 1
        return count


def _domain(from_email: str | None) -> str:
    from email.utils import parseaddr

    address = parseaddr(from_email or settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "localhost"
