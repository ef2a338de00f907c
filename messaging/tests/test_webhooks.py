"""Webhooks for bots. Outgoing: registered with a token, the events of the bot's chats signed and
delivered to a receiver on 127.0.0.1, retried with backoff, disabled (and the owner told) after
repeated failures, never to a private address unless allowed, never following a redirect, and
free for the send path while none exists. Incoming: a chat's URL a script posts to with one curl."""

import hashlib
import hmac
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import Notification
from accounts.services import tokens
from chatsite import realtime
from conftest import make_user
from groups import services as group_services
from messaging import services, webhooks
from messaging.models import IncomingWebhook, Message, Webhook
from messaging.tests.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver is on 127.0.0.1
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def bot_and_friend(db):
    bot, ana = make_user("robo"), make_user("ana")
    chat = services.get_or_create_direct_conversation(user=ana, other_id=bot.pk)
    return bot, ana, chat


def bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def register(client, token_secret, url):
    return client.post("/api/v1/webhooks", {"url": url}, content_type="application/json", **bearer(token_secret))


def verify(call, secret) -> bool:
    """What a receiver does: recompute the HMAC over "<timestamp>.<body>" and compare in constant time."""
    expected = hmac.new(secret.encode(), f"{call.headers['x-chat-timestamp']}.{call.body}".encode(),
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(call.headers["x-chat-signature"], f"sha256={expected}")


def test_a_token_registers_lists_and_deletes_webhooks_and_a_read_token_may_not(client, receiver, bot_and_friend):
    bot, _, _ = bot_and_friend
    writer = tokens.create_api_token(user=bot, name="w").secret
    reader = tokens.create_api_token(user=bot, name="r", scope="read").secret
    made = register(client, writer, receiver.url)
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["secret"].startswith("whsec_") and body["active"] and "message.created" in body["events"]
    listed = client.get("/api/v1/webhooks", **bearer(reader)).json()
    assert [w["id"] for w in listed] == [body["id"]] and "secret" not in listed[0]
    refused = register(client, reader, receiver.url)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "read_only_token"
    assert client.delete(f"/api/v1/webhooks/{body['id']}", **bearer(writer)).status_code == 204
    gone = client.delete(f"/api/v1/webhooks/{body['id']}", **bearer(writer))
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    bad = register(client, writer, "ftp://example.com/x")
    assert bad.status_code == 400 and bad.json()["error"] == {
        "code": "webhook_url_refused", "message": bad.json()["error"]["message"], "field": "url"}


def test_a_message_in_the_bots_chat_reaches_its_webhook_signed(client, receiver, bot_and_friend):
    bot, ana, chat = bot_and_friend
    secret = register(client, tokens.create_api_token(user=bot, name="w").secret, receiver.url).json()["secret"]
    other = services.get_or_create_direct_conversation(user=ana, other_id=make_user("zed").pk)
    services.send_message(user=ana, conversation_id=other.pk, body="not for the bot")
    sent = services.send_message(user=ana, conversation_id=chat.pk, body="hello *robo*").message
    assert len(receiver.calls) == 1
    call = receiver.calls[0]
    assert verify(call, secret)
    assert not verify(call, "whsec_someone-else")
    assert call.headers["x-chat-event"] == "message.created" and call.headers["content-type"] == "application/json"
    assert len(call.headers["x-chat-delivery"]) == 32
    event = json.loads(call.body)
    assert event["type"] == "message.created" and event["conversation"] == chat.pk
    assert event["message"]["id"] == sent.pk and event["message"]["body"] == "hello *robo*"
    assert event["message"]["sender"]["username"] == "ana"
    webhook = Webhook.objects.get()
    assert webhook.failures == 0 and webhook.last_success_at is not None


def test_a_failing_receiver_is_retried_with_the_same_delivery_id(client, receiver, bot_and_friend):
    bot, ana, chat = bot_and_friend
    secret = register(client, tokens.create_api_token(user=bot, name="w").secret, receiver.url).json()["secret"]
    receiver.statuses = [500, 503]
    services.send_message(user=ana, conversation_id=chat.pk, body="again and again")
    assert len(receiver.calls) == 3  # two failures, then delivered (the test backend runs retries at once)
    assert len({c.headers["x-chat-delivery"] for c in receiver.calls}) == 1
    assert all(verify(c, secret) for c in receiver.calls)
    webhook = Webhook.objects.get()
    assert webhook.active and webhook.failures == 0 and webhook.last_error == ""


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_with_the_database_queue_a_failed_delivery_waits_for_its_backoff(client, receiver, bot_and_friend):
    bot, ana, chat = bot_and_friend
    register(client, tokens.create_api_token(user=bot, name="w").secret, receiver.url)
    receiver.always = 500
    services.send_message(user=ana, conversation_id=chat.pk, body="queued")
    row = DBTaskResult.objects.get(task_path="messaging.tasks.deliver_webhook")
    assert receiver.calls == []  # queued after the commit, not called on the send path
    before = timezone.now()
    row.task.call(*row.task_result.args, **row.task_result.kwargs)  # what the worker does
    assert len(receiver.calls) == 1
    retry = DBTaskResult.objects.exclude(id=row.id).get()
    assert retry.status == "READY" and retry.run_after > before  # deferred by the backoff
    assert retry.args_kwargs["kwargs"]["delivery_id"] == row.args_kwargs["kwargs"]["delivery_id"]
    first_delay = retry.run_after - before
    retry.task.call(*retry.task_result.args, **retry.task_result.kwargs)
    second = DBTaskResult.objects.exclude(id__in=[row.id, retry.id]).get()
    assert second.args_kwargs["kwargs"]["_task_meta"]["attempt"] == 3
    assert second.run_after - timezone.now() > first_delay / 2  # it doubles (with jitter)
    assert Webhook.objects.get().failures == 2


def test_a_webhook_that_keeps_failing_is_disabled_and_its_owner_told(client, receiver, bot_and_friend, settings):
    settings.WEBHOOK_MAX_FAILURES = 3
    bot, ana, chat = bot_and_friend
    register(client, tokens.create_api_token(user=bot, name="w").secret, receiver.url)
    receiver.always = 500
    services.send_message(user=ana, conversation_id=chat.pk, body="into the void")
    assert len(receiver.calls) == 3  # the third failure in a row disabled it: no more attempts
    webhook = Webhook.objects.get()
    assert not webhook.active and webhook.disabled_at and "HTTP 500" in webhook.last_error
    notice = Notification.objects.get(recipient=bot, kind="webhook_disabled")
    assert receiver.url[:40] in notice.text
    services.send_message(user=ana, conversation_id=chat.pk, body="still there?")
    assert len(receiver.calls) == 3
    assert not webhooks.any_active()


def test_a_redirect_is_a_failure_and_is_not_followed(client, receiver, bot_and_friend, settings):
    settings.WEBHOOK_MAX_FAILURES = 1
    bot, ana, chat = bot_and_friend
    register(client, tokens.create_api_token(user=bot, name="w").secret, receiver.url)
    receiver.always = 302
    services.send_message(user=ana, conversation_id=chat.pk, body="moved?")
    assert [c.path for c in receiver.calls] == ["/hook"]  # never /elsewhere
    assert "redirect" in Webhook.objects.get().last_error


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x", "http://localhost/x", "http://10.1.2.3/x",
                                 "http://169.254.169.254/latest/meta-data", "http://[::1]/x",
                                 "http://[::ffff:127.0.0.1]/x", "http://100.64.0.1/x"])
