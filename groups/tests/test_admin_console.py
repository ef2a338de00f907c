"""The Django admin as an operator uses it: every model listed, no N+1, no secret on any page,
no private chat readable without cause."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Block, Notification, User
from accounts.services.friends import block_user, respond_to_friend_request, send_friend_request
from conftest import make_user
from groups.services import create_group, invite
from messaging.models import Attachment, IncomingWebhook, Star, Webhook
from messaging.moderation import report_message
from messaging.services import get_or_create_direct_conversation, send_message, toggle_reaction, toggle_star

pytestmark = pytest.mark.django_db

SECRET_BODY = "the secret plan is under the third stone"
TOTP_SECRET = "JBSWY3DPEHPK3PXPTOTPSECRET"
SOCIAL_TOKEN = "ya29.social-access-token-value"
WEBHOOK_SECRET = "whsec_signing-secret-value"
HOOK_HASH = "hook-secret-hash-value"


def world(prefix: str) -> None:
    """A small site: friends, a request, a block, chats, a group, an invitation, a reaction, a star,
    a mention, an attachment, a TOTP authenticator and a social account with its token."""
    one, two, three, four = (make_user(f"{prefix}{n}") for n in ("one", "two", "three", "four"))
    request = send_friend_request(user=one, to_id=two.pk)
    respond_to_friend_request(user=two, request_id=request.pk, accept=True)
    send_friend_request(user=three, to_id=one.pk, note="we met at the party")
    block_user(user=four, other_id=three.pk)
    direct = get_or_create_direct_conversation(user=one, other_id=two.pk)
    message = send_message(user=one, conversation_id=direct.pk, body=SECRET_BODY).message
    toggle_reaction(user=two, message_id=message.pk, emoji="👍")
    toggle_star(user=two, message_id=message.pk)
    group = create_group(user=one, title=f"{prefix} group", member_ids=[two.pk])
    hello = send_message(user=one, conversation_id=group.pk, body=f"hello @{prefix}two").message
    report_message(user=two, message_id=hello.pk, reason="spam")
    invite(user=one, conversation_id=group.pk, invitee_id=three.pk)
    Attachment.objects.create(message=message, uploader=one, file=ContentFile(b"%PDF-1.4", name="plan.pdf"),
                              kind="file", content_type="application/pdf", size=8, original_name="plan.pdf")
    Authenticator.objects.create(user=one, type=Authenticator.Type.TOTP, data={"secret": TOTP_SECRET})
    app, _ = SocialApp.objects.get_or_create(provider="github", defaults={"name": "GitHub", "client_id": "id",
                                                                           "secret": "app-client-secret"})
    account = SocialAccount.objects.create(user=one, provider="github", uid=f"{prefix}-uid")
    SocialToken.objects.create(app=app, account=account, token=SOCIAL_TOKEN, token_secret="token-secret")
    # A bot's webhooks: their signing secret and hook URL never show.
    Webhook.objects.create(user=one, url="https://bot.example.com/hook", secret=WEBHOOK_SECRET)
    IncomingWebhook.objects.create(conversation=group, creator=one, name="CI", secret_hash=f"{prefix}{HOOK_HASH}",
                                   prefix="chat_hook_abcd")


@pytest.fixture
def boss_client(client):
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    return client


def changelists():
    return [(model, reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
            for model in admin.site._registry]


def test_every_model_of_ours_is_in_the_admin():
    registered = {model._meta.label for model in admin.site._registry}
    ours = {"accounts.User", "accounts.Friendship", "accounts.FriendRequest", "accounts.Block",
            "accounts.Notification", "messaging.Conversation", "messaging.Message",
            "messaging.Attachment", "messaging.Reaction", "messaging.Star", "messaging.Mention",
            "groups.GroupInvitation", "messaging.Report", "messaging.AuditEntry", "messaging.Webhook",
            "messaging.IncomingWebhook"}
    assert ours <= registered, sorted(ours - registered)
    # Who is in which chat is seen only through a report (the moderation queue), never browsed.
    assert "messaging.Membership" not in registered


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def test_every_list_page_costs_the_same_queries_whatever_the_rows(boss_client):
    world("a")
    first = {url: queries_for(boss_client, url) for _, url in changelists()}
    world("b")
    world("c")
    second = {url: queries_for(boss_client, url) for _, url in changelists()}

    grew = {url: (first[url], second[url]) for url in first if second[url] != first[url]}
    assert not grew, f"list pages whose queries grow with their rows (N+1): {grew}"


def test_no_page_shows_a_password_hash_a_token_a_secret_or_a_message(boss_client):
    world("a")
    secrets = [SECRET_BODY, TOTP_SECRET, SOCIAL_TOKEN, "token-secret", "app-client-secret", "we met at the party",
               WEBHOOK_SECRET, HOOK_HASH]
    # Django's own user page shows the hash's first characters (and the salt's): neither may appear.
    hashes = [part[:6] for user in User.objects.all() for part in user.password.split("$")[1:]]
    pages = []
    for model, url in changelists():
        pages.append(url)
        for obj in model._default_manager.all()[:3]:
            pages.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk]))
    for url in pages:
        response = boss_client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        for secret in secrets:
            assert secret not in text, f"{url} shows {secret!r}"
        for fragment in hashes:
            assert fragment not in text, f"{url} shows part of a password hash"


def test_chat_data_cannot_be_changed_or_deleted_behind_the_services(boss_client):
    world("a")
    star = Star.objects.first()
    block = Block.objects.first()
    for obj in (star, block, Notification.objects.first()):
        name = f"admin:{obj._meta.app_label}_{obj._meta.model_name}"
        assert boss_client.post(reverse(f"{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    assert Star.objects.filter(pk=star.pk).exists() and Block.objects.filter(pk=block.pk).exists()


def test_the_dashboard_charts_messages_and_people_per_day(boss_client):
    world("a")

    page = boss_client.get(reverse("admin_dashboard"), {"days": "7"})

    assert page.status_code == 200
    text = page.content.decode()
    assert text.count('<svg viewBox="0 -14') == 2  # the two charts (the admin has icons of its own)
    assert text.count("<rect") == 14  # a bar per day in each chart
    stats = page.context["stats"]
    assert stats.days[-1].messages == 2 and stats.days[-1].active_people == 1
    assert stats.storage_bytes == 8
    assert reverse("admin_dashboard") in boss_client.get(reverse("admin:index")).content.decode()


@pytest.mark.parametrize(("asked", "days"), [("abc", 30), ("1", 7), ("99999", 366), ("-5", 30)])
def test_the_dashboard_keeps_a_sane_period_whatever_is_asked(boss_client, asked, days):
    page = boss_client.get(reverse("admin_dashboard"), {"days": asked})

    assert page.status_code == 200
    assert len(page.context["stats"].days) == days


def test_the_dashboard_is_for_staff_only(alice_client):
    response = alice_client.get(reverse("admin_dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
