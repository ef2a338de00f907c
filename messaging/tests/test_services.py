import pytest
from django.test import override_settings

from chatsite.errors import InvalidInput, NotAllowed, NotFound, RateLimited
from conftest import make_user
from messaging import selectors, services
from messaging.models import Conversation, Membership, Message, Reaction, Star

pytestmark = pytest.mark.django_db


def test_direct_conversation_is_unique_per_pair_and_reused(alice, bob):
    first = services.get_or_create_direct_conversation(user=alice, other_id=bob.pk)
    again = services.get_or_create_direct_conversation(user=bob, other_id=alice.pk)
    assert first.pk == again.pk
    assert set(first.memberships.values_list("user_id", flat=True)) == {alice.pk, bob.pk}
    assert Conversation.objects.count() == 1


def test_cannot_start_chat_with_self_or_unknown_or_inactive_user(alice, bob):
    with pytest.raises(InvalidInput):
        services.get_or_create_direct_conversation(user=alice, other_id=alice.pk)
    with pytest.raises(NotFound):
        services.get_or_create_direct_conversation(user=alice, other_id=999999)
    bob.is_active = False
    bob.save()
    with pytest.raises(NotFound):
        services.get_or_create_direct_conversation(user=alice, other_id=bob.pk)
    assert Conversation.objects.count() == 0


def test_messages_get_gapless_seqs_and_update_the_conversation(alice, bob, direct, send):
    m1 = send(alice, "one")
    m2 = send(bob, "two")
    m3 = services.post_system_message(conversation_id=direct.pk, body="Ana pinned a message")
    assert [m1.seq, m2.seq, m3.seq] == [1, 2, 3]
    direct.refresh_from_db()
    assert direct.last_seq == 3 and direct.last_message_id == m3.pk


def test_sender_watermark_moves_with_own_message_and_unread_counts_for_the_other(alice, bob, direct, send):
    send(alice, "one")
    send(alice, "two")
    a = Membership.objects.get(user=alice, conversation=direct)
    b = Membership.objects.select_related("conversation").get(user=bob, conversation=direct)
    assert a.last_read_seq == 2
    assert b.unread_count == 2
    services.mark_read(user=bob, conversation_id=direct.pk, seq=1)
    b = Membership.objects.select_related("conversation").get(user=bob, conversation=direct)
    assert b.unread_count == 1


def test_body_is_rendered_safely_once(alice, send):
    message = send(alice, "**hi** <script>alert(1)</script> https://example.com :thumbsup:")
    assert "<strong>hi</strong>" in message.body_html
    assert "<script>" not in message.body_html and "&lt;script&gt;" in message.body_html
    assert 'rel="noopener noreferrer nofollow"' in message.body_html
    assert "👍" in message.body_html


@pytest.mark.parametrize("body", ["", "   ", "\n\n", None, 42])
def test_empty_or_invalid_body_is_refused_and_nothing_stored(alice, direct, body):
    with pytest.raises(InvalidInput, match="needs some text|must be text"):
        services.send_message(user=alice, conversation_id=direct.pk, body=body)
    assert Message.objects.count() == 0


@override_settings(MESSAGE_MAX_LENGTH=20)
def test_over_long_body_is_refused_with_the_limit(alice, direct):
    with pytest.raises(InvalidInput, match="at most 20 characters"):
        services.send_message(user=alice, conversation_id=direct.pk, body="x" * 21)
    services.send_message(user=alice, conversation_id=direct.pk, body="x" * 20)
    assert Message.objects.count() == 1


def test_non_member_and_unknown_conversation_cannot_send(alice, direct):
    carol = make_user("carol")
    with pytest.raises(NotFound):
        services.send_message(user=carol, conversation_id=direct.pk, body="hi")
    with pytest.raises(NotFound):
        services.send_message(user=alice, conversation_id=987654, body="hi")
    with pytest.raises(NotFound):
        services.send_message(user=alice, conversation_id="abc", body="hi")
    assert Message.objects.count() == 0


