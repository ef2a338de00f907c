"""Background work: one task API (the ``django-tasks`` backport of Django 6's ``django.tasks``) with
what it leaves to us: retries, idempotency, periodic jobs and a durable worker. docs/tasks.md says
how to use it; in short::

    from chatsite.tasks import durable_task, enqueue_on_commit, once

    @durable_task(retries=5)
    def notify(*, user_id: int, event_id: int) -> None:
        with once(f"notify:{event_id}:{user_id}") as first:
            if first:
                ...  # happens once, however often the task runs

    enqueue_on_commit(notify, user_id=user.pk, event_id=event.pk)

django-tasks runs a task once and records how it ended; it has no retries. ``DurableTask`` adds
them: a task that raises is enqueued again (``run_after`` with exponential backoff and jitter, up to
``retries`` more attempts) and the attempt that failed records the error in its return value; the
last failure raises, so the task result stays FAILED with its traceback (the admin lists those, with
a "retry" action). Each task also carries the id of the request that enqueued it, logged with its
failures.
"""

import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task_backends
from django_tasks.base import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME, Task

from .request_id import current_request_id, request_id

logger = logging.getLogger("chatsite.tasks")

# The keyword argument that carries a task's attempt number and its request id. Its name cannot
# clash with a task's own arguments (a leading underscore is not a keyword-only parameter we use).
META = "_task_meta"
MAX_BACKOFF_SECONDS = 3600.0


