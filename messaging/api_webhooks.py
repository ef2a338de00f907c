"""/api/v1/webhooks: a bot's outgoing webhooks (messaging.webhooks). Registering and deleting need
a read and write token; the signing secret is in the answer to the registration only."""

from ninja import Router, Schema, Status

from chatsite.apikit import responses

from . import webhooks

router = Router(tags=["webhooks"])


class WebhookIn(Schema):
    url: str


class WebhookOut(Schema):
    id: int
    url: str
    active: bool  # false once disabled after WEBHOOK_MAX_FAILURES failed calls in a row
    failures: int  # failed calls in a row
    last_error: str
    created_at: str
    last_success_at: str | None
    disabled_at: str | None
    events: list[str]  # the event types it receives


class NewWebhookOut(WebhookOut):
    secret: str  # the HMAC-SHA256 key of X-Chat-Signature, shown this once


def _out(webhook, secret: str | None = None) -> dict:
    data = {"id": webhook.pk, "url": webhook.url, "active": webhook.active, "failures": webhook.failures,
            "last_error": webhook.last_error, "created_at": webhook.created_at.isoformat(),
            "last_success_at": webhook.last_success_at.isoformat() if webhook.last_success_at else None,
            "disabled_at": webhook.disabled_at.isoformat() if webhook.disabled_at else None,
            "events": list(webhooks.WEBHOOK_EVENTS)}
    if secret is not None:
        data["secret"] = secret
    return data


@router.post("/webhooks", response=responses(NewWebhookOut, 201), summary="Register a webhook")
def create_webhook(request, payload: WebhookIn):
    """The events of every chat the caller is in are POSTed to ``url`` as JSON (the socket's API
    events), signed: ``X-Chat-Signature: sha256=HMAC-SHA256(secret, "<X-Chat-Timestamp>.<body>")``,
    with ``X-Chat-Event`` (the type) and ``X-Chat-Delivery`` (an id to drop repeats by)."""
    made = webhooks.create_webhook(user=request.user, url=payload.url, api_token=request.api_token)
    return Status(201, _out(made.webhook, made.secret))


@router.get("/webhooks", response=responses(list[WebhookOut]), summary="My webhooks")
def list_webhooks(request):
    return [_out(webhook) for webhook in webhooks.list_webhooks(user=request.user)]


@router.delete("/webhooks/{webhook_id}", response=responses(None, 204), summary="Delete a webhook")
def delete_webhook(request, webhook_id: int):
    webhooks.delete_webhook(user=request.user, webhook_id=webhook_id)
    return Status(204, None)