def test_retried_send_with_same_client_id_is_stored_once(alice, direct):
    first = services.send_message(user=alice, conversation_id=direct.pk, body="hello", client_id="c-1")
    retry = services.send_message(user=alice, conversation_id=direct.pk, body="hello", client_id="c-1")
    assert first.created and not retry.created
    assert retry.message.pk == first.message.pk
    assert Message.objects.count() == 1
    direct.refresh_from_db()
    assert direct.last_seq == 1


def test_client_id_too_long_is_refused(alice, direct):
    with pytest.raises(InvalidInput):
        services.send_message(user=alice, conversation_id=direct.pk, body="hi", client_id="x" * 65)


def test_reply_must_point_into_the_same_conversation(alice, bob, direct, send):
    original = send(bob, "question?")
    reply = services.send_message(user=alice, conversation_id=direct.pk, body="answer", reply_to_id=original.pk).message
    assert reply.reply_to_id == original.pk
    carol = make_user("carol")
    other = services.get_or_create_direct_conversation(user=alice, other_id=carol.pk)
    foreign = services.send_message(user=carol, conversation_id=other.pk, body="elsewhere").message
    with pytest.raises(InvalidInput, match="not in this conversation"):
        services.send_message(user=alice, conversation_id=direct.pk, body="x", reply_to_id=foreign.pk)
    assert Message.objects.filter(conversation=direct).count() == 2


@override_settings(MESSAGE_RATE_LIMIT="3/m")
def test_send_rate_limit(alice, direct, send):
    for _ in range(3):
        send(alice, "spam")
    with pytest.raises(RateLimited):
        send(alice, "spam")
    assert Message.objects.count() == 3


def test_edit_own_message(alice, send):
    message = send(alice, "helo")
    edited = services.edit_message(user=alice, message_id=message.pk, body="hello *world*")
    assert edited.edited_at is not None
    assert edited.body == "hello *world*" and "<em>world</em>" in edited.body_html


def test_cannot_edit_or_delete_someone_elses_message(alice, bob, send):
    message = send(alice, "mine")
    with pytest.raises(NotAllowed):
        services.edit_message(user=bob, message_id=message.pk, body="yours now")
    with pytest.raises(NotAllowed):
        services.delete_message(user=bob, message_id=message.pk)
    message.refresh_from_db()
    assert message.body == "mine" and message.deleted_at is None and message.edited_at is None


def test_outsider_cannot_see_edit_or_react(alice, send):
    message = send(alice, "private")
    carol = make_user("carol")
    for call in (lambda: services.edit_message(user=carol, message_id=message.pk, body="x"),
                 lambda: services.delete_message(user=carol, message_id=message.pk),
                 lambda: services.toggle_reaction(user=carol, message_id=message.pk, emoji="👍"),
                 lambda: services.toggle_star(user=carol, message_id=message.pk),
                 lambda: selectors.access_message(carol, message.pk)):
        with pytest.raises(NotFound):
            call()
    assert not Reaction.objects.exists() and not Star.objects.exists()


def test_edit_with_empty_body_is_refused(alice, send):
    message = send(alice, "keep me")
    with pytest.raises(InvalidInput):
        services.edit_message(user=alice, message_id=message.pk, body="  ")
    message.refresh_from_db()
    assert message.body == "keep me"


def test_delete_is_soft_and_clears_content_reactions_and_stars(alice, bob, send):
    message = send(alice, "oops")
    services.toggle_reaction(user=bob, message_id=message.pk, emoji="👍")
    services.toggle_star(user=bob, message_id=message.pk)
    services.delete_message(user=alice, message_id=message.pk)
    message.refresh_from_db()
    assert message.deleted_at and message.body == "" and message.body_html == ""
    assert message.seq == 1 and Message.objects.count() == 1
    assert not Reaction.objects.exists() and not Star.objects.exists()
    with pytest.raises(InvalidInput):
        services.edit_message(user=alice, message_id=message.pk, body="back")


