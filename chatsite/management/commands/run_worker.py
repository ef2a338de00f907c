import logging
import os
import socket
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.utils.crypto import get_random_string
from django_tasks import task_backends
from django_tasks_db import DatabaseBackend

from chatsite import tasks

logger = logging.getLogger("chatsite.tasks")


class Keeper(threading.Thread):
    """Beside the worker's loop: the heartbeat, putting back the tasks of dead workers (database
    backend) and enqueueing the periodic jobs that are due. It only writes small rows; the work
    itself runs as tasks in the worker's main thread."""

    def __init__(self, *, worker_id: str | None, periodic: bool):
        super().__init__(name="task-keeper", daemon=True)
        self.worker_id = worker_id
        self.periodic = periodic
        self.stopping = threading.Event()
        # Several beats within the timeout, so one slow beat never makes a live worker look dead.
        self.every = max(0.2, min(5.0, settings.TASKS_WORKER_TIMEOUT / 4))

    def tick(self) -> None:
        if self.worker_id:
            tasks.beat(self.worker_id, hostname=socket.gethostname(), pid=os.getpid())
            tasks.requeue_orphans(me=self.worker_id)
        if self.periodic:
            tasks.enqueue_due_jobs()

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    self.tick()
                except Exception:
                    # The next tick tries again (the database may be restarting).
                    logger.exception("The worker's keeper failed a round")
                    close_old_connections()
                self.stopping.wait(self.every)
        finally:
            connection.close()


class Command(BaseCommand):
    help = ("Run one task worker: the queued tasks, the periodic jobs (digests, pruning, ...) and, with "
            "the database backend, the heartbeat by which a killed worker's task runs again. Run as many "
            "as you need; each slot of a periodic job runs once.")

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0,
                            help="seconds between looks at an empty queue (database backend; default 1)")
        parser.add_argument("--no-periodic", dest="periodic", action="store_false",
                            help="do not enqueue the periodic jobs from this worker")

    def handle(self, *args, interval, periodic, verbosity, **options):
        jobs = tasks.periodic_jobs()
        backend = task_backends["default"]
        database = isinstance(backend, DatabaseBackend)
        worker_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(8)}"[:64] if database else None
        names = ", ".join(f"{job.name} every {int(job.every.total_seconds() // 60)} min" for job in jobs if job.every)
        self.stdout.write(f"Task worker {worker_id or ''} ({type(backend).__name__}); periodic jobs: {names or 'none'}")
        if worker_id:
            tasks.beat(worker_id, hostname=socket.gethostname(), pid=os.getpid())
        keeper = Keeper(worker_id=worker_id, periodic=periodic)
        keeper.start()
        try:
            if database:
                call_command("db_worker", queue_name="*", interval=interval, worker_id=worker_id, reload=False,
                             startup_delay=False, verbosity=verbosity)
            else:
                call_command("rqworker", *backend.queues, job_class="django_tasks_rq.backend.Job", with_scheduler=True,
                             verbosity=verbosity)
        finally:
            keeper.stopping.set()
            keeper.join(timeout=5)
            if worker_id:
                from chatsite.models import WorkerBeat

                # A clean stop: nothing of ours is running, nothing to wait a timeout for.
                WorkerBeat.objects.filter(worker_id=worker_id).delete()
