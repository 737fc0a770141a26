"""When jobs are due (cases.jobs.schedule): the same moments for every worker, DST-correct in Stockholm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cases.jobs import Schedule
from policies.model import Label
from policies.routines.jobs import JobSchedule

ZONE = "Europe/Stockholm"


def cron(line: str) -> Schedule:
    return Schedule.of(JobSchedule("nightly", Label("Natt", "Night"), cron=line), ZONE)


def moments(schedule: Schedule, start: datetime, count: int) -> list[datetime]:
    found, moment = [], start
    for _ in range(count):
        moment = schedule.after(moment)
        found.append(moment)
    return found


def test_a_nightly_job_runs_at_the_local_time_in_winter_and_in_summer():
    nightly = cron("30 2 * * *")
    assert nightly.due(datetime(2027, 1, 10, 1, 29, tzinfo=UTC)) == datetime(2027, 1, 9, 1, 30, tzinfo=UTC)
    assert nightly.due(datetime(2027, 1, 10, 1, 30, tzinfo=UTC)) == datetime(2027, 1, 10, 1, 30, tzinfo=UTC)
    assert nightly.due(datetime(2027, 7, 10, 1, 0, tzinfo=UTC)) == datetime(2027, 7, 10, 0, 30, tzinfo=UTC)


def test_in_spring_a_time_that_does_not_exist_runs_an_hour_later_once():
    # 2027-03-28: the clocks go from 02:00 to 03:00; 02:30 that night does not exist
    assert moments(cron("30 2 * * *"), datetime(2027, 3, 27, 0, 0, tzinfo=UTC), 3) == [
        datetime(2027, 3, 27, 1, 30, tzinfo=UTC),  # 02:30 CET
        datetime(2027, 3, 28, 1, 30, tzinfo=UTC),  # 03:30 CEST: once that night
        datetime(2027, 3, 29, 0, 30, tzinfo=UTC),  # 02:30 CEST
    ]


def test_in_autumn_a_daily_time_that_happens_twice_runs_once_and_an_hourly_job_in_both_hours():
    # 2026-10-25: the clocks go from 03:00 back to 02:00; 02:30 happens twice
    assert moments(cron("30 2 * * *"), datetime(2026, 10, 24, 0, 0, tzinfo=UTC), 3) == [
        datetime(2026, 10, 24, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST, and not again at 02:30 CET
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
    ]
    assert moments(cron("0 * * * *"), datetime(2026, 10, 24, 23, 30, tzinfo=UTC), 4) == [
        datetime(2026, 10, 25, 0, 0, tzinfo=UTC),  # 02:00 CEST
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # 02:00 CET: another hour
        datetime(2026, 10, 25, 2, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 3, 0, tzinfo=UTC),
    ]
    assert cron("30 2 * * *").due(datetime(2026, 10, 25, 1, 45, tzinfo=UTC)) == datetime(2026, 10, 25, 0, 30,
                                                                                         tzinfo=UTC)


def test_every_worker_computes_the_same_slots_and_missed_ones_coalesce():
    job = JobSchedule("checkpoints", Label("Kontrollpunkter", "Checkpoints"), every=3600)
    one, other = Schedule.of(job, ZONE), Schedule.of(job, ZONE, every=0.5)
    now = datetime(2026, 12, 7, 22, 17, 3, 700_000, tzinfo=UTC)
    assert one.due(now) == Schedule.of(job, ZONE).due(now) == datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
    assert other.due(now) == datetime(2026, 12, 7, 22, 17, 3, 500_000, tzinfo=UTC)
    later = now + timedelta(hours=5, minutes=1)  # no worker ran for five hours: one occurrence, the latest
    assert one.due(later) == datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
    assert one.due(later - timedelta(hours=4)) == datetime(2026, 12, 7, 23, 0, tzinfo=UTC)  # a clock set back


def test_a_cron_line_apscheduler_refuses_names_the_job():
    with pytest.raises(ValueError, match=r"jobs\.nightly"):
        cron("61 2 * * *")
