"""HTTP transport for conversations. Thin: read with selectors, change with services."""

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors as account_selectors
from chatsite.errors import InvalidInput
from chatsite.http import htmx_only, service_errors
from chatsite.ids import parse_id
from chatsite.s3 import is_s3

from . import assistant, file_transport, selectors, services, uploads
from .html import render_conversation_entries, render_conversation_entry, render_message_item
from .search import search_messages


def _message_context(request, messages):
    return {"messages_page": messages, "starred": selectors.starred_ids(request.user, messages)}


@service_errors
@require_GET
def conversation_detail(request, conversation_id: int):
    membership = selectors.get_conversation_entry(request.user, conversation_id, with_stored_bytes=True)
    conversation = membership.conversation
    unread = membership.unread_count
    focus_seq = _focus_seq(request, conversation)
    more_after = False
    if focus_seq:  # opened from a search result: the page around that message
        messages, more, more_after = selectors.list_messages_around(conversation.pk, focus_seq)
    else:
        messages, more = selectors.list_messages(conversation.pk, limit=selectors.opening_page_size(unread))
    read_seq, delivered_seq = selectors.read_watermarks(conversation.pk, request.user.pk)
    members = selectors.list_member_summaries(conversation.pk) if conversation.kind != conversation.Kind.DIRECT else []
    return render(request, "messaging/conversation.html", {
        "membership": membership, "conversation": conversation, "more_before": more, "more_after": more_after,
        "focus_seq": focus_seq,
        "first_unread_seq": membership.last_read_seq + 1 if unread and not focus_seq else None,
        "blocked_ids": account_selectors.blocked_ids(request.user.pk) if conversation.is_group else (),
        "members": members, "members_json": [{k: m[k] for k in ("id", "username", "name", "joined_at")} for m in members],
        "watermarks": {m["id"]: m["read_seq"] for m in members},
        "others_read_seq": read_seq, "others_delivered_seq": delivered_seq, "max_length": settings.MESSAGE_MAX_LENGTH,
        "upload": {"max_bytes": settings.UPLOAD_MAX_BYTES, "max_files": settings.UPLOAD_MAX_FILES,
                   "quota_left": max(settings.UPLOAD_QUOTA_BYTES - (membership.stored_bytes or 0), 0)},
        "direct_upload": is_s3(default_storage),
        "assistant_enabled": assistant.enabled(),
        **_message_context(request, messages),
    })


@htmx_only(lambda request, conversation_id: reverse("conversation", args=[conversation_id]))
@service_errors
@require_GET
def message_page(request, conversation_id: int):
    """Older (?before=seq) or newer (?after=seq) messages as list items, for scrolling and resume."""
    membership = selectors.access_membership(request.user, conversation_id)
    try:
        before, after = _seq_param(request, "before"), _seq_param(request, "after")
    except ValueError:
        return HttpResponse(_("Page numbers must be whole numbers."), status=400,
                            content_type="text/plain; charset=utf-8")
    messages, more = selectors.list_messages(membership.conversation_id, before_seq=before, after_seq=after)
    return render(request, "messaging/partials/message_page.html", {
        "conversation": membership.conversation, "more_before": more and after is None,
        "more_after": more and after is not None, **_message_context(request, messages),
    })


def _focus_seq(request, conversation) -> int | None:
    """``?at=<seq>`` of a message that exists in the chat, else None (the chat opens as usual)."""
    seq = parse_id(request.GET.get("at", ""))
    return seq if seq and seq <= conversation.last_seq else None


@service_errors
@require_GET
def search(request):
    """Message search: the sidebar's (all chats) and a chat header's (``conversation``), results as
    the person types (htmx), or a page of its own without JavaScript."""
    conversation = None
    if request.GET.get("conversation"):
        conversation = selectors.access_membership(request.user, request.GET["conversation"]).conversation
    query = request.GET.get("q", "")
    offset = min(parse_id(request.GET.get("offset", "")) or 0, 10_000)
    error, page = "", None
    try:
        page = search_messages(request.user, query, conversation_id=conversation and conversation.pk,
                               order=request.GET.get("order", "relevance"), offset=offset)
    except InvalidInput as refused:
        error = refused.message
    scope = request.GET.get("scope") if request.GET.get("scope") in ("all", "chat", "page") else "page"
    context = {"query": query, "page": page, "error": error, "conversation": conversation, "scope": scope,
               "offset": offset, "next_offset": offset + len(page.results) if page else 0}
    if request.htmx:
        return render(request, "messaging/partials/search_results.html", context)
    return render(request, "messaging/search.html", context)