# --- retries ----------------------------------------------------------------------------------
def backoff_delay(attempt: int, *, base: float | None = None, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """Seconds to wait before attempt ``attempt + 1``: ``base * 2**(attempt-1)``, capped, with
    "full jitter" (uniform between half and all of it) so many tasks that failed together (a
    provider outage) do not all come back at the same second."""
    base = settings.TASKS_RETRY_BACKOFF_SECONDS if base is None else base
    delay = min(cap, base * 2 ** (attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 (timing, not security)


@dataclass(frozen=True, slots=True, kw_only=True)
class DurableTask(Task):
    """A django-tasks Task with a retry policy and the enqueuing request's id.

    ``retries``: how many more attempts after the first failure (0: none). ``backoff``: seconds
    before the first retry (default TASKS_RETRY_BACKOFF_SECONDS), doubling each time up to
    ``max_backoff``. ``retry_on``: the exception classes worth another attempt (others fail at once).
    """

    retries: int = 0
    backoff: float | None = None
    max_backoff: float = MAX_BACKOFF_SECONDS
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    # Keyword arguments the admin never shows (an email's body carries sign-in codes).
    private_args: tuple[str, ...] = ()

    # Task is a slotted dataclass: zero-argument super() does not work in its subclasses.
    def enqueue(self, *args, **kwargs):
        kwargs.setdefault(META, {"attempt": 1, "request_id": current_request_id()})
        return Task.enqueue(self, *args, **kwargs)

    async def aenqueue(self, *args, **kwargs):
        kwargs.setdefault(META, {"attempt": 1, "request_id": current_request_id()})
        return await Task.aenqueue(self, *args, **kwargs)

    def call(self, *args, **kwargs):
        meta = kwargs.pop(META, None) or {"attempt": 1, "request_id": None}
        attempt = int(meta.get("attempt", 1))
        token = request_id.set(meta.get("request_id"))
        try:
            return Task.call(self, *args, **kwargs)
        except self.retry_on as error:
            if attempt > self.retries:
                logger.error("Task %s failed for good after %d attempt(s) (request %s): %r",
                             self.module_path, attempt, meta.get("request_id"), error, exc_info=True)
                raise
            delay = backoff_delay(attempt, base=self.backoff, cap=self.max_backoff)
            again = self
            if self.get_backend().supports_defer:
                again = self.using(run_after=timezone.now() + timedelta(seconds=delay))
            retry = Task.enqueue(again, *args, **kwargs, **{META: {**meta, "attempt": attempt + 1}})
            logger.warning("Task %s attempt %d of %d failed (request %s), retrying in %.1fs as %s: %r",
                           self.module_path, attempt, self.retries + 1, meta.get("request_id"), delay,
                           retry.id, error)
            # This attempt's result says what happened; the task goes on as the retry.
            return {"retried_as": retry.id, "attempt": attempt, "error": f"{type(error).__name__}: {error}"}
        except BaseException as error:
            logger.error("Task %s failed (request %s): %r", self.module_path, meta.get("request_id"),
                         error, exc_info=not isinstance(error, KeyboardInterrupt | SystemExit))
            raise
        finally:
            request_id.reset(token)

    async def acall(self, *args, **kwargs):
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.call)(*args, **kwargs)


def durable_task(function: Callable | None = None, *, retries: int = 0, backoff: float | None = None,
                 max_backoff: float = MAX_BACKOFF_SECONDS, retry_on: tuple[type[BaseException], ...] = (Exception,),
                 private_args: tuple[str, ...] = (), priority: int = 0, queue_name: str = DEFAULT_TASK_QUEUE_NAME,
                 backend: str = DEFAULT_TASK_BACKEND_ALIAS):
    """``django_tasks.task`` with a retry policy: ``@durable_task(retries=5)`` on a module-level
    function. Its arguments must be JSON (ids, strings, not model instances); those named in
    ``private_args`` are never shown in the admin."""

    def wrap(func: Callable) -> DurableTask:
        return DurableTask(func=func, priority=priority, queue_name=queue_name, backend=backend,
                           run_after=None, takes_context=False, retries=retries, backoff=backoff,
                           max_backoff=max_backoff, retry_on=retry_on, private_args=private_args)

    return wrap(function) if function else wrap


def _enqueues_in_transaction(task: Task) -> bool:
    """The database backend writes its queue row on the default database: enqueued inside the
    transaction, the task commits or rolls back with the data it is about (a transactional outbox),
    and no worker sees it before the commit."""
    from django_tasks_db import DatabaseBackend

    return isinstance(task.get_backend(), DatabaseBackend)


def enqueue_on_commit(task: Task, *args, **kwargs) -> None:
    """Enqueue ``task`` so that it runs only if the current transaction commits, never before.

    With the database backend the row is written now, in the transaction; with any other backend
    (RQ) the enqueue waits for ``transaction.on_commit``. TASKS_ON_COMMIT=False (the test suite's
    eager backend) runs it at once."""
    if not settings.TASKS_ON_COMMIT or _enqueues_in_transaction(task):
        task.enqueue(*args, **kwargs)
        return
    # The request id is read now: the commit may run after the request's context is gone.
    if isinstance(task, DurableTask):
        kwargs.setdefault(META, {"attempt": 1, "request_id": current_request_id()})
    transaction.on_commit(lambda: task.enqueue(*args, **kwargs), robust=False)


# --- idempotency ------------------------------------------------------------------------------
def claim_key(key: str) -> bool:
    """Record ``key`` as done; False when it already was. Inside a transaction, the claim commits
    or rolls back with the work it guards: that work happens exactly once."""
    from .models import TaskKey

    try:
        with transaction.atomic():
            TaskKey.objects.create(key=key)
    except IntegrityError:
        return False
    return True


def key_is_claimed(key: str) -> bool:
    from .models import TaskKey

    return TaskKey.objects.filter(key=key).exists()


@contextmanager
def once(key: str) -> Iterator[bool]:
    """``with once(key) as first:`` a transaction in which ``first`` is True only the first time
    ``key`` is seen; the work done under ``if first:`` commits with the key, or neither does."""
    with transaction.atomic():
        yield claim_key(key)


# --- periodic jobs ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: Task
    every_setting: str  # minutes; 0 or less turns the job off

    @property
    def every(self) -> timedelta | None:
        minutes = getattr(settings, self.every_setting)
        return timedelta(minutes=minutes) if minutes and minutes > 0 else None


_periodic: dict[str, PeriodicJob] = {}


def periodic(name: str, *, every_setting: str) -> Callable[[Task], Task]:
    """Register a task (taking no arguments) as a periodic job, run by the workers every
    ``settings.<every_setting>`` minutes. Put it in an app's ``tasks.py`` (imported by the worker)::

        @periodic("sweep_uploads", every_setting="UPLOAD_SWEEP_EVERY_MINUTES")
        @durable_task(retries=2)
        def sweep_uploads() -> int: ...

    However many workers run, each time slot runs once (its natural key is claimed first)."""

    def register(task: Task) -> Task:
        if name in _periodic and _periodic[name].task.module_path != task.module_path:
            raise ValueError(f"Two periodic jobs are named {name!r}.")
        _periodic[name] = PeriodicJob(name=name, task=task, every_setting=every_setting)
        return task

    return register


def periodic_jobs() -> list[PeriodicJob]:
    """Every registered job, after importing each installed app's ``tasks`` module."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("tasks")
    return sorted(_periodic.values(), key=lambda job: job.name)


def slot_key(job: PeriodicJob, now: datetime) -> str | None:
    every = job.every
    if every is None:
        return None
    slot = int(now.timestamp() // every.total_seconds())
    return f"periodic:{job.name}:{int(every.total_seconds())}:{slot}"


def enqueue_due_jobs(now: datetime | None = None) -> list[str]:
    """Enqueue each periodic job whose current slot nobody claimed yet; the slot's key and the
    enqueue commit together. Returns the names of the jobs enqueued."""
    now = now or timezone.now()
    enqueued = []
    for job in periodic_jobs():
        key = slot_key(job, now)
        if key is None or key_is_claimed(key):
            continue
        with transaction.atomic():
            if claim_key(key):
                enqueue_on_commit(job.task)
                enqueued.append(job.name)
    if enqueued:
        logger.info("Periodic jobs enqueued: %s", ", ".join(enqueued))
    return enqueued


@periodic("prune_task_results", every_setting="TASKS_PRUNE_EVERY_MINUTES")
@durable_task(retries=2)
def prune_task_results() -> dict[str, int]:
    """Delete finished task results and spent keys older than TASKS_PRUNE_AFTER_DAYS (failed ones
    too: they have been in the admin for that long), and heartbeats of long-gone workers."""
    from django_tasks_db.models import DBTaskResult

    from .models import TaskKey, WorkerBeat

    before = timezone.now() - timedelta(days=settings.TASKS_PRUNE_AFTER_DAYS)
    results, _ = DBTaskResult.objects.finished().filter(finished_at__lt=before).delete()
    keys, _ = TaskKey.objects.filter(created_at__lt=before).delete()
    beats, _ = WorkerBeat.objects.filter(seen_at__lt=before).delete()
    return {"results": results, "keys": keys, "workers": beats}


# --- the database worker's heartbeat ----------------------------------------------------------
def beat(worker_id: str, *, hostname: str = "", pid: int | None = None) -> None:
    from .models import WorkerBeat

    WorkerBeat.objects.update_or_create(
        worker_id=worker_id, defaults={"seen_at": timezone.now(), "hostname": hostname, "pid": pid})


def requeue_orphans(now: datetime | None = None, *, me: str | None = None) -> list[str]:
    """Put back in the queue every RUNNING task whose worker has been silent TASKS_WORKER_TIMEOUT
    (it was killed, or its machine lost): it runs again, and its idempotency keys make it do
    nothing twice. Returns the ids put back."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    from .models import WorkerBeat

    now = now or timezone.now()
    alive = set(WorkerBeat.objects.filter(seen_at__gte=now - timedelta(seconds=settings.TASKS_WORKER_TIMEOUT))
                .values_list("worker_id", flat=True))
    requeued = []
    for row in DBTaskResult.objects.running().only("id", "worker_ids", "started_at"):
        # ``me`` (the caller) is alive whatever its last beat says (a beat can wait on SQLite's lock).
        if row.worker_ids and row.worker_ids[-1] in alive | {me}:
            continue
        # Only if nobody changed it meanwhile (its worker finishing it after all).
        if DBTaskResult.objects.filter(id=row.id, status="RUNNING", started_at=row.started_at).update(
                status="READY", run_after=get_date_max()):
            requeued.append(str(row.id))
    if requeued:
        logger.warning("Tasks of workers silent for %ss run again: %s", settings.TASKS_WORKER_TIMEOUT,
                       ", ".join(requeued))
    return requeued


# --- operability: what the admin (and /readyz, once it exists) shows --------------------------
@dataclass(frozen=True)
class QueueStats:
    depth: int  # tasks due and waiting for a worker
    oldest_age: timedelta | None  # how long the longest-waiting due task has waited
    scheduled: int  # tasks waiting for their run_after (retries, deferred work)
    running: int
    failed: int  # failed for good: the admin's dead letters


def get_queue_stats(now: datetime | None = None) -> QueueStats:
    """The queue's depth and the oldest waiting task's age, for the default backend."""
    from django_tasks_db import DatabaseBackend

    now = now or timezone.now()
    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    if type(backend).__module__.startswith("django_tasks_rq"):
        return _rq_queue_stats(now)
    from django.db.models import Case, F, Min, When
    from django.db.models.functions import Greatest
    from django_tasks_db.models import DBTaskResult, get_date_max

    never = get_date_max()
    rows = DBTaskResult.objects.all()
    if isinstance(backend, DatabaseBackend):
        rows = rows.filter(backend_name=backend.alias)
    due = rows.ready()
    # A deferred task (a retry) starts waiting at its run_after, not when it was enqueued.
    oldest = due.annotate(waiting_since=Case(
        When(run_after=never, then=F("enqueued_at")), default=Greatest("enqueued_at", "run_after"),
    )).aggregate(oldest=Min("waiting_since"))["oldest"]
    return QueueStats(
        depth=due.count(),
        oldest_age=max(now - oldest, timedelta(0)) if oldest else None,
        scheduled=rows.filter(status="READY", run_after__gt=now).exclude(run_after=never).count(),
        running=rows.running().count(),
        failed=rows.failed().count(),
    )


def _rq_queue_stats(now: datetime) -> QueueStats:
    import django_rq

    queue = django_rq.get_queue(DEFAULT_TASK_QUEUE_NAME)
    oldest = None
    if job_ids := queue.get_job_ids(0, 0):
        job = queue.fetch_job(job_ids[0])
        if job and job.enqueued_at:
            enqueued_at = job.enqueued_at
            if timezone.is_naive(enqueued_at):  # rq stores UTC
                enqueued_at = enqueued_at.replace(tzinfo=UTC)
            oldest = now - enqueued_at
    return QueueStats(depth=queue.count, oldest_age=oldest, scheduled=queue.scheduled_job_registry.count,
                      running=queue.started_job_registry.count, failed=queue.failed_job_registry.count)
