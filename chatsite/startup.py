"""Refuse to start a server that cannot reach its database, its Redis or its storage (the bucket),
with a sentence that
names the setting, rather than a traceback at the first request (or a site that half works)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.utils import ConnectionHandler

from . import health

# Each check and the setting an operator fixes when it fails.
_STARTUP_CHECKS = {"database": "DATABASE_URL", "cache": "REDIS_URL", "storage": "AWS_STORAGE_BUCKET_NAME or MEDIA_ROOT"}


def raise_for_unreachable_services() -> None:
    """Run the database and cache readiness checks once, in a thread of its own (the ASGI server
    may import the application inside its event loop, where the ORM refuses to run)."""
    if not settings.STARTUP_CHECKS:
        return

    # One plain connection, not the pool: a pool waits its whole timeout for a server that refused.
    database = {**settings.DATABASES["default"]}
    database["OPTIONS"] = {key: value for key, value in database.get("OPTIONS", {}).items() if key != "pool"}
    unpooled = ConnectionHandler({"default": database})

    async def run() -> dict:
        checks = {"database": lambda: health.check_database(unpooled), "cache": health.check_cache,
                  "storage": health.check_storage}
        results = await asyncio.gather(*(health.run_check(name, check, settings.HEALTH_CHECK_TIMEOUT)
                                         for name, check in checks.items()))
        return {result["name"]: result for result in results}

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="startup-checks") as executor:
        results = executor.submit(asyncio.run, run()).result()
    failures = [f"The {name} is unreachable ({results[name]['error']}): check {setting}."
                for name, setting in _STARTUP_CHECKS.items() if results[name]["status"] != "ok"]
    if failures:
        raise ImproperlyConfigured("Cannot start. " + " ".join(failures))
