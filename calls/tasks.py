"""The calls app's background work."""

from chatsite.tasks import durable_task, periodic

from . import services


@periodic("sweep_calls", every_setting="CALL_SWEEP_EVERY_MINUTES")
@durable_task(retries=1)
def sweep_calls() -> dict:
    """Calls that rang too long become missed; participants who never came back are dropped."""
    return services.sweep_calls()
