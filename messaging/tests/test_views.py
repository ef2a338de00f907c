import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import make_user
from messaging import selectors, services
from messaging.models import Membership, Message, Reaction, Star

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_pages_need_login(client, direct):
    for url in (reverse("home"), reverse("conversation", args=[direct.pk]), reverse("new_chat"), reverse("starred")):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_conversation_page_shows_messages_and_composer(alice_client, alice, bob, direct, send):
    send(bob, "Hello **Alice**")
    response = alice_client.get(reverse("conversation", args=[direct.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Bob Baker" in page and "<strong>Alice</strong>" in page
    assert 'aria-label="Messages"' in page and 'role="log"' in page
    assert 'data-first-unread-seq="1"' in page  # bob's message is unread for alice
    assert f'.msg[data-sender-id="{alice.pk}"]' in page  # the per-user "mine" rule
    nonce_header = response["Content-Security-Policy"]
    assert "'nonce-" in nonce_header and "script-src 'self'" in nonce_header


def test_non_member_gets_404_everywhere(client, alice, direct, send):
    message = send(alice, "private")
    carol = make_user("carol")
    client.force_login(carol)
    assert client.get(reverse("conversation", args=[direct.pk])).status_code == 404
    assert client.get(reverse("message_page", args=[direct.pk]), **HTMX).status_code == 404
    assert client.post(reverse("send_message", args=[direct.pk]), {"body": "x"}, **HTMX).status_code == 404
    assert client.post(reverse("delete_message", args=[message.pk]), **HTMX).status_code == 404
    assert client.post(reverse("react_message", args=[message.pk]), {"emoji": "👍"}, **HTMX).status_code == 404
    assert Message.objects.count() == 1 and not Reaction.objects.exists()


def test_htmx_send_returns_the_stored_message_and_retry_is_idempotent(alice_client, direct):
    url = reverse("send_message", args=[direct.pk])
    response = alice_client.post(url, {"body": "over http", "client_id": "h-1"}, **HTMX)
    assert response.status_code == 200 and "over http" in response.content.decode()
    assert 'data-client-id="h-1"' in response.content.decode()
    alice_client.post(url, {"body": "over http", "client_id": "h-1"}, **HTMX)
    assert Message.objects.filter(conversation=direct).count() == 1


def test_plain_post_send_works_without_javascript(alice_client, direct):
    response = alice_client.post(reverse("send_message", args=[direct.pk]), {"body": "no js"})
    assert response.status_code == 302
    assert Message.objects.get().body == "no js"


@override_settings(MESSAGE_MAX_LENGTH=10)
def test_bad_send_shows_the_reason_and_stores_nothing(alice_client, direct):
    url = reverse("send_message", args=[direct.pk])
    response = alice_client.post(url, {"body": "x" * 11}, **HTMX)
    assert response.status_code == 400 and "at most 10 characters" in response.content.decode()
    response = alice_client.post(url, {"body": "x" * 11}, follow=True, HTTP_REFERER=reverse("conversation", args=[direct.pk]))
    assert "at most 10 characters" in response.content.decode()
    assert not Message.objects.exists()


def test_edit_delete_react_star_over_http(alice_client, alice, bob, direct, send):
    message = send(alice, "first draft")
    form = alice_client.get(reverse("edit_message", args=[message.pk]), **HTMX)
    assert 'name="body"' in form.content.decode() and "first draft" in form.content.decode()
    response = alice_client.post(reverse("edit_message", args=[message.pk]), {"body": "final"}, **HTMX)
    assert "final" in response.content.decode() and "(edited)" in response.content.decode()
    response = alice_client.post(reverse("react_message", args=[message.pk]), {"emoji": "🎉"}, **HTMX)
    assert "🎉 1" in response.content.decode()
    response = alice_client.post(reverse("star_message", args=[message.pk]), **HTMX)
    assert 'aria-pressed="true"' in response.content.decode()
    assert Star.objects.filter(user=alice, message=message).exists()
    starred = alice_client.get(reverse("starred")).content.decode()
    assert "final" in starred
    response = alice_client.post(reverse("delete_message", args=[message.pk]), **HTMX)
    assert "This message was deleted." in response.content.decode()
    assert "final" not in response.content.decode()


def test_bob_cannot_edit_alices_message_over_http(client, alice, bob, direct, send):
    message = send(alice, "mine")
    client.force_login(bob)
    response = client.post(reverse("edit_message", args=[message.pk]), {"body": "hacked"}, **HTMX)
    assert response.status_code == 403 and "your own messages" in response.content.decode()
    message.refresh_from_db()
    assert message.body == "mine"


def test_history_pages_upward(alice_client, alice, direct):
    with override_settings(MESSAGE_RATE_LIMIT="1000/m"):
        for i in range(60):
            services.send_message(user=alice, conversation_id=direct.pk, body=f"number {i}")
    page = alice_client.get(reverse("conversation", args=[direct.pk])).content.decode()
    assert "number 59" in page and "number 9<" not in page and "Load older messages" in page
    older = alice_client.get(reverse("message_page", args=[direct.pk]) + "?before=11", **HTMX).content.decode()
    assert "number 0" in older and "number 9" in older and "number 10" not in older
    assert "Load older messages" not in older
    bad = alice_client.get(reverse("message_page", args=[direct.pk]) + "?before=abc", **HTMX)
    assert bad.status_code == 400


def test_start_chat_via_search_and_reuse(alice_client, alice, bob):
    results = alice_client.get(reverse("new_chat") + "?q=bo", **HTMX).content.decode()
    assert "Bob Baker" in results and 'aria-label="Message Bob Baker"' in results
    first = alice_client.post(reverse("start_direct", args=[bob.pk]))
    second = alice_client.post(reverse("start_direct", args=[bob.pk]))
    assert first["Location"] == second["Location"]
    assert alice_client.post(reverse("start_direct", args=[alice.pk]), follow=True).status_code == 200
    assert Membership.objects.filter(user=alice).count() == 1


def test_pin_mute_and_mark_read_over_http(alice_client, alice, bob, direct, send):
    send(bob, "unread one")
    alice_client.post(reverse("conversation_flags", args=[direct.pk]), {"pinned": "1", "muted": "1"})
    membership = Membership.objects.get(user=alice, conversation=direct)
    assert membership.pinned and membership.muted
    assert alice_client.post(reverse("mark_read", args=[direct.pk]), {"seq": "1"}).status_code == 204
    membership.refresh_from_db()
    assert membership.last_read_seq == 1


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_conversation_list_and_chat_page_queries_do_not_grow(alice_client, alice, bob):
    with override_settings(MESSAGE_RATE_LIMIT="10000/m"):
        chat = services.get_or_create_direct_conversation(user=alice, other_id=bob.pk)
        services.send_message(user=bob, conversation_id=chat.pk, body="hi")
        home_small = _queries(alice_client, reverse("home"))
        page_small = _queries(alice_client, reverse("conversation", args=[chat.pk]))
        for i in range(8):
            other = make_user(f"friend{i}")
            conversation = services.get_or_create_direct_conversation(user=alice, other_id=other.pk)
            services.send_message(user=other, conversation_id=conversation.pk, body=f"hey {i}")
        for i in range(40):
            message = services.send_message(user=bob, conversation_id=chat.pk, body=f"msg {i}", reply_to_id=None).message
            services.toggle_reaction(user=alice, message_id=message.pk, emoji="👍")
        services.send_message(user=alice, conversation_id=chat.pk, body="reply", reply_to_id=message.pk)
        assert _queries(alice_client, reverse("home")) == home_small
        assert _queries(alice_client, reverse("conversation", args=[chat.pk])) == page_small
    assert page_small <= 16  # one of them fetches the senders of the page once, instead of a copy per message


def test_absurd_ids_are_not_found_not_server_errors(alice_client, direct):
    huge = "9" * 30
    for url in (f"/c/{huge}/", f"/c/{huge}/messages/", f"/m/{huge}/", f"/files/{huge}/", f"/g/{huge}/"):
        assert alice_client.get(url, HTTP_HX_REQUEST="true").status_code == 404, url
    response = alice_client.post(reverse("send_message", args=[direct.pk]), {"body": "x", "reply_to": "abc"}, **HTMX)
    assert response.status_code == 400 and not Message.objects.exists()


def test_sidebar_shows_a_page_of_chats_and_loads_the_rest_on_demand(alice_client, alice):
    page = selectors.SIDEBAR_PAGE_SIZE
    with override_settings(MESSAGE_RATE_LIMIT="10000/m"):
        for i in range(page + 5):
            other = make_user(f"pal{i}")
            conversation = services.get_or_create_direct_conversation(user=alice, other_id=other.pk)
            services.send_message(user=other, conversation_id=conversation.pk, body=f"hey {i}")
    home = alice_client.get(reverse("home")).content.decode()
    assert home.count('class="conversation-entry') == page
    assert f"hey {page + 4}<" in home and "hey 0<" not in home  # the newest first
    assert "More conversations" in home
    rest = alice_client.get(reverse("conversation_list") + f"?offset={page}", **HTMX).content.decode()
    assert rest.count('class="conversation-entry') == 5 and "hey 0<" in rest
    assert "More conversations" not in rest
    assert alice_client.get(reverse("conversation_list") + "?offset=abc", **HTMX).status_code == 200


@pytest.mark.parametrize("unread, shown, first_unread_shown", [(3, 50, True), (70, 80, True), (500, 50, False)])
def test_chat_opens_at_the_first_unread_message_when_it_is_near(alice_client, alice, bob, direct, unread, shown,
                                                               first_unread_shown):
    """Up to two pages back the first unread message is on screen (with its divider); further back
    the newest page only, and older pages load as the reader scrolls up."""
    from messaging.models import Membership

    with override_settings(MESSAGE_RATE_LIMIT="100000/m"):
        for i in range(120):
            services.send_message(user=bob, conversation_id=direct.pk, body=f"old {i}")  # bob has read these
        for i in range(unread):
            services.send_message(user=alice, conversation_id=direct.pk, body=f"new {i}")
    page = alice_client.get(reverse("conversation", args=[direct.pk])).content.decode()
    assert page.count('class="msg msg-text') == 50  # alice has read everything: the newest page
    bob_page = _page_for(bob, direct)
    assert bob_page.count('class="msg msg-text') == shown
    first_unread = Membership.objects.get(conversation=direct, user=bob).last_read_seq + 1
    assert (f'id="msg-{direct.pk}-{first_unread}"' in bob_page) == first_unread_shown


def _page_for(user, conversation):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.get(reverse("conversation", args=[conversation.pk])).content.decode()


def test_a_refused_request_carries_the_error_code(client, alice, bob):
    chat = services.get_or_create_direct_conversation(user=alice, other_id=bob.pk)
    client.force_login(make_user("eve"))
    response = client.post(f"/c/{chat.pk}/send/", {"body": "hi"}, HTTP_HX_REQUEST="true")
    assert (response.status_code, response["X-Error-Code"]) == (404, "not_member")
    response = client.post(f"/c/{chat.pk}/send/", {"body": "hi"}, HTTP_ACCEPT="application/json")
    assert response.json()["error"]["code"] == "not_member" and response.json()["error"]["message"]
