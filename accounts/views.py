from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chatsite.errors import InvalidInput, ServiceError
from chatsite.files import serve_stored_file
from chatsite.http import json_object, safe_redirect, service_errors

from . import push, selectors, services
from .forms import ApiTokenForm, DeleteAccountForm, ProfileForm, SettingsForm
from .services import digests, tokens


def home(request):
    return render(request, "home.html")


def profile_detail(request, user_id: int):
    person = selectors.get_active_user(user_id)
    visible = selectors.can_see_presence(request.user.pk, person.pk)
    context = {"person": person, "status": services.presence.statuses([person.pk])[person.pk] if visible else None}
    if person != request.user:
        context["relation"] = selectors.relationship(request.user, person)
    return render(request, "accounts/profile_detail.html", context)


def avatar(request, user_id: int):
    person = selectors.get_active_user(user_id)
    return serve_stored_file(person.avatar.name, content_type="image/png", max_age=300)


@require_http_methods(["GET", "POST"])
def profile_edit(request):
    form = ProfileForm(request.POST or None, request.FILES or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(
                user=request.user,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                username=form.cleaned_data["username"],
                about=form.cleaned_data["about"],
                avatar=form.cleaned_data["avatar"] or None,
                clear_avatar=form.cleaned_data["avatar"] is False,
            )
        except ValidationError as error:
            form.add_error("avatar", error)
        else:
            messages.success(request, _("Your profile was saved."))
            return redirect("profile_detail", request.user.pk)
    if form.errors:
        request.user.refresh_from_db()  # the form wrote invalid values onto the instance
    return render(request, "accounts/profile_edit.html", {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def account_delete(request):
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.delete_account(user=request.user, request=request)
        messages.info(request, _("Your account was deleted."))
        return redirect("account_login")
    return render(request, "accounts/account_delete.html", {"form": form}, status=400 if form.errors else 200)


# --- people, friends, blocks -------------------------------------------------------------------

PEOPLE_TABS = [("friends", gettext_lazy("Friends")), ("received", gettext_lazy("Requests received")),
               ("sent", gettext_lazy("Requests sent")), ("find", gettext_lazy("Find people")),
               ("blocked", gettext_lazy("Blocked"))]


@service_errors
@require_GET
def people(request):
    tab = request.GET.get("tab", "friends")
    tab = tab if tab in dict(PEOPLE_TABS) else "friends"
    received = selectors.list_requests_received(request.user)
    context = {"tab": tab, "query": selectors.clean_search(request.GET.get("q", "")), "people": [], "requests": []}
    if tab == "friends":
        context["people"] = selectors.list_friends(request.user)
    elif tab == "received":
        context["requests"] = received
    elif tab == "sent":
        context["requests"] = selectors.list_requests_sent(request.user)
    elif tab == "blocked":
        context["people"] = selectors.list_blocked(request.user)
    else:
        context["people"] = selectors.search_people(request.user, context["query"])
    context["tabs"] = [(key, label, len(received) if key == "received" else 0) for key, label in PEOPLE_TABS]
    return render(request, "accounts/people.html", context)


def _back(request, default: str):
    return safe_redirect(request, request.POST.get("next", ""), default)


@service_errors
@require_POST
def friend_request_send(request, user_id: int):
    services.send_friend_request(user=request.user, to_id=user_id, note=request.POST.get("note", ""))
    messages.success(request, _("Friend request sent."))
    return _back(request, reverse("profile_detail", args=[user_id]))


@service_errors
@require_POST
def friend_request_answer(request, request_id: int, answer: str):
    if answer == "cancel":
        services.cancel_friend_request(user=request.user, request_id=request_id)
        messages.info(request, _("Friend request cancelled."))
        return _back(request, reverse("people") + "?tab=sent")
    services.respond_to_friend_request(user=request.user, request_id=request_id, accept=answer == "accept")
    messages.success(request, _("You are now friends.") if answer == "accept" else _("Friend request rejected."))
    return _back(request, reverse("people") + "?tab=received")


@service_errors
@require_POST
def unfriend(request, user_id: int):
    services.unfriend(user=request.user, other_id=user_id)
    messages.info(request, _("Removed from your friends."))
    return _back(request, reverse("profile_detail", args=[user_id]))


@service_errors
@require_POST
def block(request, user_id: int):
    services.block_user(user=request.user, other_id=user_id)
    messages.info(request, _("Blocked. They can no longer contact you."))
    return _back(request, reverse("profile_detail", args=[user_id]))


@service_errors
@require_POST
def unblock(request, user_id: int):
    services.unblock_user(user=request.user, other_id=user_id)
    messages.info(request, _("Unblocked."))
    return _back(request, reverse("people") + "?tab=blocked")


# --- notifications and settings -----------------------------------------------------------------

@service_errors
@require_GET
def notifications(request):
    return render(request, "accounts/notifications.html", {"notifications": selectors.list_notifications(request.user)})


@service_errors
@require_POST
def notification_read(request, notification_id: int):
    services.mark_notification_read(user=request.user, notification_id=notification_id)
    return redirect("notifications")


@service_errors
@require_POST
def notifications_read_all(request):
    services.mark_all_notifications_read(user=request.user)
    return redirect("notifications")


@require_http_methods(["GET", "POST"])
def settings_page(request):
    form = SettingsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.update_settings(user=request.user, **form.cleaned_data)
        messages.success(request, _("Your settings were saved."))
        return redirect("settings")
    return render(request, "accounts/settings.html", {
        "form": form, "push_server_key": push.application_server_key(),
        "push_devices": selectors.list_push_subscriptions(request.user.pk)}, status=400 if form.errors else 200)


@login_not_required
@require_http_methods(["GET", "POST"])
def digest_unsubscribe(request, token: str):
    """The link in every digest email: works without signing in, and says what it did."""
    user = digests.user_for_unsubscribe_token(token)
    if user is None:
        return render(request, "accounts/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        services.update_settings(user=user, direct_messages_from=user.direct_messages_from,
                                 hide_last_seen=user.hide_last_seen, email_digest=False)
        return render(request, "accounts/unsubscribe.html", {"done": True, "person": user})
    return render(request, "accounts/unsubscribe.html", {"person": user})


@require_http_methods(["GET", "POST"])
def api_tokens(request):
    """Personal access tokens for bots and scripts: made here, shown once, revoked here. A made
    token is handed to the next page view through the session (post, redirect, get), so a reload
    neither makes a second token nor shows the secret again."""
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = tokens.create_api_token(user=request.user, **form.cleaned_data)
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            request.session["new_api_token"] = {"name": made.token.name, "secret": made.secret}
            return redirect("api_tokens")
    return render(request, "accounts/api_tokens.html", {
        "form": form, "new_token": request.session.pop("new_api_token", None) if request.method == "GET" else None,
        "tokens": tokens.list_api_tokens(user=request.user),
    }, status=400 if form.errors else 200)


@service_errors
@require_POST
def api_token_revoke(request, token_id: int):
    tokens.revoke_api_token(user=request.user, token_id=token_id)
    messages.success(request, _("The token was revoked: it no longer works."))
    return redirect("api_tokens")


# --- Web Push: the settings switch (static/js/push.js) ---------------------------------------------

def _subscription_body(request) -> dict:
    body = json_object(request)
    if body is None:
        raise InvalidInput(_("The browser sent a push subscription that is not JSON."))
    return body


@require_POST
@service_errors
def push_subscription_add(request):
    """The switch turned on: this device's PushSubscription.toJSON()."""
    body = _subscription_body(request)
    keys = body.get("keys") if isinstance(body.get("keys"), dict) else {}
    push.subscribe(user=request.user, endpoint=body.get("endpoint"), p256dh=keys.get("p256dh"), auth=keys.get("auth"),
                   user_agent=push.device_label(request.headers.get("User-Agent", "")))
    return JsonResponse({"ok": True}, status=201)


@require_POST
@service_errors
def push_subscription_remove(request):
    """The switch turned off, or signing out: {"endpoint": ...}."""
    body = _subscription_body(request)
    return JsonResponse({"ok": push.unsubscribe(user=request.user, endpoint=body.get("endpoint"))})
