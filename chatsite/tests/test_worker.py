"""The real database worker, as a subprocess on the test's database (SQLite or PostgreSQL, whichever
the suite runs on): retries against a failing SMTP server, a worker killed mid-task, and the
`make run` stack (Procfile.dev under honcho) end to end."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from chatsite.models import TaskKey, WorkerBeat

from . import worker_tasks

ROOT = Path(settings.BASE_DIR)
# Generous: the machine is shared. Every wait ends as soon as its condition holds.
PATIENCE = 60

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def wait_until(predicate, *, what: str, timeout: float = PATIENCE, proc: "Worker | None" = None,
               log: Path | None = None):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.process.poll() is not None:
            pytest.fail(f"the worker exited ({proc.process.returncode}) waiting for {what}:\n{proc.output()}")
        if time.monotonic() > deadline:
            shown = proc.output() if proc else log.read_text() if log else ""
            pytest.fail(f"gave up waiting for {what}:\n{shown}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_env(**extra) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatsite.tests.worker_settings",
        "TEST_WORKER_DB_NAME": str(connection.settings_dict["NAME"]),
        "TASKS_RETRY_BACKOFF_SECONDS": "0.05",
        "TASKS_WORKER_TIMEOUT": "2",
        # Only the tasks of the test: no digests or pruning.
        "DIGEST_EVERY_MINUTES": "0",
        "TASKS_PRUNE_EVERY_MINUTES": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.update({key: str(value) for key, value in extra.items()})
    return env


class Worker:
    def __init__(self, tmp_path: Path, **env):
        self.log = tmp_path / f"worker-{time.monotonic_ns()}.log"
        self.env = worker_env(**env)
        self.process = None

    def start(self) -> "Worker":
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_worker", "--interval", "0.05"],
            cwd=ROOT, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        return self

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=PATIENCE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def workers(transactional_db, tmp_path):
    started = []

    def start(**env) -> Worker:
        worker = Worker(tmp_path, **env).start()
        started.append(worker)
        return worker

    with override_settings(TASKS=DATABASE_TASKS, TASKS_ON_COMMIT=True):
        yield start
    for worker in started:
        worker.stop()


# --- SMTP that refuses twice, then accepts ------------------------------------------------------
class RefusingHandler:
    """An SMTP server's handler: "451 try again later" for the first ``refusals`` messages."""

    def __init__(self, refusals: int):
        self.refusals = refusals
        self.attempts = 0
        self.accepted = []

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.attempts <= self.refusals:
            return "451 4.3.0 Try again later"
        self.accepted.append(envelope.content.decode("utf8", "replace"))
        return "250 OK"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    handler = RefusingHandler(refusals=2)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def test_an_email_the_provider_refuses_twice_is_delivered_once(workers, smtp_server):
    controller, handler = smtp_server
    worker = workers(TEST_SMTP_PORT=controller.port)

    send_mail("Your code", "The code is 123456.", None, ["ana@example.com"])

    def finished():
        rows = list(DBTaskResult.objects.filter(task_path="chatsite.mail.deliver_email"))
        return rows if rows and all(row.status in ("SUCCESSFUL", "FAILED") for row in rows) and \
            any(row.return_value == "sent" for row in rows) else None

    rows = wait_until(finished, what="the email's delivery", proc=worker)
    assert len(handler.accepted) == 1, handler.accepted
    assert "The code is 123456." in handler.accepted[0]
    assert handler.attempts == 3
    # Three attempts, each its own task result: two that retried (with the provider's answer), one sent.
    assert sorted(str(row.return_value.get("attempt")) if isinstance(row.return_value, dict) else row.return_value
                  for row in rows) == ["1", "2", "sent"]
    assert all("451" in row.return_value["error"] for row in rows if isinstance(row.return_value, dict))
    assert TaskKey.objects.filter(key__startswith="email:").count() == 1
    assert "retrying" in worker.output()


@pytest.mark.skipif(not settings.REDIS_URL, reason="the RQ backend needs REDIS_URL (the PostgreSQL + Redis run)")
def test_with_the_rq_backend_an_email_the_provider_refuses_twice_is_delivered_once(transactional_db, tmp_path,
                                                                                   smtp_server):
    import django_rq

    controller, handler = smtp_server
    rq_tasks = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    queues = {"default": {"URL": settings.REDIS_URL}}
    worker = Worker(tmp_path, TEST_SMTP_PORT=controller.port, TASKS_BACKEND="rq")
    with override_settings(TASKS=rq_tasks, RQ_QUEUES=queues, TASKS_ON_COMMIT=True):
        queue = django_rq.get_queue("default")
        queue.empty()  # this Redis database is the run's own, but an earlier run may have left jobs
        worker.start()
        try:
            send_mail("Your code", "The code is 654321.", None, ["rq@example.com"])
            wait_until(lambda: TaskKey.objects.filter(key__startswith="email:").exists(),
                       what="the email's delivery through RQ", proc=worker)
            assert len(handler.accepted) == 1 and "The code is 654321." in handler.accepted[0]
            assert handler.attempts == 3
            assert worker.output().count("retrying") == 2
        finally:
            worker.stop()


