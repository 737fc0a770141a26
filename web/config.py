"""Configuration: defaults, overridden by VIDORO_* environment variables, overridden by the caller."""

from __future__ import annotations

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
        "VIDORO_PORT": int(os.environ.get("VIDORO_PORT", "8000")),
    }
    config.update(overrides or {})
    config["VIDORO_HOME"] = Path(config["VIDORO_HOME"])
    config["VIDORO_KEYS"] = Path(config["VIDORO_KEYS"])
    return config
