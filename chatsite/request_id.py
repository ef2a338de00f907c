"""The id of the request being served, for the logs of the work it causes.

A proxy's ``X-Request-ID`` is kept (when it looks like an id), otherwise one is made. It lives in a
context variable for the request's duration, is sent back in the response's ``X-Request-ID``, and
travels with every task the request enqueues (chatsite/tasks.py), so a task that fails in the
worker is logged with the id of the request that asked for it.
"""

import re
import uuid
from contextvars import ContextVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

HEADER = "X-Request-ID"
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return request_id.get()


def new_request_id(offered: str | None = None) -> str:
    """The proxy's id when it is a plain token (it ends up in logs), else a fresh one."""
    if offered and _ACCEPTED.match(offered):
        return offered
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Sync and async, so it adds no thread hop on either kind of view."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        token = request_id.set(new_request_id(request.headers.get(HEADER)))
        try:
            response = self.get_response(request)
            response.headers[HEADER] = request_id.get()
            return response
        finally:
            request_id.reset(token)

    async def _acall(self, request):
        token = request_id.set(new_request_id(request.headers.get(HEADER)))
        try:
            response = await self.get_response(request)
            response.headers[HEADER] = request_id.get()
            return response
        finally:
            request_id.reset(token)
