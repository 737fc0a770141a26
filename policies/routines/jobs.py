"""The schedule of the work that happens on its own (`jobs.toml`): each job's name, when it runs, its words.

Policy, not code: when reminders go out or the nightly thinning runs is the municipality's choice. The times
are turned into moments by `cases.jobs.schedule` in the flowchart's time zone; this module only reads and
checks the file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from policies.errors import PolicyError
from policies.model import Label

__all__ = ["DEFAULT_JOBS_PATH", "JobSchedule", "load_jobs", "parse_jobs"]

DEFAULT_JOBS_PATH = Path(__file__).with_name("jobs.toml")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,47}")
_CRON_FIELD = re.compile(r"[0-9*,/\-a-z]+")


@dataclass(frozen=True)
class JobSchedule:
    """One job: a crontab line in the flowchart's time zone, or a number of seconds between runs."""

    name: str
    label: Label
    cron: str | None = None
    every: float | None = None


def parse_jobs(data: dict[str, Any], source: str = "jobs.toml") -> Mapping[str, JobSchedule]:
    """Check the file's table of jobs and return the schedules by name."""
    jobs = data.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        raise PolicyError(source, "a [jobs.<name>] table is needed for each job")
    schedules = {}
    for name, entry in jobs.items():
        where = f"jobs.{name}"
        if not _NAME.fullmatch(name):
            raise PolicyError(source, f"{where}: a job's name is lower-case letters, digits and _")
        if not isinstance(entry, dict) or set(entry) - {"cron", "every", "label"}:
            raise PolicyError(source, f"{where}: only cron, every and label belong here")
        cron, every = entry.get("cron"), entry.get("every")
        if (cron is None) == (every is None):
            raise PolicyError(source, f"{where}: give exactly one of cron and every")
        if cron is not None and (not isinstance(cron, str) or len(cron.split()) != 5
                                 or not all(_CRON_FIELD.fullmatch(f) for f in cron.split())):
            raise PolicyError(source, f"{where}: cron is five crontab fields (minute hour day month weekday)")
        if every is not None and (isinstance(every, bool) or not isinstance(every, int | float) or every <= 0):
            raise PolicyError(source, f"{where}: every is a positive number of seconds")
        label = entry.get("label")
        if not isinstance(label, dict) or set(label) != {"sv", "en"} or not all(
                isinstance(v, str) and v.strip() for v in label.values()):
            raise PolicyError(source, f"{where}: label needs sv and en words")
        schedules[name] = JobSchedule(name, Label(label["sv"], label["en"]), cron,
                                      None if every is None else float(every))
    return MappingProxyType(schedules)


@cache
def load_jobs(path: Path = DEFAULT_JOBS_PATH) -> Mapping[str, JobSchedule]:
    """The schedules in `path` (read once per process)."""
    with open(path, "rb") as handle:
        return parse_jobs(tomllib.load(handle), path.name)
