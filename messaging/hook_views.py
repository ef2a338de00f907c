"""A chat's incoming webhooks: the page that makes and revokes them, and the public endpoint a
script posts to. Transport only: messaging.webhooks does the work."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from chatsite.errors import InvalidInput, ServiceError
from chatsite.http import json_error, json_object, service_errors

from . import selectors, webhooks


@service_errors
def incoming_hooks(request, conversation_id: int):
    """Made here, its URL shown once (post, redirect, get: a reload makes no second hook)."""
    entry = selectors.get_conversation_entry(request.user, conversation_id)
    error = None
    if request.method == "POST":
        try:
            made = webhooks.create_incoming_webhook(user=request.user, conversation_id=conversation_id,
                                                    name=request.POST.get("name", ""))
        except ServiceError as refused:
            error = refused.message
        else:
            request.session["new_incoming_hook"] = {
                "name": made.hook.name, "url": request.build_absolute_uri(reverse("incoming_hook", args=[made.secret]))}
            return redirect("incoming_hooks", conversation_id=conversation_id)
    return render(request, "messaging/incoming_hooks.html", {
        "membership": entry, "conversation": entry.conversation, "error": error,
        "new_hook": request.session.pop("new_incoming_hook", None) if request.method == "GET" else None,
        "hooks": webhooks.list_incoming_webhooks(user=request.user, conversation_id=conversation_id),
    }, status=400 if error else 200)


@service_errors
@require_POST
def revoke_incoming_hook(request, conversation_id: int, hook_id: int):
    webhooks.revoke_incoming_webhook(user=request.user, hook_id=hook_id)
    messages.success(request, _("The webhook was revoked: its address no longer works."))
    return redirect("incoming_hooks", conversation_id=conversation_id)


@login_not_required  # public: the secret in the URL is the credential
@csrf_exempt  # a script, not a browser form: there is no cookie to forge a request with
@require_POST
def incoming_hook(request, secret: str):
    """``curl -d '{"text":"hi"}' -H 'Content-Type: application/json' <URL>``: 201 with the
    message's id and seq, or the API's JSON error."""
    try:
        payload = json_object(request)
        if payload is None:
            raise InvalidInput(_("The body is not a JSON object: send {\u201ctext\u201d: \u201c\u2026\u201d}."))
        if "text" not in payload:
            raise InvalidInput(_("Send a JSON object with a \u201ctext\u201d string."), field="text")
        message = webhooks.post_through_incoming_webhook(secret=secret, text=payload["text"])
    except ServiceError as error:
        return json_error(error)
    return JsonResponse({"id": message.pk, "conversation": message.conversation_id, "seq": message.seq}, status=201)
