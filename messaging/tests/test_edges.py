"""Hostile input on the chat pages: ids and page numbers beyond the database, unsafe text; and
the htmx pin/mute answer."""

import pytest
from django.urls import reverse

from chatsite.errors import InvalidInput, NotFound
from messaging import services
from messaging.models import Membership, Message

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
HUGE = "99999999999999999999"


@pytest.mark.parametrize("flag", ["pinned", "muted"])
def test_pinning_or_muting_with_htmx_answers_the_new_sidebar_entry(alice_client, alice, direct, flag):
    response = alice_client.post(reverse("conversation_flags", args=[direct.pk]), {flag: "1"}, **HTMX)
    assert response.status_code == 200
    attribute = {"pinned": "data-pinned", "muted": "data-muted"}[flag]
    assert f'{attribute}="1"' in response.content.decode()
    assert getattr(Membership.objects.get(conversation=direct, user=alice), flag) is True


@pytest.mark.parametrize("query", [{"before": HUGE}, {"after": HUGE}, {"before": "-1"}, {"after": "1e400"},
                                   {"before": "NaN"}, {"after": "\x00"}])
def test_page_numbers_beyond_the_database_or_not_numbers_are_refused(alice_client, direct, send, query):
    send(direct.memberships.first().user, "one")
    response = alice_client.get(reverse("message_page", args=[direct.pk]), query, **HTMX)
    assert response.status_code == 400


def test_page_numbers_in_range_still_page(alice_client, alice, direct, send):
    for n in range(3):
        send(alice, f"m{n}")
    page = alice_client.get(reverse("message_page", args=[direct.pk]), {"after": "0"}, **HTMX).content.decode()
    assert "m0" in page and "m2" in page
    page = alice_client.get(reverse("message_page", args=[direct.pk]), {"before": "2"}, **HTMX).content.decode()
    assert "m0" in page and "m2" not in page


@pytest.mark.parametrize("path", ["/c/{huge}/", "/c/{huge}/send/", "/c/{huge}/flags/", "/m/{huge}/", "/m/{huge}/edit/",
                                  "/files/{huge}/", "/chats/direct/{huge}/"])
def test_urls_with_an_id_beyond_the_database_are_not_found(alice_client, path):
    url = path.format(huge=HUGE)
    assert alice_client.get(url).status_code in (404, 405)
    assert alice_client.post(url, {"body": "x"}).status_code == 404


@pytest.mark.parametrize("value", [HUGE, 10**30, float("inf"), float("nan"), True, "1e400", "١"])
def test_services_take_any_person_id(alice, value):
    with pytest.raises(NotFound):
        services.get_or_create_direct_conversation(user=alice, other_id=value)


@pytest.mark.parametrize("seq", [float("inf"), float("-inf"), float("nan"), "1e400", None, [1]])
def test_a_read_receipt_with_a_number_that_is_not_one_is_refused(alice, direct, seq):
    with pytest.raises(InvalidInput):
        services.mark_read(user=alice, conversation_id=direct.pk, seq=seq)


def test_a_nul_or_a_lone_surrogate_in_a_body_is_cleaned_on_both_engines(alice, direct):
    message = services.send_message(user=alice, conversation_id=direct.pk, body="a\x00b \ud800c").message
    assert Message.objects.get(pk=message.pk).body == "ab \ufffdc"
    edited = services.edit_message(user=alice, message_id=message.pk, body="d\x00e")
    assert edited.body == "de"


def test_a_nul_in_a_client_id_is_refused(alice, direct):
    with pytest.raises(InvalidInput):
        services.send_message(user=alice, conversation_id=direct.pk, body="x", client_id="a\x00b")
    assert not Message.objects.exists()


def test_a_nul_in_the_new_chat_search_finds_as_if_it_were_not_there(alice_client, bob):
    response = alice_client.get(reverse("new_chat"), {"q": "b\x00ob"}, **HTMX)
    assert response.status_code == 200 and "Bob Baker" in response.content.decode()
