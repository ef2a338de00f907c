"""Tasks for the task tests: module-level (a worker imports them by path), small, observable."""

import os
import time
import uuid
from pathlib import Path

from chatsite.models import TaskKey
from chatsite.tasks import durable_task, once

# Eager-mode counters (the test's own process).
calls: dict[str, int] = {}


@durable_task(retries=3, backoff=0)
def flaky(*, name: str, failures: int) -> str:
    """Fails ``failures`` times, then succeeds."""
    calls[name] = calls.get(name, 0) + 1
    if calls[name] <= failures:
        raise ConnectionError(f"{name}: attempt {calls[name]} refused")
    return f"done after {calls[name]}"


@durable_task
def fails_at_once(*, name: str) -> None:
    calls[name] = calls.get(name, 0) + 1
    raise ValueError(f"{name}: no retry policy")


def _wait_for(path: Path) -> None:
    # The test SIGKILLs the worker while this waits, or lets it go by creating ``path``.
    while not path.exists():
        time.sleep(0.05)


@durable_task
def hold_then_record(*, key: str, marker_dir: str, hold: str) -> str:
    """Records its effect (a TaskKey row "effect:<key>:<random>") once per ``key``. It stops to be
    killed either inside the effect's transaction (``hold="before"``: the effect is not committed)
    or after its commit (``hold="after"``: the rerun must find it done)."""
    marker_dir = Path(marker_dir)
    with (marker_dir / "runs").open("a") as runs:
        runs.write(f"{os.getpid()}\n")
    with once(f"guard:{key}") as first:
        if first:
            TaskKey.objects.create(key=f"effect:{key}:{uuid.uuid4().hex}")
        if hold == "before":
            (marker_dir / "holding").touch()
            _wait_for(marker_dir / "release")
    if hold == "after":
        (marker_dir / "holding").touch()
        _wait_for(marker_dir / "release")
    return "recorded" if first else "already recorded"
