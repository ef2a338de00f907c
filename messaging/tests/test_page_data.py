"""The app shell's data (sidebar, bell, invitations) comes from context processors that query
only when a page shows it; the template tags only format what they are given."""

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.services.notifications import notify
from conftest import make_user
from groups import services as group_services
from messaging import selectors, services

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}

NOTIFICATIONS = "accounts_notification"
INVITATIONS = "groups_groupinvitation"
SIDEBAR = 'ORDER BY "messaging_membership"."pinned" DESC'


def _sql(client, url, **extra) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    assert response.status_code == 200, url
    return [query["sql"] for query in ctx.captured_queries]


def _touching(queries, table) -> int:
    return sum(f'"{table}"' in sql for sql in queries)


@pytest.fixture
def chat_page_setup(alice, bob, direct, send):
    """Alice has a chat with news, a pending group invitation and two unread notifications (the
    invitation and a friend request)."""
    carol = make_user("carol")
    group = group_services.create_group(user=carol, title="Book club", member_ids=[bob.pk])
    group_services.invite(user=carol, conversation_id=group.pk, invitee_id=alice.pk)
    notify(recipient_id=alice.pk, kind="friend_request", text="Dora wants to be friends")
    send(bob, "hello")
    for emoji in ("👍", "🎉"):
        services.toggle_reaction(user=alice, message_id=send(bob, "react to me").pk, emoji=emoji)
    return direct


def test_the_chat_page_counts_and_lists_once_each(alice_client, chat_page_setup):
    queries = _sql(alice_client, reverse("conversation", args=[chat_page_setup.pk]))
    assert _touching(queries, NOTIFICATIONS) == 1
    assert _touching(queries, INVITATIONS) == 1
    assert sum(SIDEBAR in sql for sql in queries) == 1


def test_the_chat_page_costs_no_more_queries_than_before(alice_client, chat_page_setup, django_assert_max_num_queries):
    # 15 when the template tags ran the queries themselves.
    with django_assert_max_num_queries(15):
        page = alice_client.get(reverse("conversation", args=[chat_page_setup.pk])).content.decode()
    assert 'id="bell-count" >2<' in page and 'aria-label="Notifications, 2 unread"' in page
    assert 'id="invitation-badge" >1<' in page
    assert 'class="conversation-entry' in page and "react to me" in page


def test_pages_without_the_shell_do_not_pay_for_it(alice_client, chat_page_setup):
    pk = chat_page_setup.pk
    for url in (reverse("message_page", args=[pk]) + "?before=3", reverse("conversation_entry", args=[pk]),
                reverse("conversation_list") + "?offset=0"):
        queries = _sql(alice_client, url, **HTMX)
        assert not _touching(queries, NOTIFICATIONS) and not _touching(queries, INVITATIONS), url
    # The live sidebar refresh shows the invitations badge, not the bell.
    queries = _sql(alice_client, reverse("conversation_list"), **HTMX)
    assert not _touching(queries, NOTIFICATIONS) and _touching(queries, INVITATIONS) == 1


def test_the_sidebar_and_message_partials_render_without_queries(alice, chat_page_setup, rf):
    request = rf.get("/")
    request.user = alice
    entries = selectors.list_conversations(alice)
    messages, _ = selectors.list_messages(chat_page_setup.pk)
    with CaptureQueriesContext(connection) as ctx:
        sidebar = render_to_string("messaging/partials/conversation_list.html",
                                   {"entries": entries, "pending_invitations": 2, "user": alice}, request=request)
        history = render_to_string("messaging/partials/message_page.html",
                                   {"messages_page": messages, "starred": set()}, request=request)
    assert ctx.captured_queries == []
    assert 'id="invitation-badge" >2<' in sidebar and sidebar.count('class="conversation-entry') == 1
    assert history.count('class="reaction"') == 2


@override_settings(MESSAGE_RATE_LIMIT="1000/m")
def test_the_digest_names_chats_as_the_sidebar_does(alice, bob, direct, send):
    from messaging.digests import unread_summary

    send(bob, "hello")
    assert unread_summary(alice) == [("Bob Baker", 1)]
