"""The job runner's errors (the tree is drawn in `cases.errors`)."""

from __future__ import annotations

from workflow.errors import VidoroError

__all__ = ["UnknownJob"]


class UnknownJob(VidoroError):
    """`policies/routines/jobs.toml` schedules a job no code runs, or a job was queued under a name no code runs."""

    code = "unknown_job"

    def __init__(self, name: str) -> None:
        super().__init__(f"no job is called {name!r}; the jobs are those of cases/jobs/registry.py",
                         message_sv=f"det finns inget jobb som heter {name!r}")
        self.name = name
