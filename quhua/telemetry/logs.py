"""Log records as JSON lines, each with the trace and span ids current where it was logged."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from opentelemetry import trace


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, trace_id and span_id
    (32 and 16 hex digits) inside a traced request, and the exception's traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            line["trace_id"] = trace.format_trace_id(context.trace_id)
            line["span_id"] = trace.format_span_id(context.span_id)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def json_log_config(level: str = "INFO") -> dict[str, Any]:
    """A logging configuration (dictConfig, as uvicorn takes it) that writes every record,
    uvicorn's own included, to standard error as a JSON line."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            name: {"handlers": [], "level": level, "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
