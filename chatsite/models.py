"""The task queue's own bookkeeping (chatsite/tasks.py): idempotency keys and worker heartbeats."""

from django.db import models


class TaskKey(models.Model):
    """A piece of work that happened once: an email delivered, a periodic slot claimed, an effect
    applied. Its unique key is what makes a retried or repeated task do nothing the second time."""

    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return self.key


class WorkerBeat(models.Model):
    """A database worker's last sign of life: a task still RUNNING under a worker silent for
    TASKS_WORKER_TIMEOUT was cut off (killed, machine lost) and is put back in the queue."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    seen_at = models.DateTimeField()
    started_at = models.DateTimeField(auto_now_add=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(null=True)

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.hostname}:{self.pid})"
