"""The operator commands a newcomer and an operator run: seed_demo and stats."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Friendship, User
from messaging.models import Conversation, Membership, Message

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_seed_demo_makes_a_living_site_the_people_can_sign_in_to(client):
    output = run("seed_demo", "--password", "demo-pass-123")

    assert "Seeded 6 people" in output
    assert User.objects.count() == 6
    assert Friendship.objects.count() == 7
    assert Conversation.objects.filter(kind="direct").count() == 3
    hikers = Conversation.objects.get(title="Weekend hikers")
    assert Membership.objects.filter(conversation=hikers).count() == 4
    # Seq numbers are gapless, as the send path makes them, system messages included.
    seqs = list(Message.objects.filter(conversation=hikers).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    # The last line of each chat is unread for the people who did not send it.
    bob = Membership.objects.get(conversation=hikers, user__username="bob")
    assert bob.unread_count >= 1
    assert client.login(username="alice", password="demo-pass-123")
    assert client.get("/").status_code == 200


def test_seed_demo_refuses_a_site_that_has_people_and_changes_nothing():
    User.objects.create_user(username="owner", email="owner@example.com", password="x")

    with pytest.raises(CommandError, match="already has people"):
        run("seed_demo")

    assert User.objects.count() == 1
    assert not Message.objects.exists()


def test_seed_demo_with_force_adds_the_demo_beside_real_people():
    User.objects.create_user(username="owner", email="owner@example.com", password="x")

    run("seed_demo", "--force")

    assert User.objects.count() == 7


def test_seed_demo_twice_with_force_refuses_without_half_writing():
    run("seed_demo")
    counts = (User.objects.count(), Message.objects.count())

    with pytest.raises(CommandError, match="Demo usernames already exist"):
        run("seed_demo", "--force")

    assert (User.objects.count(), Message.objects.count()) == counts


def test_stats_counts_people_chats_and_todays_messages():
    run("seed_demo")
    User.objects.create_user(username="quiet", email="quiet@example.com", password="x")

    data = json.loads(run("stats", "--json", "--days", "3"))

    assert data["people"] == 7
    assert data["active_people"] == 6  # everyone but the person who never sent or came online
    assert data["conversations"] == {"direct": 3, "group": 2, "assistant": 0}
    sent = Message.objects.filter(sender__isnull=False).count()
    assert data["messages"] == sent
    assert [day["messages"] for day in data["days"]] == [0, 0, sent]
    assert data["storage_bytes"] == 0


def test_stats_prints_a_table_for_people():
    output = run("stats", "--days", "2")

    from datetime import timedelta

    from django.utils import timezone

    today = timezone.localdate()
    assert "People:           0" in output
    assert f"{(today - timedelta(days=1)).isoformat()}           0         0" in output
    assert f"{today.isoformat()}           0         0" in output
