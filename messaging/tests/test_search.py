"""Message search on the engine of the run (SQLite FTS5 by default, PostgreSQL with DATABASE_URL):
the parser, relevance, prefix, accents, filters, excerpts made inert, and who may find what."""

from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from chatsite.errors import InvalidInput
from conftest import make_user
from groups import services as group_services
from messaging import services
from messaging.models import Attachment, Conversation, Membership, Message
from messaging.search import mark_excerpt, parse_query, search_messages

pytestmark = pytest.mark.django_db


def bodies(page):
    return [r.message.body for r in page.results]


# ------------------------------------------------------------------------------------- the parser

def test_parser_takes_words_phrases_exclusions_and_filters():
    parsed = parse_query('lunch "fresh bread" -soup from:@Ana in:"Book club" has:file has:LINK '
                         "before:2026-03-31 after:2026-01-01 is:starred https://example.com/x 10:30")
    assert [(t.text, t.phrase, t.negated) for t in parsed.terms] == [
        ("lunch", False, False), ("fresh bread", True, False), ("soup", False, True),
        ("https://example.com/x", False, False), ("10:30", False, False)]
    assert parsed.senders == ["Ana"] and parsed.chats == ["Book club"]
    assert parsed.has == {"file", "link"} and parsed.starred
    assert parsed.before == date(2026, 3, 31) and parsed.after == date(2026, 1, 1)


@pytest.mark.parametrize(("query", "says"), [
    ("before:yesterday", "needs a date like 2026-03-31"),
    ("after:2026-13-01", "needs a date like 2026-03-31"),
    ("has:pdf", "has:file, has:image or has:link"),
    ("is:read", "is:starred"),
    ("from:", "needs a value"),
    ("-from:ana", "cannot be excluded"),
    ("-soup", "not only words to leave out"),
    ("after:2026-03-01 before:2026-03-02", "No day is both"),
    ("x" * 301, "at most 300 characters"),
])
def test_parser_refuses_bad_filters_with_a_sentence(query, says):
    with pytest.raises(InvalidInput) as refused:
        parse_query(query)
    assert says in refused.value.message


def test_punctuation_alone_is_no_word():
    assert parse_query("!!! ...").empty


# ------------------------------------------------------------------------------------- matching

def test_relevance_orders_the_better_match_first(alice, bob, send):
    once = send(alice, "The meeting moved to the small room, see the plan")
    twice = send(bob, "meeting meeting: the meeting notes")
    send(alice, "nothing to see here")
    page = search_messages(alice, "meeting")
    assert [r.message.pk for r in page.results] == [twice.pk, once.pk]
    assert search_messages(alice, "meeting", order="newest").results[0].message.pk == twice.pk
    assert [r.message.pk for r in search_messages(alice, "plan meeting").results] == [once.pk]


def test_the_last_word_is_a_prefix_and_accents_are_folded(alice, bob, send):
    send(alice, "Rendez-vous au café à midi")
    send(bob, "Zoë sent the invoice")
    assert bodies(search_messages(alice, "caf")) == ["Rendez-vous au café à midi"]
    assert bodies(search_messages(alice, "cafe")) == ["Rendez-vous au café à midi"]
    assert bodies(search_messages(alice, "CAFÉ midi")) == ["Rendez-vous au café à midi"]
    assert bodies(search_messages(alice, "zoe")) == ["Zoë sent the invoice"]
    assert bodies(search_messages(alice, "Zoë inv")) == ["Zoë sent the invoice"]
    # Only the last word is a prefix; a quoted word is a word.
    assert bodies(search_messages(alice, "inv sent")) == []
    assert bodies(search_messages(alice, '"inv"')) == []


def test_any_language_plain_text_is_found(alice, bob, send):
    send(alice, "Привет, как дела?")
    send(bob, "Γειά σου κόσμε")
    send(bob, "Straße und Ärger")
    assert bodies(search_messages(alice, "привет")) == ["Привет, как дела?"]
    assert bodies(search_messages(alice, "ΚΌΣΜΕ")) == ["Γειά σου κόσμε"]
    assert bodies(search_messages(alice, "arger")) == ["Straße und Ärger"]