# --- a worker killed mid-task ----------------------------------------------------------------
@pytest.mark.parametrize("hold", ["before", "after"], ids=["killed-before-the-commit", "killed-after-the-commit"])
def test_a_task_killed_mid_run_runs_again_after_a_restart_and_its_effect_happens_once(workers, tmp_path, hold):
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    first = workers()
    result = worker_tasks.hold_then_record.enqueue(key="k1", marker_dir=str(marker_dir), hold=hold)

    wait_until((marker_dir / "holding").exists, what="the task to start", proc=first)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    row = DBTaskResult.objects.get(id=result.id)
    assert row.status == "RUNNING"  # the worker died with it: nobody will finish this run
    (marker_dir / "holding").unlink()
    (marker_dir / "release").touch()

    second = workers()
    row = wait_until(lambda: DBTaskResult.objects.filter(id=result.id, status="SUCCESSFUL").first(),
                     what="the task's second run", proc=second)
    assert len((marker_dir / "runs").read_text().split()) == 2
    assert len(row.worker_ids) == 2 and row.worker_ids[0] != row.worker_ids[1]
    assert TaskKey.objects.filter(key__startswith="effect:k1:").count() == 1
    assert row.return_value == ("recorded" if hold == "before" else "already recorded")
    assert "run again" in second.output()

    second.stop()
    assert second.process.returncode == 0, second.output()
    # A clean stop leaves no heartbeat for others to wait out.
    assert not WorkerBeat.objects.filter(worker_id=row.worker_ids[1]).exists()


# --- `make run`'s stack -------------------------------------------------------------------------
def test_make_run_starts_the_server_and_a_worker():
    processes = dict(line.split(":", 1) for line in (ROOT / "Procfile.dev").read_text().splitlines()
                     if line and not line.startswith("#"))
    assert set(processes) == {"web", "worker"}
    assert "uvicorn chatsite.asgi:application" in processes["web"] and "$PORT" in processes["web"]
    assert "manage.py run_worker" in processes["worker"]
    assert "honcho start -f Procfile.dev" in (ROOT / "Makefile").read_text()
    production = (ROOT / "Procfile").read_text()
    assert re.search(r"^worker: python manage.py run_worker$", production, re.M)


def test_the_make_run_stack_signs_up_and_its_worker_prints_the_code(transactional_db, tmp_path):
    """Procfile.dev under honcho, as `make run` starts it, on the test database: a sign-up's code is
    printed by the worker, and one SIGINT (Ctrl-C) stops both processes."""
    port = free_port()
    log = tmp_path / "stack.log"
    env = worker_env(HOST="127.0.0.1", PORT=port, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    stack = subprocess.Popen([str(Path(sys.executable).parent / "honcho"), "start", "-f", "Procfile.dev", "--no-colour"],
                             cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: "Uvicorn running" in log.read_text() and "Starting worker" in log.read_text(),
                   what="the stack to start", log=log)
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{port}"
        page = opener.open(f"{base}/accounts/signup/", timeout=PATIENCE).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"csrfmiddlewaretoken": token, "email": "stack@example.com", "username": "stacker", "first_name": "Stack",
                "password1": "correct horse battery 42", "password2": "correct horse battery 42"}
        request = urllib.request.Request(f"{base}/accounts/signup/", data=urllib.parse.urlencode(form).encode(),
                                         headers={"Referer": f"{base}/accounts/signup/"})
        answer = opener.open(request, timeout=PATIENCE)
        assert "Your code is on its way to" in answer.read().decode()
        def printed():
            text = log.read_text()
            if re.search(r"worker\.1\s+\|.*To: stack@example.com", text) and "deliver_email state=SUCCESSFUL" in text:
                return text

        output = wait_until(printed, what="the worker to print the email", log=log)
        code = re.search(r"worker\.1\s+\|\s+([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", output, re.M)
        assert code, output
    finally:
        os.killpg(stack.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        try:
            stack.wait(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, signal.SIGKILL)
            stack.wait()
    output = log.read_text()
    assert re.search(r"web\.1 stopped", output) and re.search(r"worker\.1 stopped", output), output
