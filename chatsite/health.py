"""Health checks for load balancers and orchestrators.

``/healthz`` says the process answers and touches nothing else: a liveness probe that restarts a
process only when the process itself is stuck. ``/readyz`` says whether this process can serve:
every readiness check (the database, the cache, the channel layer, and whatever an app registers)
runs at once, each within ``HEALTH_CHECK_TIMEOUT`` seconds, and the answer names each one with its
status and latency, 503 when any fails, so an operator reads the culprit off the probe's body.

Checks run in threads of their own (``thread_sensitive=False``), not on the sockets' database
thread: a probe must answer, slowly or with a failure, even when that thread is busy or stuck.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import caches
from django.db import connections

# A check returns None, or a dict of figures shown beside its status (the task queue's depth).
Check = Callable[[], Awaitable[dict | None]]

_checks: dict[str, Check] = {}


def readiness_check(name: str) -> Callable[[Check], Check]:
    """Register an async readiness check: it returns when the dependency is usable and raises
    otherwise. Apps register their own (the task queue, say) in their ``AppConfig.ready``."""

    def register(check: Check) -> Check:
        _checks[name] = check
        return check

    return register


def _in_thread(fn: Callable[[], None]) -> Awaitable[None]:
    return sync_to_async(fn, thread_sensitive=False)()


# The checks look up their target through these names, so a test can point one at a closed port.
DATABASE_ALIAS = CACHE_ALIAS = "default"


@readiness_check("database")
async def check_database(handler=None) -> None:
    """``handler``: the connections to use (default: the site's, through its pool if it has one)."""

    def query():
        connection = (handler or connections)[DATABASE_ALIAS]
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        finally:
            connection.close()  # this thread is a throwaway: never leave its connection behind

    await _in_thread(query)


@readiness_check("cache")
async def check_cache() -> None:
    def round_trip():
        cache = caches[CACHE_ALIAS]
        key, value = f"readyz:{uuid.uuid4().hex}", uuid.uuid4().hex
        cache.set(key, value, timeout=10)
        if cache.get(key) != value:
            raise RuntimeError("the cache did not return what was stored")
        cache.delete(key)

    await _in_thread(round_trip)


@readiness_check("channel_layer")
async def check_channel_layer() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel("readyz.")
    await layer.send(channel, {"type": "readyz.ping"})
    received = await layer.receive(channel)
    if received.get("type") != "readyz.ping":
        raise RuntimeError("the channel layer did not deliver a message to this process")


@readiness_check("storage")
async def check_storage() -> dict:
    """The bucket answers (S3), or the media folder is writable (filesystem)."""
    import os

    from django.core.files.storage import default_storage

    from .s3 import is_s3

    def probe():
        if is_s3(default_storage):
            default_storage.connection.meta.client.head_bucket(Bucket=default_storage.bucket_name)
            return {"backend": "s3"}
        location = default_storage.location
        if not (os.path.isdir(location) or os.path.isdir(os.path.dirname(location))) or not os.access(
                location if os.path.isdir(location) else os.path.dirname(location), os.W_OK):
            raise RuntimeError(f"{location} is not a folder this process may write to")
        return {"backend": "filesystem"}

    return await sync_to_async(probe, thread_sensitive=False)()


@readiness_check("tasks")
async def check_task_queue() -> dict:
    """The queue answers; its depth and the oldest waiting task's age are for the operator to read
    (a deep queue is slow, not broken: it does not fail the probe)."""
    from .tasks import get_queue_stats

    def read():
        try:
            stats = get_queue_stats()
        finally:
            connections.close_all()
        age = stats.oldest_age.total_seconds() if stats.oldest_age is not None else None
        return {"depth": stats.depth, "oldest_waiting_seconds": age, "failed": stats.failed}

    return await sync_to_async(read, thread_sensitive=False)()


async def run_check(name: str, check: Check, timeout: float) -> dict:
    started = time.perf_counter()
    figures = None
    try:
        figures = await asyncio.wait_for(check(), timeout)
    except TimeoutError:
        result = {"status": "fail", "error": f"no answer within {timeout:g} s"}
    except Exception as error:  # noqa: BLE001 - any failure of a dependency is a failed check
        # One line (drivers' messages span several), short enough for a probe's log.
        result = {"status": "fail", "error": " ".join(f"{type(error).__name__}: {error}".split())[:300]}
    else:
        result = {"status": "ok", **(figures or {})}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return {"name": name, **result}


async def readiness() -> dict:
    """Run every readiness check concurrently: ``{"status": "ok"|"fail", "checks": {...}}``."""
    timeout = settings.HEALTH_CHECK_TIMEOUT
    results = await asyncio.gather(*(run_check(name, check, timeout) for name, check in _checks.items()))
    checks = {result.pop("name"): result for result in results}
    healthy = all(result["status"] == "ok" for result in checks.values())
    return {"status": "ok" if healthy else "fail", "checks": checks}