def test_words_in_links_addresses_and_angle_brackets_are_words(alice, bob, send):
    send(alice, "see https://github.com/django/django for the <ticket> fix")
    send(bob, "write to ana@example.org")
    assert len(bodies(search_messages(alice, "github"))) == 1
    assert len(bodies(search_messages(alice, "github.com/djan"))) == 1
    assert len(bodies(search_messages(alice, "ticket"))) == 1
    assert bodies(search_messages(alice, "example")) == ["write to ana@example.org"]
    [result] = search_messages(alice, "ticket").results
    assert "&lt;<mark>ticket</mark>" in str(result.excerpt) and "github.com/django" in str(result.excerpt)


def test_phrases_and_exclusions(alice, bob, send):
    send(alice, "fresh bread today")
    send(bob, "bread that is not fresh")
    assert bodies(search_messages(alice, '"fresh bread"')) == ["fresh bread today"]
    assert bodies(search_messages(alice, "bread -today")) == ["bread that is not fresh"]


def test_edits_are_found_by_their_new_words_only(alice, send):
    message = send(alice, "the old words")
    services.edit_message(user=alice, message_id=message.pk, body="the new text")
    assert bodies(search_messages(alice, "old")) == []
    assert bodies(search_messages(alice, "new")) == ["the new text"]


def test_the_excerpt_marks_the_words_and_keeps_a_payload_inert(alice, bob, send):
    send(bob, 'look <img src=x onerror="alert(1)"> <mark>fake</mark> & <b>bold</b> script here')
    [result] = search_messages(alice, "script").results
    html = str(result.excerpt)
    assert "<img" not in html and "<b>" not in html and "<mark>fake" not in html
    # The excerpt may start after the <img (ts_headline picks its window): whatever is shown is text.
    assert 'onerror="' not in html and "fake&lt;/mark&gt;" in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<mark>script</mark>" in html
    assert html.count("<mark>") == 1


def test_mark_excerpt_escapes_everything_and_pairs_its_marks():
    assert str(mark_excerpt("a \x02<b>\x03 c\x03 \x02d")) == "a <mark>&lt;b&gt;</mark> c <mark>d</mark>"


# ------------------------------------------------------------------------------------- filters

def test_from_and_in_filters(alice, bob, send):
    carol = make_user("carol", first_name="Carol")
    group = group_services.create_group(user=alice, title="Book club", member_ids=[bob.pk, carol.pk])
    send(alice, "lunch with me")
    send(bob, "lunch with bob")
    send(carol, "lunch in the club", conversation=group)
    assert set(bodies(search_messages(alice, "lunch from:bob"))) == {"lunch with bob"}
    assert set(bodies(search_messages(alice, "lunch from:me"))) == {"lunch with me"}
    assert set(bodies(search_messages(alice, "lunch in:book"))) == {"lunch in the club"}
    assert set(bodies(search_messages(alice, "lunch in:bob"))) == {"lunch with me", "lunch with bob"}
    assert set(bodies(search_messages(alice, "from:carol"))) == {"lunch in the club"}
    with pytest.raises(InvalidInput, match="anyone called “nobody”"):
        search_messages(alice, "lunch from:nobody")
    with pytest.raises(InvalidInput, match="None of your chats"):
        search_messages(alice, "lunch in:chess")


def test_one_chat_only(alice, bob, send, direct):
    group = group_services.create_group(user=alice, title="Team", member_ids=[bob.pk])
    send(alice, "deploy now", conversation=group)
    send(alice, "deploy later")
    assert bodies(search_messages(alice, "deploy", conversation_id=direct.pk)) == ["deploy later"]
    assert bodies(search_messages(alice, "deploy", conversation_id=group.pk)) == ["deploy now"]


