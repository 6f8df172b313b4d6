"""Log records that name their request: settings.LOGGING installs the filter and, with
LOG_FORMAT=json, the formatter. Imported while Django configures logging, so nothing here may
need the app registry."""

import contextvars
import json
import logging
import time
from collections.abc import Callable

# Set by apiusers.observability.ObservabilityMiddleware for the time of each request.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class RequestIdFilter(logging.Filter):
    """Gives every log record the id of the request being served ("" outside requests)."""

    def filter(self, record):
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, the fields a request
    line adds (`extra`), and the traceback of an error."""

    converter: Callable[[float | None], time.struct_time] = time.gmtime
    FIELDS = (
        "method",
        "route",
        "status",
        "duration_ms",
        "db_queries",
        "account_id",
        "api_user_id",
        "user_id",
    )

    def format(self, record):
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", ""),
        }
        line.update({name: getattr(record, name) for name in self.FIELDS if hasattr(record, name)})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, separators=(",", ":"))
