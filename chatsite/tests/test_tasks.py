"""The task plumbing (chatsite/tasks.py, chatsite/mail.py), with the suite's eager backend unless a
test says otherwise. The real worker: test_worker.py."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail import send_mail
from django.core.mail.backends import locmem
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from chatsite import tasks
from chatsite.mail import deliver_email, deserialise, serialise
from chatsite.models import TaskKey, WorkerBeat
from chatsite.request_id import request_id

from . import worker_tasks

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
DUMMY_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture(autouse=True)
def _fresh_counters():
    worker_tasks.calls.clear()


# --- retries --------------------------------------------------------------------------------
def test_backoff_doubles_with_jitter_up_to_the_cap():
    for attempt, full in [(1, 10), (2, 20), (3, 40), (4, 80)]:
        delays = {tasks.backoff_delay(attempt, base=10) for _ in range(50)}
        assert all(full / 2 <= delay <= full for delay in delays)
        assert len(delays) > 1  # jittered
    assert tasks.backoff_delay(30, base=10, cap=600) <= 600


def test_a_failing_task_is_retried_until_it_succeeds(db):
    result = worker_tasks.flaky.enqueue(name="twice", failures=2)

    assert worker_tasks.calls["twice"] == 3
    # The first attempt's result says it failed and what was retried in its place.
    assert result.return_value["attempt"] == 1
    assert result.return_value["error"] == "ConnectionError: twice: attempt 1 refused"
    assert result.return_value["retried_as"]


def test_a_task_that_keeps_failing_is_kept_as_failed_with_its_error_and_request_id(db, caplog):
    token = request_id.set("req-42")
    try:
        with caplog.at_level(logging.WARNING, logger="chatsite.tasks"):
            worker_tasks.flaky.enqueue(name="always", failures=99)
    finally:
        request_id.reset(token)

    assert worker_tasks.calls["always"] == 4  # the first attempt and 3 retries
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 3 and all("request req-42" in r.getMessage() for r in retries)
    final = [r for r in caplog.records if "failed for good" in r.getMessage()]
    assert len(final) == 1 and "request req-42" in final[0].getMessage() and final[0].exc_info


def test_a_task_without_retries_fails_once_with_its_error_logged(db, caplog):
    with caplog.at_level(logging.ERROR, logger="chatsite.tasks"):
        result = worker_tasks.fails_at_once.enqueue(name="x")
    assert worker_tasks.calls["x"] == 1
    assert result.status == "FAILED"
    assert "ValueError: x: no retry policy" in result.errors[0].traceback
    assert any("failed for good" in r.getMessage() for r in caplog.records)


@override_settings(TASKS=DATABASE_TASKS)
def test_with_the_database_backend_a_retry_is_deferred_by_the_backoff(db):
    before = timezone.now()
    result = worker_tasks.flaky.enqueue(name="deferred", failures=1)
    row = DBTaskResult.objects.get(id=result.id)
    # What the worker does with it.
    assert row.task.call(*row.task_result.args, **row.task_result.kwargs)["attempt"] == 1
    retry = DBTaskResult.objects.exclude(id=result.id).get()
    assert retry.status == "READY"
    assert before < retry.run_after < timezone.now() + timedelta(seconds=60)
    assert retry.args_kwargs["kwargs"][tasks.META]["attempt"] == 2


# --- after the commit ---------------------------------------------------------------------------
@override_settings(TASKS=DUMMY_TASKS, TASKS_ON_COMMIT=True)
def test_enqueue_on_commit_waits_for_the_commit_with_a_backend_outside_the_database(
        db, django_capture_on_commit_callbacks):
    from django_tasks import default_task_backend

    default_task_backend.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tasks.enqueue_on_commit(worker_tasks.flaky, name="later", failures=0)
        assert default_task_backend.results == []
    assert len(callbacks) == 1
    assert len(default_task_backend.results) == 1


@override_settings(TASKS=DUMMY_TASKS, TASKS_ON_COMMIT=True)
def test_enqueue_on_commit_never_enqueues_a_rolled_back_transaction(db, django_capture_on_commit_callbacks):
    from django_tasks import default_task_backend

    default_task_backend.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        tasks.enqueue_on_commit(worker_tasks.flaky, name="never", failures=0)
        raise RuntimeError("rolled back")
    assert default_task_backend.results == []


@override_settings(TASKS=DATABASE_TASKS, TASKS_ON_COMMIT=True)
def test_with_the_database_backend_the_task_row_commits_or_rolls_back_with_the_data(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        send_mail("Rolled back", "Never sent.", None, ["x@example.com"])
        assert DBTaskResult.objects.count() == 1
        raise RuntimeError("rolled back")
    assert DBTaskResult.objects.count() == 0
    send_mail("Kept", "Sent by the worker.", None, ["x@example.com"])
    row = DBTaskResult.objects.get()
    assert row.task_path == "chatsite.mail.deliver_email" and row.status == "READY"
    assert mail.outbox == []  # queued, not sent: the worker sends it


# --- email through tasks ----------------------------------------------------------------------
def test_an_email_goes_through_the_task_to_the_delivery_backend(db, mailoutbox):
    send_mail("Hello", "Body", "Site <site@example.com>", ["a@example.com"], html_message="<p>Body</p>")
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert (message.subject, message.body, message.to) == ("Hello", "Body", ["a@example.com"])
    assert message.alternatives[0] == ("<p>Body</p>", "text/html")
    assert message.extra_headers["Message-ID"].endswith("@example.com>")


def test_a_message_survives_serialisation_with_attachments():
    original = mail.EmailMultiAlternatives("S", "B", "f@example.com", ["t@example.com"], cc=["c@example.com"],
                                           bcc=["b@example.com"], reply_to=["r@example.com"], headers={"X-A": "1"})
    original.attach_alternative("<b>B</b>", "text/html")
    original.attach("a.txt", "text", "text/plain")
    original.attach("b.bin", b"\x00\xff", "application/octet-stream")
    copy = deserialise(serialise(original))
    assert copy.message().as_bytes().count(b"Content-Disposition: attachment") == 2
    for name in ("subject", "body", "from_email", "to", "cc", "bcc", "reply_to", "extra_headers", "alternatives",
                 "attachments"):
        assert getattr(copy, name) == getattr(original, name), name


def test_a_delivered_email_is_never_sent_again(db, mailoutbox):
    message = serialise(mail.EmailMessage("S", "B", None, ["t@example.com"]))
    assert deliver_email.call(message=message, key="k") == "sent"
    assert deliver_email.call(message=message, key="k") == "already sent"
    assert len(mailoutbox) == 1


class FlakyBackend(locmem.EmailBackend):
    failures = 0

    def send_messages(self, messages):
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise ConnectionError("provider down")
        return super().send_messages(messages)


@override_settings(EMAIL_DELIVERY_BACKEND=f"{__name__}.FlakyBackend")
def test_an_email_is_retried_while_the_provider_fails(db, mailoutbox):
    FlakyBackend.failures = 2
    send_mail("S", "B", None, ["t@example.com"])
    assert len(mailoutbox) == 1
    assert TaskKey.objects.filter(key__startswith="email:").count() == 1


# --- idempotency ------------------------------------------------------------------------------
def test_once_is_true_the_first_time_only_and_rolls_back_with_its_work(db):
    with tasks.once("a") as first:
        assert first
    with tasks.once("a") as first:
        assert not first
    with pytest.raises(RuntimeError), tasks.once("b") as first:
        assert first
        raise RuntimeError("the work failed")
    with tasks.once("b") as first:
        assert first  # the failed work did not use up the key


# --- periodic jobs ------------------------------------------------------------------------------
@pytest.fixture
def only_test_job(monkeypatch):
    tasks.periodic_jobs()  # the apps' tasks modules imported first: none registers into the table below
    monkeypatch.setattr(tasks, "_periodic", {})
    tasks.periodic("test_job", every_setting="TEST_JOB_EVERY_MINUTES")(worker_tasks.flaky)


@override_settings(TEST_JOB_EVERY_MINUTES=10, TASKS=DATABASE_TASKS)
def test_a_periodic_job_runs_once_per_slot_however_many_workers_look(db, only_test_job):
    start = timezone.now().replace(minute=0, second=1, microsecond=0)
    assert tasks.enqueue_due_jobs(start) == ["test_job"]
    # A second worker, and the same worker a moment later: the slot is taken.
    assert tasks.enqueue_due_jobs(start) == []
    assert tasks.enqueue_due_jobs(start + timedelta(minutes=9)) == []
    assert tasks.enqueue_due_jobs(start + timedelta(minutes=10)) == ["test_job"]
    assert DBTaskResult.objects.filter(task_path="chatsite.tests.worker_tasks.flaky").count() == 2


@override_settings(TEST_JOB_EVERY_MINUTES=0)
def test_a_periodic_job_set_to_zero_never_runs(db, only_test_job):
    assert tasks.enqueue_due_jobs() == []


def test_the_apps_register_their_periodic_jobs():
    jobs = {job.name: job for job in tasks.periodic_jobs()}
    assert jobs["send_digests"].every_setting == "DIGEST_EVERY_MINUTES"
    assert jobs["prune_task_results"].every_setting == "TASKS_PRUNE_EVERY_MINUTES"
    with pytest.raises(ValueError, match="Two periodic jobs"):
        tasks.periodic("send_digests", every_setting="X")(worker_tasks.flaky)


def test_the_digest_is_a_periodic_task(db, mailoutbox):
    from django.core.management import call_command

    from messaging.tasks import send_digests

    User = get_user_model()
    from conftest import make_user
    from messaging import services

    alice, bob = make_user("alice"), make_user("bob")
    conversation = services.get_or_create_direct_conversation(user=alice, other_id=bob.pk)
    services.send_message(user=alice, conversation_id=conversation.pk, body="hi")
    User.objects.filter(pk=bob.pk).update(last_seen=timezone.now() - timedelta(hours=3))
    result = send_digests.enqueue()
    assert result.return_value == 1
    assert [m.to for m in mailoutbox] == [["bob@example.com"]]
    call_command("send_digests")  # the command still works (and finds nothing new)
    assert len(mailoutbox) == 1


@override_settings(TASKS_PRUNE_AFTER_DAYS=14, TASKS=DATABASE_TASKS)
def test_pruning_deletes_old_finished_results_and_keys(db):
    old = timezone.now() - timedelta(days=15)
    for status in ("SUCCESSFUL", "FAILED", "READY"):
        worker_tasks.flaky.enqueue(name=status, failures=0)
        DBTaskResult.objects.filter(status="READY", finished_at__isnull=True, args_kwargs__kwargs__name=status) \
            .update(status=status, finished_at=old if status != "READY" else None)
    TaskKey.objects.create(key="old")
    TaskKey.objects.filter(key="old").update(created_at=old)
    TaskKey.objects.create(key="new")
    assert tasks.prune_task_results.call() == {"results": 2, "keys": 1, "workers": 0}
    assert list(DBTaskResult.objects.values_list("status", flat=True)) == ["READY"]
    assert list(TaskKey.objects.values_list("key", flat=True)) == ["new"]


# --- dead workers ---------------------------------------------------------------------------------
@override_settings(TASKS=DATABASE_TASKS, TASKS_WORKER_TIMEOUT=60)
def test_the_running_tasks_of_a_silent_worker_go_back_to_the_queue(db):
    now = timezone.now()
    orphan = worker_tasks.flaky.enqueue(name="orphan", failures=0)
    busy = worker_tasks.flaky.enqueue(name="busy", failures=0)
    WorkerBeat.objects.create(worker_id="dead", seen_at=now - timedelta(seconds=61))
    WorkerBeat.objects.create(worker_id="alive", seen_at=now - timedelta(seconds=5))
    DBTaskResult.objects.filter(id=orphan.id).update(status="RUNNING", worker_ids=["dead"], started_at=now)
    DBTaskResult.objects.filter(id=busy.id).update(status="RUNNING", worker_ids=["alive"], started_at=now)

    assert tasks.requeue_orphans(now, me="dead") == []  # a worker never gives up its own task
    assert tasks.requeue_orphans(now) == [orphan.id]
    assert DBTaskResult.objects.get(id=orphan.id).status == "READY"
    assert DBTaskResult.objects.get(id=busy.id).status == "RUNNING"


# --- the queue's numbers ----------------------------------------------------------------------------
@override_settings(TASKS=DATABASE_TASKS)
def test_queue_stats_give_the_depth_and_the_oldest_waiting_age(db):
    now = timezone.now()
    assert tasks.get_queue_stats(now) == tasks.QueueStats(depth=0, oldest_age=None, scheduled=0, running=0, failed=0)
    first = worker_tasks.flaky.enqueue(name="a", failures=0)
    worker_tasks.flaky.enqueue(name="b", failures=0)
    later = worker_tasks.flaky.using(run_after=now + timedelta(minutes=5)).enqueue(name="c", failures=0)
    failed = worker_tasks.flaky.enqueue(name="d", failures=0)
    DBTaskResult.objects.filter(id=first.id).update(enqueued_at=now - timedelta(minutes=3))
    DBTaskResult.objects.filter(id=failed.id).update(status="FAILED")
    stats = tasks.get_queue_stats(now)
    assert (stats.depth, stats.scheduled, stats.running, stats.failed) == (2, 1, 0, 1)
    assert stats.oldest_age == timedelta(minutes=3)
    # A deferred task that came due waits from its run_after.
    DBTaskResult.objects.filter(id=first.id).delete()
    DBTaskResult.objects.filter(id=later.id).update(run_after=now - timedelta(minutes=1),
                                                    enqueued_at=now - timedelta(minutes=30))
    stats = tasks.get_queue_stats(now)
    assert stats.depth == 2 and stats.scheduled == 0
    assert timedelta(minutes=1) <= stats.oldest_age < timedelta(minutes=2)


# --- the admin ------------------------------------------------------------------------------------
@pytest.fixture
def admin_client_(client, db):
    User = get_user_model()
    admin = User.objects.create_superuser("root1", "root1@example.com", "pw-for-admin-42")
    client.force_login(admin)
    return client


@override_settings(TASKS=DATABASE_TASKS)
def test_the_admin_lists_failed_tasks_with_their_error_and_retries_them(admin_client_):
    token = request_id.set("req-7")
    try:
        result = worker_tasks.fails_at_once.enqueue(name="boom")
    finally:
        request_id.reset(token)
    row = DBTaskResult.objects.get(id=result.id)
    with pytest.raises(ValueError) as error:
        row.task.call(*row.task_result.args, **row.task_result.kwargs)
    row.set_failed(error.value)

    page = admin_client_.get("/admin/django_tasks_database/dbtaskresult/?status__exact=FAILED").content.decode()
    assert "ValueError: boom: no retry policy" in page
    assert "req-7" in page
    assert "0 tasks waiting for a worker" in page and "Failed: 1." in page

    answer = admin_client_.post("/admin/django_tasks_database/dbtaskresult/",
                                {"action": "retry", "_selected_action": [str(row.id)]}, follow=True)
    assert "1 task queued again." in answer.content.decode()
    row.refresh_from_db()
    assert (row.status, row.run_after, row.finished_at) == ("READY", get_date_max(), None)
    page = admin_client_.get("/admin/django_tasks_database/dbtaskresult/").content.decode()
    assert "1 task waiting for a worker" in page and "the oldest has waited" in page


def test_only_staff_who_may_change_tasks_can_retry_them(client, db):
    from conftest import make_user

    staff = make_user("staffer", is_staff=True)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_dbtaskresult"))
    client.force_login(staff)
    page = client.get("/admin/django_tasks_database/dbtaskresult/")
    assert page.status_code == 200
    assert 'value="retry"' not in page.content.decode()


# --- request ids -------------------------------------------------------------------------------------
def test_a_request_id_is_made_or_kept_and_sent_back(client, db):
    made = client.get("/accounts/login/")["X-Request-ID"]
    assert len(made) == 32
    assert client.get("/accounts/login/", headers={"X-Request-ID": "lb-123.abc"})["X-Request-ID"] == "lb-123.abc"
    assert client.get("/accounts/login/", headers={"X-Request-ID": "bad id\n"})["X-Request-ID"] != "bad id\n"


@override_settings(TASKS=DATABASE_TASKS)
def test_a_task_carries_the_id_of_the_request_that_enqueued_it(client, db):
    from conftest import make_user

    make_user("rid", verified=False)
    client.post("/accounts/login/", {"login": "rid", "password": "correct horse battery 42"},
                headers={"X-Request-ID": "req-login-1"})
    row = DBTaskResult.objects.get(task_path="chatsite.mail.deliver_email")
    assert row.args_kwargs["kwargs"][tasks.META]["request_id"] == "req-login-1"


@override_settings(TASKS=DATABASE_TASKS)
def test_the_admin_never_shows_an_emails_body(admin_client_):
    send_mail("Sign-in code", "Your code: QWER-TYUI", None, ["a@example.com"])
    row = DBTaskResult.objects.get(task_path="chatsite.mail.deliver_email")
    page = admin_client_.get(f"/admin/django_tasks_database/dbtaskresult/{row.id}/change/").content.decode()
    assert "(hidden)" in page and "&quot;key&quot;" in page
    assert "QWER-TYUI" not in page
