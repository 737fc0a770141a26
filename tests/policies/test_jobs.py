"""policies/routines/jobs.toml: each job has one schedule and words in both languages; a broken file names the fault."""

from __future__ import annotations

import pytest

from cases.jobs import registry, schedules
from policies import PolicyError
from policies.routines.jobs import load_jobs, parse_jobs

LABEL = {"sv": "Ett jobb", "en": "A job"}


def test_the_file_schedules_only_jobs_the_code_runs_and_each_has_words():
    jobs = load_jobs()
    known = registry(signer=None, targets=[])
    assert set(jobs) - {"checkpoints"} <= set(known)
    assert all(job.label("sv") and job.label("en") and job.label("sv") != job.label("en") for job in jobs.values())
    assert set(schedules(known=known, checkpoint_interval=60)) == set(known)  # no checkpoints without a signer


@pytest.mark.parametrize(("entry", "fault"), [
    ({"cron": "0 2 * * *", "every": 60, "label": LABEL}, "exactly one"),
    ({"label": LABEL}, "exactly one"),
    ({"cron": "0 2 * *", "label": LABEL}, "five crontab fields"),
    ({"cron": "0 2 * * * ;", "label": LABEL}, "five crontab fields"),
    ({"every": 0, "label": LABEL}, "positive"),
    ({"every": True, "label": LABEL}, "positive"),
    ({"every": 60, "label": {"sv": "Bara svenska"}}, "sv and en"),
    ({"every": 60, "label": LABEL, "retries": 3}, "only cron, every and label"),
])
def test_a_broken_entry_is_refused_with_its_fault(entry, fault):
    with pytest.raises(PolicyError, match=fault):
        parse_jobs({"jobs": {"some_job": entry}})


def test_a_name_that_is_not_a_code_is_refused():
    with pytest.raises(PolicyError, match="lower-case"):
        parse_jobs({"jobs": {"Gallring nu": {"every": 60, "label": LABEL}}})
    with pytest.raises(PolicyError, match=r"a \[jobs"):
        parse_jobs({})