def _seq_param(request, key: str) -> int | None:
    """A message number from the query string (0 or more, in the database's range), None when absent."""
    if key not in request.GET:
        return None
    value = request.GET[key]
    number = 0 if value == "0" else parse_id(value)
    if number is None:
        raise ValueError(key)
    return number


@service_errors
@require_POST
def send(request, conversation_id: int):
    """The htmx (and no-JavaScript) way to send; the socket uses the same service."""
    result = services.send_message(user=request.user, conversation_id=conversation_id, body=request.POST.get("body", ""),
                                   client_id=request.POST.get("client_id", ""),
                                   reply_to_id=request.POST.get("reply_to") or None,
                                   attachment_ids=request.POST.getlist("attachments"))
    if request.htmx:
        return HttpResponse(render_message_item(result.message))
    return redirect("conversation", conversation_id=result.message.conversation_id)


@htmx_only(lambda request, **kw: reverse("home"))
@service_errors
def edit(request, message_id: int):
    if request.method == "POST":
        message = services.edit_message(user=request.user, message_id=message_id, body=request.POST.get("body", ""))
        return _message_response(request, message)
    message = selectors.access_message(request.user, message_id)
    return render(request, "messaging/partials/message_edit.html",
                  {"message": message, "max_length": settings.MESSAGE_MAX_LENGTH})


@service_errors
@require_GET
def message_detail(request, message_id: int):
    return _message_response(request, selectors.access_message(request.user, message_id))


@service_errors
@require_POST
def delete(request, message_id: int):
    return _message_response(request, services.delete_message(user=request.user, message_id=message_id))


@service_errors
@require_POST
def react(request, message_id: int):
    message = services.toggle_reaction(user=request.user, message_id=message_id, emoji=request.POST.get("emoji", ""))
    return _message_response(request, message)


@service_errors
@require_POST
def star(request, message_id: int):
    starred = services.toggle_star(user=request.user, message_id=message_id)
    message = selectors.access_message(request.user, message_id)
    if request.htmx:
        return render(request, "messaging/partials/star_button.html", {"message": message, "starred": starred})
    return redirect("conversation", conversation_id=message.conversation_id)


def _message_response(request, message):
    if request.htmx:
        message = selectors.get_message_for_display(message.pk)
        return HttpResponse(render_message_item(message, reactions=selectors.reaction_summary(message),
                                                starred=message.pk in selectors.starred_ids(request.user, [message])))
    return redirect("conversation", conversation_id=message.conversation_id)


@service_errors
@require_POST
def set_flags(request, conversation_id: int):
    flags = {name: request.POST[name] == "1" for name in ("pinned", "muted") if name in request.POST}
    membership = services.set_conversation_flags(user=request.user, conversation_id=conversation_id, **flags)
    if request.htmx:
        # The entry is rendered here, not by calling the GET-only view (which answers a POST with 405).
        return _entry_response(request, membership.conversation_id)
    return redirect("conversation", conversation_id=membership.conversation_id)


@service_errors
@require_POST
def mark_read(request, conversation_id: int):
    services.mark_read(user=request.user, conversation_id=conversation_id, seq=request.POST.get("seq"))
    return HttpResponse(status=204)


@service_errors
@require_GET
def conversation_entry(request, conversation_id: int):
    """One sidebar entry, fetched when a message arrives in a chat the page does not list yet."""
    return _entry_response(request, conversation_id)


def _entry_response(request, conversation_id: int) -> HttpResponse:
    entry = selectors.get_conversation_entry(request.user, conversation_id)
    return HttpResponse(render_conversation_entry(entry, viewer_id=request.user.pk))


@htmx_only(lambda request, **kw: reverse("home"))
@service_errors
@require_GET
def conversation_list(request):
    """The whole sidebar list (refreshed live), or with ?offset=N the entries after the first N."""
    if "offset" in request.GET:
        offset = min(parse_id(request.GET["offset"]) or 0, 100_000)
        entries = selectors.list_conversations(request.user, offset=offset)
        return HttpResponse(render_conversation_entries(entries, viewer_id=request.user.pk,
                                                        page_size=selectors.SIDEBAR_PAGE_SIZE, offset=offset))
    return render(request, "messaging/partials/conversation_list.html",
                  {"entries": selectors.list_conversations(request.user), "user": request.user})


