"""Configuration: defaults, overridden by VIDORO_* environment variables, overridden by the caller."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["load_config"]


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """VIDORO_HOME (default ./instance) holds the embedded database unless VIDORO_DATABASE_URL says else,
    and the key material in `keys/` unless VIDORO_KEYS names another folder."""
    home = Path(os.environ.get("VIDORO_HOME") or "instance").resolve()
    config: dict[str, Any] = {
        "VIDORO_HOME": home,
        "VIDORO_DATABASE_URL": os.environ.get("VIDORO_DATABASE_URL") or f"sqlite:///{home / 'vidoro.db'}",
        "VIDORO_KEYS": Path(os.environ.get("VIDORO_KEYS") or home / "keys"),
        "VIDORO_HOST": os.environ.get("VIDORO_HOST", "127.0.0.1"),
        "VIDORO_PORT": _whole("VIDORO_PORT", 8000),
        # The logs' name in checkpoints, fixed when `vidoro init` creates the signing key (e.g. malmo.se/vidoro).
        "VIDORO_LOG_NAME": os.environ.get("VIDORO_LOG_NAME") or None,
        # Where checkpoints go besides the database: folders and http(s) addresses, comma-separated.
        "VIDORO_CHECKPOINT_TARGETS": os.environ.get("VIDORO_CHECKPOINT_TARGETS", ""),
        # Seconds between automatic checkpoints while `vidoro serve` runs; 0 turns them off.
        "VIDORO_CHECKPOINT_INTERVAL": _seconds("VIDORO_CHECKPOINT_INTERVAL", 3600),
        # Whether `vidoro serve` runs the jobs beside the server (on) or leaves them to `vidoro worker` (off).
        "VIDORO_WORKER": _choice("VIDORO_WORKER", ("on", "off"), "on"),
        # Seconds a worker holds a job it took; a job whose worker died is taken over after this long.
        "VIDORO_JOB_LEASE": _seconds("VIDORO_JOB_LEASE", 900),
        # A signed-in session ends after this long without a request, and after this long in any case.
        "VIDORO_SESSION_IDLE": _seconds("VIDORO_SESSION_IDLE", 30 * 60),
        "VIDORO_SESSION_MAX": _seconds("VIDORO_SESSION_MAX", 10 * 3600),
        # Reverse proxies in front of vidoro whose X-Forwarded-For/-Proto are trusted (0: none).
        "VIDORO_PROXIES": _whole("VIDORO_PROXIES", 0),
        # `vidoro serve`'s log lines: json (one object a line) or text; the vidoro loggers' level (web.logs).
        "VIDORO_LOG_FORMAT": os.environ.get("VIDORO_LOG_FORMAT") or "json",
        "VIDORO_LOG_LEVEL": (os.environ.get("VIDORO_LOG_LEVEL") or "INFO").upper(),
        # The municipality's name, as decision letters give it (and as the place an appeal is sent to).
        "VIDORO_MUNICIPALITY": os.environ.get("VIDORO_MUNICIPALITY") or "Kommunen",
        # E-mail of notifications (`cases.notifications.mail`, which reads the same variables): the SMTP server
        # (smtp://host:port, smtps://…, ?starttls=1, user:password@; unset: no mail is sent), the sender, and
        # the address the links in a mail start with.
        "VIDORO_SMTP_URL": os.environ.get("VIDORO_SMTP_URL") or None,
        "VIDORO_MAIL_FROM": os.environ.get("VIDORO_MAIL_FROM") or "vidoro@localhost",
        "VIDORO_BASE_URL": (os.environ.get("VIDORO_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
        # The app's clock (`web.clock.Clock`), set only by the caller: None is the machine's clock.
        "VIDORO_CLOCK": None,
    }
    config.update(overrides or {})
    config["VIDORO_HOME"] = Path(config["VIDORO_HOME"])
    config["VIDORO_KEYS"] = Path(config["VIDORO_KEYS"])
    return config


def _seconds(name: str, default: float) -> float:
    value = os.environ.get(name) or str(default)
    try:
        seconds = float(value)
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds (0 or more), not {value!r}") from None
    return seconds


def _whole(name: str, default: int) -> int:
    value = os.environ.get(name) or str(default)
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = (os.environ.get(name) or default).lower()
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value
