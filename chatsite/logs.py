"""Log records with the id of the request (or socket frame) they belong to; JSON lines in production.

``LOG_FORMAT=json`` writes one JSON object per line (python-json-logger), for a log shipper;
the default is plain text for a terminal. Either way each record carries ``request_id``: the
HTTP request's (chatsite/request_id.py, also in the ``X-Request-ID`` response header), a socket
frame's (also in the error frame that answers it), or the enqueuing request's in a task.
"""

import logging

from pythonjsonlogger.json import JsonFormatter

from .request_id import current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


def json_formatter() -> JsonFormatter:
    return JsonFormatter(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                         timestamp=False)