def test_reactions_toggle_and_summarise(alice, bob, send):
    message = send(alice, "party")
    services.toggle_reaction(user=alice, message_id=message.pk, emoji="🎉")
    services.toggle_reaction(user=bob, message_id=message.pk, emoji="🎉")
    services.toggle_reaction(user=bob, message_id=message.pk, emoji="👍")
    summary = selectors.reaction_summary(selectors.get_message_for_display(message.pk))
    assert [(r["emoji"], r["count"]) for r in summary] == [("🎉", 2), ("👍", 1)]
    assert "Alice Archer" in summary[0]["names"] and "Bob Baker" in summary[0]["names"]
    services.toggle_reaction(user=bob, message_id=message.pk, emoji="🎉")
    assert Reaction.objects.filter(message=message).count() == 2
    with pytest.raises(InvalidInput):
        services.toggle_reaction(user=bob, message_id=message.pk, emoji="<b>")


def test_stars_are_private_and_listed(alice, bob, send):
    message = send(alice, "remember this")
    assert services.toggle_star(user=bob, message_id=message.pk) is True
    assert [m.pk for m in selectors.list_starred(bob)] == [message.pk]
    assert selectors.list_starred(alice) == []
    assert services.toggle_star(user=bob, message_id=message.pk) is False
    assert selectors.list_starred(bob) == []


def test_read_watermark_only_moves_forward_and_is_capped(alice, bob, direct, send):
    for i in range(3):
        send(alice, f"m{i}")
    services.mark_read(user=bob, conversation_id=direct.pk, seq=3)
    services.mark_read(user=bob, conversation_id=direct.pk, seq=1)
    membership = Membership.objects.get(user=bob, conversation=direct)
    assert membership.last_read_seq == 3 and membership.last_delivered_seq == 3
    services.mark_read(user=bob, conversation_id=direct.pk, seq=99)
    membership.refresh_from_db()
    assert membership.last_read_seq == 3
    with pytest.raises(InvalidInput):
        services.mark_read(user=bob, conversation_id=direct.pk, seq="x")


def test_delivered_does_not_mark_read(alice, bob, direct, send):
    send(alice, "hi")
    services.mark_delivered(user=bob, conversation_id=direct.pk, seq=1)
    membership = Membership.objects.get(user=bob, conversation=direct)
    assert (membership.last_delivered_seq, membership.last_read_seq) == (1, 0)
    assert selectors.read_watermarks(direct.pk, alice.pk) == (0, 1)


def test_pin_and_mute_are_per_user_and_pinned_sort_first(alice, bob, direct, send):
    carol = make_user("carol")
    other = services.get_or_create_direct_conversation(user=alice, other_id=carol.pk)
    send(carol, "newer", conversation=other)
    assert [e.conversation_id for e in selectors.list_conversations(alice)][0] == other.pk
    services.set_conversation_flags(user=alice, conversation_id=direct.pk, pinned=True, muted=True)
    entries = selectors.list_conversations(alice)
    assert entries[0].conversation_id == direct.pk and entries[0].pinned and entries[0].muted
    assert not Membership.objects.get(user=bob, conversation=direct).pinned


def test_typing_requires_membership(alice, direct):
    carol = make_user("carol")
    with pytest.raises(NotFound):
        services.notify_typing(user=carol, conversation_id=direct.pk)
    services.notify_typing(user=alice, conversation_id=direct.pk)


def test_search_people_by_prefix_excludes_self_and_inactive(alice, bob):
    make_user("bobby", first_name="Roberta", is_active=False)
    assert [u.username for u in selectors.search_people(alice, "bo")] == ["bob"]
    assert [u.username for u in selectors.search_people(alice, "Bob Ba")] == ["bob"]
    assert [u.username for u in selectors.search_people(alice, "bob@example.com")] == ["bob"]
    assert selectors.search_people(alice, "bob@exa") == []  # no probing for addresses by prefix
    assert selectors.search_people(alice, "ali") == []
    assert selectors.search_people(alice, "  ") == []