def test_private_loopback_and_link_local_addresses_are_refused(client, bot_and_friend, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    bot, _, _ = bot_and_friend
    refused = register(client, tokens.create_api_token(user=bot, name="w").secret, url)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "webhook_url_refused"
    assert not Webhook.objects.exists()


def test_the_address_is_checked_again_at_delivery(client, receiver, bot_and_friend, settings):
    """Registered while allowed (or while its name pointed elsewhere): refused when it is called."""
    bot, ana, chat = bot_and_friend
    register(client, tokens.create_api_token(user=bot, name="w").secret, receiver.url)
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    services.send_message(user=ana, conversation_id=chat.pk, body="to localhost?")
    assert receiver.calls == []
    assert "private" in Webhook.objects.get().last_error


def test_a_revoked_token_stops_its_webhooks(client, receiver, bot_and_friend):
    bot, ana, chat = bot_and_friend
    made = tokens.create_api_token(user=bot, name="w")
    register(client, made.secret, receiver.url)
    tokens.revoke_api_token(user=bot, token_id=made.token.pk)
    services.send_message(user=ana, conversation_id=chat.pk, body="anyone?")
    assert receiver.calls == []


def test_the_send_path_makes_no_extra_query_while_no_webhook_exists(bot_and_friend):
    _, ana, chat = bot_and_friend
    services.send_message(user=ana, conversation_id=chat.pk, body="warm up")  # caches, the flag
    with CaptureQueriesContext(connection) as with_tap:
        services.send_message(user=ana, conversation_id=chat.pk, body="one")
    taps = list(realtime._publish_taps)
    realtime._publish_taps.clear()
    try:
        with CaptureQueriesContext(connection) as without_tap:
            services.send_message(user=ana, conversation_id=chat.pk, body="two")
    finally:
        realtime._publish_taps.extend(taps)
    assert len(with_tap) == len(without_tap)


# --- incoming webhooks -----------------------------------------------------------------------------

def post_hook(client, url, payload, **extra):
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(url, body, content_type="application/json", **extra)


def test_a_script_posts_with_one_call_as_the_hooks_creator_via_its_name(client, bot_and_friend):
    bot, ana, chat = bot_and_friend
    made = webhooks.create_incoming_webhook(user=ana, conversation_id=chat.pk, name="Deploys")
    url = reverse("incoming_hook", args=[made.secret])
    response = post_hook(client, url, {"text": "v2 is out"})  # signed out, no CSRF token
    assert response.status_code == 201, response.content
    message = Message.objects.get(pk=response.json()["id"])
    assert (message.sender, message.body, message.via) == (ana, "v2 is out", "Deploys")
    page = client.get(reverse("conversation", args=[chat.pk]))  # signed out: sent to sign in
    assert page.status_code == 302
    client.force_login(bot)
    assert "via Deploys" in client.get(reverse("conversation", args=[chat.pk])).content.decode()
    assert IncomingWebhook.objects.get().secret_hash != made.secret and made.secret not in str(
        IncomingWebhook.objects.values().get())


def test_bad_bodies_get_clear_json_errors_and_post_nothing(client, bot_and_friend):
    _, ana, chat = bot_and_friend
    url = reverse("incoming_hook", args=[webhooks.create_incoming_webhook(user=ana, conversation_id=chat.pk,
                                                                         name="CI").secret])
    for body, field in (("{not json", None), ('["text"]', None), ('{"txt": "hi"}', "text"),
                        ('{"text": 5}', "text"), ('{"text": "   "}', "body")):
        response = post_hook(client, url, body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert error["code"] in ("invalid", "empty") and error["message"], body
        assert error.get("field") == field, body
    assert client.get(url).status_code == 405
    assert not Message.objects.filter(via="CI").exists()


def test_a_revoked_or_unknown_secret_is_not_found(client, bot_and_friend):
    bot, ana, chat = bot_and_friend
    made = webhooks.create_incoming_webhook(user=ana, conversation_id=chat.pk, name="CI")
    webhooks.revoke_incoming_webhook(user=ana, hook_id=made.hook.pk)
    for secret in (made.secret, "chat_hook_unknown", "x"):
        response = post_hook(client, reverse("incoming_hook", args=[secret]), {"text": "hi"})
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_hook_is_rate_limited_with_retry_after(client, bot_and_friend, settings):
    settings.INCOMING_WEBHOOK_RATE_LIMIT = "2/m"
    _, ana, chat = bot_and_friend
    url = reverse("incoming_hook", args=[webhooks.create_incoming_webhook(user=ana, conversation_id=chat.pk,
                                                                         name="Loop").secret])
    assert [post_hook(client, url, {"text": f"n{n}"}).status_code for n in range(2)] == [201, 201]
    limited = post_hook(client, url, {"text": "n3"})
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert int(limited["Retry-After"]) > 0


def test_a_creator_who_left_the_group_posts_nothing(client, db):
    owner, member = make_user("owner"), make_user("member")
    group = group_services.create_group(user=owner, title="Ops", member_ids=[member.pk])
    url = reverse("incoming_hook", args=[webhooks.create_incoming_webhook(user=member, conversation_id=group.pk,
                                                                         name="Mine").secret])
    group_services.remove_member(user=owner, conversation_id=group.pk, member_id=member.pk)
    response = post_hook(client, url, {"text": "still here?"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_member"


def test_the_page_makes_a_hook_shown_once_and_only_allowed_members_manage_them(client, db):
    owner, member = make_user("owner"), make_user("member")
    group = group_services.create_group(user=owner, title="Ops", member_ids=[member.pk])
    page = reverse("incoming_hooks", args=[group.pk])
    client.force_login(member)
    made = client.post(page, {"name": "Alerts"}, follow=True)
    assert made.redirect_chain == [(page, 302)]
    url = made.context["new_hook"]["url"]
    assert "/hooks/chat_hook_" in url and url in made.content.decode()
    assert url not in client.get(page).content.decode()  # shown once
    hook = IncomingWebhook.objects.get()
    # An admins-only group: a member may not add one; the owner (admin) revokes the member's.
    group_services.update_group(user=owner, conversation_id=group.pk, title="Ops", post_policy="admins")
    refused = client.post(page, {"name": "Another"})
    assert refused.status_code == 400 and IncomingWebhook.objects.count() == 1
    client.force_login(make_user("stranger"))
    assert client.get(page).status_code == 404
    client.force_login(owner)
    client.post(reverse("revoke_incoming_hook", args=[group.pk, hook.pk]))
    assert IncomingWebhook.objects.get().revoked_at is not None


def test_webhook_flag_is_up_while_one_is_active(receiver, bot_and_friend):
    bot, _, _ = bot_and_friend
    assert not webhooks.any_active()
    made = webhooks.create_webhook(user=bot, url=receiver.url)
    assert webhooks.any_active()
    webhooks.delete_webhook(user=bot, webhook_id=made.webhook.pk)
    assert not webhooks.any_active()
