"""Log lines for `vidoro serve`: one JSON object a line (VIDORO_LOG_FORMAT=json, the default) or plain text.

The events of `cases.events` (operations, sign-ins, refusals, checkpoint deliveries) are written with their
fields (`event`, `outcome`, `ref`, `staff`, `role`, `trigger`, `state` …); anything else another library
logs is written as its message. The `vidoro` loggers log at VIDORO_LOG_LEVEL (INFO), everything else from
WARNING. The app factory configures nothing: a host (the tests, a WSGI server of one's own) keeps its own.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["FORMATS", "JsonLines", "TextLines", "configure"]

FORMATS = ("json", "text")


class JsonLines(logging.Formatter):
    """A record as one line of JSON: time (UTC), level, logger, then the event's fields or the message."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "vidoro", None)
        if isinstance(fields, Mapping):
            line.update(fields)
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextLines(logging.Formatter):
    """A record as text for a person at a terminal: the event's fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "vidoro", None)
        if isinstance(fields, Mapping):
            text += "".join(f" {name}={value}" for name, value in fields.items() if name != "event")
        return text


class _Stderr(logging.StreamHandler):
    """stderr as it is when a record is written, not as it was when the handler was made (as logging's own
    last resort does): a stream replaced since (a test runner's, closed by now) must not swallow lines."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> Any:
        return sys.stderr


def configure(config: Mapping[str, Any]) -> None:
    """Write log records to stderr in the configured format; calling it again replaces, never adds, a handler."""
    form = config.get("VIDORO_LOG_FORMAT", "json")
    if form not in FORMATS:
        raise ValueError(f"VIDORO_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {form!r}")
    handler = _Stderr()
    handler.setFormatter(JsonLines() if form == "json" else TextLines())
    handler.vidoro = True  # type: ignore[attr-defined]  # ours, to be replaced on the next call
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "vidoro", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("vidoro").setLevel(config.get("VIDORO_LOG_LEVEL", "INFO"))
    # "Task queue depth is N" at every request that waits for a thread: under load a line per request
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
