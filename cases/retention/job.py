"""The nightly retention job (contracts.md): thin the cases past retention, then purge what has expired."""

from __future__ import annotations

from datetime import datetime, timedelta

from cases.db import Database
from cases.retention.purges import SESSION_IDLE, SESSION_MAX, Purged, purge_expired
from cases.retention.thinning import Plan, Thinned, erase_due, thinning_plan

__all__ = ["run_retention_job", "summary"]


def run_retention_job(database: Database, *, now: datetime, session_idle: timedelta = SESSION_IDLE,
                      session_max: timedelta = SESSION_MAX) -> str:
    """Erase every case due for thinning and purge expired records; a one-line summary with counts only.

    Running it twice at the same `now` changes nothing the second time: an erased case is no longer in a state
    that erases, and a purged row is gone."""
    plan = thinning_plan(database, now=now)
    thinned = erase_due(database, now=now, plan=plan)
    purged = purge_expired(database, now=now, session_idle=session_idle, session_max=session_max)
    return summary(plan, thinned, purged)


def summary(plan: Plan, thinned: Thinned | None, purged: Purged) -> str:
    """Counts only: erased (or due, in a dry run: `thinned` None), failed, kept and why, and the purges."""
    kept = plan.kept_counts()
    why = ", ".join(f"{count} {reason.replace('_', ' ')}" for reason, count in sorted(kept.items()))
    head = (f"{len(plan.due)} due" if thinned is None
            else f"{len(thinned.erased)} erased, {len(thinned.failed)} failed")
    verb = "would purge" if thinned is None else "purged"
    return (f"{head}, {len(plan.kept)} kept{f' ({why})' if why else ''}; {verb} {purged.sessions} sessions, "
            f"{purged.idempotency_keys} idempotency keys, {purged.sign_in_attempts} sign-in attempts, "
            f"{purged.request_counts} request counts, {purged.notifications} notifications, "
            f"{purged.mails} outbox mails")