@override_settings(MESSAGE_RATE_LIMIT="1000/m")
def test_keyset_pages(alice, direct, send):
    for i in range(120):
        send(alice, f"m{i}")
    newest, more = selectors.list_messages(direct.pk)
    assert [m.seq for m in newest] == list(range(71, 121)) and more
    older, more = selectors.list_messages(direct.pk, before_seq=71)
    assert [m.seq for m in older] == list(range(21, 71)) and more
    oldest, more = selectors.list_messages(direct.pk, before_seq=21)
    assert [m.seq for m in oldest] == list(range(1, 21)) and not more
    after, more = selectors.list_messages(direct.pk, after_seq=115)
    assert [m.seq for m in after] == [116, 117, 118, 119, 120] and not more


def test_a_retry_is_answered_with_the_stored_message_even_when_the_sender_is_now_limited(alice, direct):
    with override_settings(MESSAGE_RATE_LIMIT="1/m"):
        first = services.send_message(user=alice, conversation_id=direct.pk, body="once", client_id="c-1")
        retry = services.send_message(user=alice, conversation_id=direct.pk, body="once", client_id="c-1")
        assert first.created and not retry.created and retry.message.pk == first.message.pk
        with pytest.raises(RateLimited):  # a new message is still limited
            services.send_message(user=alice, conversation_id=direct.pk, body="twice", client_id="c-2")
    assert Message.objects.filter(conversation=direct).count() == 1


@pytest.mark.django_db(transaction=True)  # the after-commit work must really run
def test_a_send_with_everyone_online_writes_only_the_message(alice, bob, direct):
    """The send path stays a few statements: no notification work when nobody is away."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Notification
    from accounts.services import presence

    for person in (alice, bob):
        presence.socket_opened(user=person, conversation_ids=[direct.pk])
    with CaptureQueriesContext(connection) as queries:
        services.send_message(user=alice, conversation_id=direct.pk, body="hi", client_id="q-1")
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert statements.count("INSERT") == 1 and statements.count("UPDATE") == 2, statements
    assert len([s for s in statements if s not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")]) <= 5, statements
    assert statements.count("BEGIN") <= 1, statements  # one transaction (SQLite shows its BEGIN)
    assert not Notification.objects.exists()


@pytest.mark.parametrize("client_id", ["3f2b9c1e-8d4a-4b6f-9e2a-1c5d7e9f0a3b", "bench/uvicorn-1-2", "k:1.2_x"])
def test_any_printable_token_is_a_client_id(alice, direct, client_id):
    message = services.send_message(user=alice, conversation_id=direct.pk, body="hi", client_id=client_id).message
    assert message.client_id == client_id


@pytest.mark.parametrize("client_id", ["with space", "tab\tbed", "é", "x" * 65, 'x" onclick="y'])
def test_a_client_id_outside_printable_ascii_is_refused(alice, direct, client_id):
    with pytest.raises(InvalidInput):
        services.send_message(user=alice, conversation_id=direct.pk, body="hi", client_id=client_id)
    assert Message.objects.count() == 0


def test_toggles_flip_and_sets_hold(alice, bob, send):
    """The site's buttons toggle; the API sets (a retry changes nothing). One service serves both."""
    said = send(bob, "news")
    assert services.toggle_star(user=alice, message_id=said.pk) is True
    assert services.toggle_star(user=alice, message_id=said.pk) is False
    assert services.set_star(user=alice, message_id=said.pk, on=False) is False
    assert services.set_star(user=alice, message_id=said.pk, on=True) is True
    assert services.set_star(user=alice, message_id=said.pk, on=True) is True
    assert Star.objects.filter(user=alice).count() == 1

    def emojis():
        return list(Reaction.objects.filter(message=said, user=alice).values_list("emoji", flat=True))

    services.toggle_reaction(user=alice, message_id=said.pk, emoji="👍")
    assert emojis() == ["👍"]
    services.toggle_reaction(user=alice, message_id=said.pk, emoji="👍")
    assert emojis() == []
    services.set_reaction(user=alice, message_id=said.pk, emoji="👍", on=True)
    services.set_reaction(user=alice, message_id=said.pk, emoji="👍", on=True)
    assert emojis() == ["👍"]
    services.set_reaction(user=alice, message_id=said.pk, emoji="👍", on=False)
    services.set_reaction(user=alice, message_id=said.pk, emoji="👍", on=False)
    assert emojis() == []