@service_errors
@require_GET
def new_chat(request):
    query = selectors.clean_search(request.GET.get("q", ""))
    people = selectors.search_people(request.user, query)
    template = "messaging/partials/people_results.html" if request.htmx else "messaging/new_chat.html"
    return render(request, template, {"query": query, "people": people})


@service_errors
@require_POST
def start_direct(request, user_id: int):
    conversation = services.get_or_create_direct_conversation(user=request.user, other_id=user_id)
    return redirect("conversation", conversation_id=conversation.pk)


@service_errors
@require_GET
def starred(request):
    messages = selectors.list_starred(request.user)
    return render(request, "messaging/starred.html", {
        "messages_page": messages, "starred": {m.pk for m in messages},
    })



@service_errors
@require_GET
def attachment(request, attachment_id: int):
    """A file of a message (or its thumbnail), for members of its conversation only."""
    item = selectors.access_attachment(request.user, attachment_id)
    return file_transport.serve_attachment(item, thumbnail=bool(request.GET.get("thumbnail")))


def _upload_json(item) -> JsonResponse:
    return JsonResponse({"id": item.pk, "name": item.original_name, "size": item.size, "kind": item.kind,
                         "content_type": item.content_type, "status": item.status}, status=201)


@csrf_exempt  # checked below, once the size limit is in place (the CSRF check reads the body)
@require_POST
def upload(request):
    """One file, streamed through the server (multipart ``file``; ``duration_ms`` for a voice note).
    Answers JSON: the upload's id for the message that will claim it, or the error."""
    return _upload(request, file_transport.install_size_limit(request))


@csrf_protect
@service_errors
def _upload(request, limit):
    return _upload_json(file_transport.create_upload_from_request(request, limit))


@service_errors
@require_POST
def upload_start(request):
    """S3: a presigned POST for the browser to put one file straight into the bucket."""
    item, post = uploads.start_direct_upload(user=request.user, name=request.POST.get("name", ""),
                                             size=request.POST.get("size"),
                                             content_type=request.POST.get("content_type", ""),
                                             duration_ms=request.POST.get("duration_ms"))
    return JsonResponse({"id": item.pk, "url": post["url"], "fields": post["fields"]}, status=201)


@service_errors
@require_POST
def upload_finish(request, attachment_id: int):
    """S3: the browser's POST to the bucket is done; the server checks the object."""
    return _upload_json(uploads.finish_direct_upload(user=request.user, attachment_id=attachment_id))


@service_errors
@require_POST
def upload_cancel(request, attachment_id: int):
    uploads.cancel_upload(user=request.user, attachment_id=attachment_id)
    return HttpResponse(status=204)


@service_errors
@require_GET
def gallery(request, conversation_id: int):
    """A conversation's media, files, links and the reader's starred messages, newest first."""
    page = parse_id(request.GET.get("page", "1")) or 1
    found = selectors.list_gallery(request.user, conversation_id, tab=request.GET.get("tab", "media"), page=page)
    template = "messaging/partials/gallery_items.html" if request.htmx else "messaging/gallery.html"
    entry = selectors.get_conversation_entry(request.user, conversation_id) if not request.htmx else found["membership"]
    return render(request, template, {**found, "membership": entry, "conversation": entry.conversation,
                                      "tabs": GALLERY_TABS})


GALLERY_TABS = [("media", _lazy("Media")), ("files", _lazy("Files")), ("links", _lazy("Links")),
                ("starred", _lazy("Starred"))]


@service_errors
@require_GET
def assistant_chat(request):
    """The person's chat with the assistant, created (pinned) on first visit."""
    conversation = assistant.get_or_create_assistant_conversation(user=request.user)
    return redirect("conversation", conversation_id=conversation.pk)


@service_errors
@require_POST
def summarise(request, conversation_id: int):
    """"Summarise unread": the summary is written into the person's assistant chat, which opens."""
    target = assistant.request_summary(user=request.user, conversation_id=conversation_id,
                                       after_seq=request.POST.get("after_seq"))
    return redirect("conversation", conversation_id=target.pk)
