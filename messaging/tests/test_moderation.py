"""Reporting abuse and the moderation queue: what reporters and moderators rely on."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from chatsite.errors import ServiceError
from conftest import make_user
from messaging import moderation, services
from messaging.models import AuditEntry, Message, Report

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(alice, bob, direct):
    """Bob's rude message to Alice, after a friendly one of hers."""
    services.send_message(user=alice, conversation_id=direct.pk, body="Hi Bob")
    return services.send_message(user=bob, conversation_id=direct.pk, body="you are an idiot").message


@pytest.fixture
def boss(db):
    return make_user("boss", is_staff=True, is_superuser=True)


@pytest.fixture
def boss_client(boss):
    client = Client()
    client.force_login(boss)
    return client


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- reporting -------------------------------------------------------------------------------------
def test_a_member_reports_a_message_and_is_thanked(alice_client, sent):
    url = reverse("report_message", args=[sent.pk])
    page = alice_client.get(url)
    assert page.status_code == 200
    assert "you are an idiot" in page.content.decode()  # the person sees what they report

    response = alice_client.post(url, {"reason": "abuse", "details": "insults"})

    assert response.status_code == 302
    assert response["Location"] == reverse("conversation", args=[sent.conversation_id])
    assert any("report was sent" in text for text in flashes(response))
    report = Report.objects.get()
    assert (report.reporter.username, report.message, report.reported_user.username) == ("alice", sent, "bob")
    assert report.conversation_id == sent.conversation_id and report.status == Report.Status.OPEN


def test_reporting_the_same_message_twice_queues_it_once(alice, sent):
    first = moderation.report_message(user=alice, message_id=sent.pk, reason="spam")
    again = moderation.report_message(user=alice, message_id=sent.pk, reason="abuse")

    assert again.pk == first.pk
    assert Report.objects.count() == 1


def test_a_bad_report_says_why_keeps_what_was_typed_and_stores_nothing(alice_client, sent):
    url = reverse("report_message", args=[sent.pk])

    no_reason = alice_client.post(url, {"details": "my typed words"})
    other_without_words = alice_client.post(url, {"reason": "other", "details": "   "})

    assert no_reason.status_code == 400
    assert "Choose why you are reporting this." in no_reason.content.decode()
    assert "my typed words" in no_reason.content.decode()
    assert other_without_words.status_code == 400
    assert "Say in a few words what is wrong." in other_without_words.content.decode()
    assert not Report.objects.exists()


@pytest.mark.parametrize("case", ["own message", "not a member", "system message", "deleted"])
def test_what_cannot_be_reported(case, alice, bob, direct, sent):
    reporter, target = alice, sent
    if case == "own message":
        reporter = bob
    elif case == "not a member":
        reporter = make_user("mallory")
    elif case == "system message":
        target = services.post_system_message(conversation_id=direct.pk, body="Alice joined")
    else:
        services.delete_message(user=bob, message_id=sent.pk)

    with pytest.raises(ServiceError):
        moderation.report_message(user=reporter, message_id=target.pk, reason="spam")
    assert not Report.objects.exists()


def test_a_non_member_cannot_even_open_the_report_page(client, sent):
    client.force_login(make_user("mallory"))

    assert client.get(reverse("report_message", args=[sent.pk])).status_code == 404


def test_a_person_is_reported_from_their_profile(alice_client, alice, bob):
    profile = alice_client.get(reverse("profile_detail", args=[bob.pk]))
    assert reverse("report_person", args=[bob.pk]) in profile.content.decode()

    response = alice_client.post(reverse("report_person", args=[bob.pk]), {"reason": "spam"})

    assert response.status_code == 302
    report = Report.objects.get()
    assert report.reported_user == bob and report.message is None and report.conversation is None


def test_nobody_reports_themselves(alice):
    with pytest.raises(ServiceError, match="cannot report yourself"):
        moderation.report_user(user=alice, user_id=alice.pk, reason="spam")


# --- the moderation queue --------------------------------------------------------------------------
def test_the_queue_lists_open_reports_first(boss_client, alice, sent):
    moderation.report_message(user=alice, message_id=sent.pk, reason="abuse")

    page = boss_client.get(reverse("admin:messaging_report_changelist"))

    assert page.status_code == 200
    assert [r.status for r in page.context["cl"].result_list] == ["open"]


def test_opening_a_report_shows_the_chat_around_it_and_is_audited(boss_client, boss, alice, sent):
    report = moderation.report_message(user=alice, message_id=sent.pk, reason="abuse", details="insults")

    page = boss_client.get(reverse("admin:messaging_report_change", args=[report.pk]))

    assert page.status_code == 200
    text = page.content.decode()
    assert "you are an idiot" in text and "Hi Bob" in text  # the reported message and its context
    assert "@alice" in text and "@bob" in text  # the members
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.report, entry.conversation_id) == (
        boss, AuditEntry.Action.VIEWED_REPORTED_CHAT, report, sent.conversation_id)


def test_deleting_the_reported_message_erases_it_for_everyone_and_closes_its_reports(boss_client, boss, alice, sent,
                                                                                     django_capture_on_commit_callbacks):
    carol = make_user("carol")
    report = moderation.report_message(user=alice, message_id=sent.pk, reason="abuse")
    Report.objects.create(reporter=carol, message=sent, conversation_id=sent.conversation_id,
                          reported_user=sent.sender, reason="spam")  # another report of it

    with django_capture_on_commit_callbacks(execute=True):
        response = boss_client.post(reverse("admin:messaging_report_change", args=[report.pk]),
                                    {"decision": "message_deleted", "note": "clear insult"})

    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.is_deleted and sent.body == ""
    assert set(Report.objects.values_list("status", "outcome")) == {("resolved", "message_deleted")}
    report.refresh_from_db()
    assert (report.handled_by, report.note) == (boss, "clear insult")
    assert set(AuditEntry.objects.values_list("action", flat=True)) == {"deleted_message", "resolved"}


def test_deactivating_the_reported_person(boss, alice, bob, sent):
    report = moderation.report_message(user=alice, message_id=sent.pk, reason="abuse")

    moderation.resolve_report(moderator=boss, report_id=report.pk, outcome="user_deactivated")

    bob.refresh_from_db()
    assert not bob.is_active
    assert AuditEntry.objects.filter(action="deactivated_user", target_user=bob).exists()


def test_dismissing_and_then_acting_again_is_refused(boss, alice, sent):
    report = moderation.report_message(user=alice, message_id=sent.pk, reason="spam")
    moderation.dismiss_report(moderator=boss, report_id=report.pk, note="not spam")

    with pytest.raises(ServiceError, match="already handled"):
        moderation.resolve_report(moderator=boss, report_id=report.pk, outcome="message_deleted")
    assert not Message.objects.get(pk=sent.pk).is_deleted


def test_only_moderators_open_reports(alice, bob, sent):
    report = moderation.report_message(user=alice, message_id=sent.pk, reason="spam")
    helper = make_user("helper", is_staff=True)  # staff, but no permission on reports

    for person in (bob, helper):
        with pytest.raises(ServiceError, match="Only moderators"):
            moderation.open_reported_chat(moderator=person, report_id=report.pk)
    assert not AuditEntry.objects.exists()


def test_a_report_posted_with_an_empty_body_is_refused_not_a_server_error(alice_client, sent):
    response = alice_client.post(reverse("report_message", args=[sent.pk]), data=b"",
                                 content_type="application/octet-stream")

    assert response.status_code == 400
    assert "Choose why you are reporting this." in response.content.decode()