def test_dates_stars_links_and_files(alice, bob, send, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    old = send(alice, "report one")
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    link = send(bob, "report at https://example.com/r")
    starred = send(bob, "report two")
    services.toggle_star(user=alice, message_id=starred.pk)
    picture = send(bob, "report picture")
    document = send(bob, "report document")
    for message, kind in ((picture, Attachment.Kind.IMAGE), (document, Attachment.Kind.FILE)):
        Attachment.objects.create(message=message, uploader=bob, file=ContentFile(b"x", name="f"), kind=kind,
                                  content_type="application/octet-stream", size=1, original_name="f")
    today = timezone.localdate()
    assert bodies(search_messages(alice, f"report before:{(today - timedelta(days=5)).isoformat()}")) == ["report one"]
    assert old.body not in bodies(search_messages(alice, f"report after:{(today - timedelta(days=5)).isoformat()}"))
    assert bodies(search_messages(alice, "report has:link")) == [link.body]
    assert bodies(search_messages(alice, "report is:starred")) == [starred.body]
    assert bodies(search_messages(alice, "has:image")) == [picture.body]
    assert bodies(search_messages(alice, "report has:file")) == [document.body]
    assert bodies(search_messages(bob, "is:starred")) == []  # alice's star, not bob's


# ------------------------------------------------------------------------------------- who may find what

def test_never_a_chat_one_is_not_in_nor_a_deleted_message(alice, bob, send):
    eve = make_user("eve")
    send(alice, "secret plan")
    gone = send(bob, "secret deleted")
    services.delete_message(user=bob, message_id=gone.pk)
    assert bodies(search_messages(alice, "secret")) == ["secret plan"]
    assert bodies(search_messages(eve, "secret")) == []
    with pytest.raises(InvalidInput):  # eve shares no chat with alice: the name is not even looked up
        search_messages(eve, "secret from:alice")


def test_never_after_leaving_or_being_removed(alice, bob, send):
    carol = make_user("carol")
    group = group_services.create_group(user=alice, title="Trip", member_ids=[bob.pk, carol.pk])
    send(alice, "passport numbers", conversation=group)
    assert bodies(search_messages(bob, "passport")) == ["passport numbers"]
    group_services.leave_group(user=bob, conversation_id=group.pk)
    assert bodies(search_messages(bob, "passport")) == []
    group_services.remove_member(user=alice, conversation_id=group.pk, member_id=carol.pk)
    assert bodies(search_messages(carol, "passport")) == []


def test_a_late_joiner_finds_only_what_came_after_joining(alice, bob, send):
    group = group_services.create_group(user=alice, title="Plans", member_ids=[])
    send(alice, "surprise party before", conversation=group)
    Membership.objects.filter(conversation=group).update(joined_at=timezone.now() - timedelta(minutes=10))
    Message.objects.filter(conversation=group).update(created_at=timezone.now() - timedelta(minutes=5))
    group_services.add_members(user=alice, conversation_id=group.pk, user_ids=[bob.pk])
    send(alice, "surprise party after", conversation=group)
    assert bodies(search_messages(bob, "surprise")) == ["surprise party after"]
    assert set(bodies(search_messages(alice, "surprise"))) == {"surprise party before", "surprise party after"}


def test_never_another_persons_assistant_chat(alice, bob):
    chat = Conversation.objects.create(kind=Conversation.Kind.ASSISTANT, title="Assistant", created_by=alice)
    Membership.objects.create(conversation=chat, user=alice, role=Membership.Role.OWNER)
    services.post_message(conversation_id=chat.pk, sender=None, kind=Message.Kind.TEXT, body="my tax questions")
    assert bodies(search_messages(alice, "tax")) == ["my tax questions"]
    assert bodies(search_messages(bob, "tax")) == []
    assert bodies(search_messages(bob, "tax", conversation_id=chat.pk)) == []


def test_the_index_is_kept_by_the_database(alice, send):
    """Rows written without the ORM's help (the send path's SQL, a bulk load) are found as well."""
    message = send(alice, "first words")
    Message.objects.filter(pk=message.pk).update(body="second words")
    assert bodies(search_messages(alice, "second")) == ["second words"]
    Message.objects.filter(pk=message.pk).update(deleted_at=timezone.now(), body="")
    assert bodies(search_messages(alice, "second")) == []
    Message.objects.filter(pk=message.pk).delete()
    if connection.vendor == "sqlite":  # the external-content index is still consistent
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO messaging_message_fts(messaging_message_fts, rank) VALUES ('integrity-check', 1)")


# ------------------------------------------------------------------------------------- the pages

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_search_fragment_lists_results_and_counts_them(alice_client, alice, bob, send):
    send(bob, "the <b>quarterly</b> report is ready")
    response = alice_client.get("/search/", {"q": "quarter", "scope": "all"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'aria-label="Search results"' in html and "<mark>quarterly</mark>" in html
    assert "1 message found" in html and 'id="search-status-all" hx-swap-oob="innerHTML"' in html
    message = Message.objects.get(body__contains="quarterly")
    assert f'href="/c/{message.conversation_id}/?at={message.seq}"' in html


def test_a_bad_filter_is_a_sentence_not_an_error_page(alice_client):
    response = alice_client.get("/search/", {"q": "report has:pdf", "scope": "all"}, **HTMX)
    assert response.status_code == 200
    assert "has:file, has:image or has:link" in response.content.decode()
    page = alice_client.get("/search/", {"q": "before:someday"})
    assert page.status_code == 200 and "needs a date like" in page.content.decode()


def test_search_in_a_chat_one_is_not_in_is_not_found(client, bob, direct, send):
    send(bob, "hello there")
    eve = make_user("eve")
    client.force_login(eve)
    assert client.get("/search/", {"q": "hello", "conversation": direct.pk}, **HTMX).status_code == 404


def test_the_search_page_works_without_javascript(alice_client, bob, send):
    send(bob, "budget numbers")
    html = alice_client.get("/search/", {"q": "budget"}).content.decode()
    assert "<h1>Search messages</h1>" in html and "<mark>budget</mark>" in html


@override_settings(MESSAGE_RATE_LIMIT="1000/m")
def test_a_chat_opens_around_a_message_with_older_and_newer_pages(alice_client, alice, send, direct):
    for i in range(1, 121):
        send(alice, f"message number {i}")
    html = alice_client.get(f"/c/{direct.pk}/", {"at": 40}).content.decode()
    assert 'data-focus-seq="40"' in html
    assert f'id="msg-{direct.pk}-15"' in html and f'id="msg-{direct.pk}-64"' in html
    assert f'id="msg-{direct.pk}-14"' not in html and f'id="msg-{direct.pk}-65"' not in html
    assert "?before=15" in html and "?after=64" in html
    newer = alice_client.get(f"/c/{direct.pk}/messages/", {"after": 64}, **HTMX).content.decode()
    assert f'id="msg-{direct.pk}-65"' in newer and "?after=114" in newer
    last = alice_client.get(f"/c/{direct.pk}/messages/", {"after": 114}, **HTMX).content.decode()
    assert f'id="msg-{direct.pk}-120"' in last and "load-newer" not in last
    # A seq beyond the chat opens it as usual, at the newest messages.
    assert 'data-focus-seq=""' in alice_client.get(f"/c/{direct.pk}/", {"at": 999}).content.decode()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 triggers are SQLite's")
def test_the_sqlite_triggers_come_back_after_a_table_rebuild(alice, send):
    from messaging.search import ensure_sqlite_triggers

    assert not ensure_sqlite_triggers()
    send(alice, "before the rebuild")
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER messaging_message_fts_update")
        cursor.execute("DROP TRIGGER messaging_message_fts_insert")
    send(alice, "while the triggers were gone")
    assert ensure_sqlite_triggers()
    assert bodies(search_messages(alice, "triggers")) == ["while the triggers were gone"]
    send(alice, "after the repair")
    assert bodies(search_messages(alice, "repair")) == ["after the repair"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan choice is PostgreSQL's")
def test_both_postgres_plans_find_the_same(alice, bob, send, monkeypatch):
    from messaging.search import _Postgres

    for i in range(30):
        send(alice if i % 2 else bob, f"status report {i} {'urgent' if i % 3 == 0 else ''}")
    queries = ["report", "urgent rep", '"status report" -urgent', "report from:bob"]
    rare = {(q, o): [r.message.pk for r in search_messages(alice, q, order=o).results]
            for q in queries for o in ("relevance", "newest")}
    monkeypatch.setattr(_Postgres, "_all_common", lambda self, parsed: True)
    common = {(q, o): [r.message.pk for r in search_messages(alice, q, order=o).results]
              for q in queries for o in ("relevance", "newest")}
    assert rare == common and all(rare.values())
