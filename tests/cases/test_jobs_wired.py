"""The jobs of issue 19 wired together: every scheduled name has code, and an acute concern reaches intake at
once — registering it queues the deadline job, whose run notifies intake — on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cases import ConcernForm, register_concern
from cases.inbox import list_notifications, unread_count
from cases.jobs import DONE, make_runner, registry
from cases.models import Job
from policies.routines.jobs import load_jobs
from tests.conftest import NOW

CONCERN = "Eleven har slutat komma till skolan och söker kontakt med en våldsbejakande grupp på nätet."


def test_every_scheduled_job_has_code_behind_it():
    known = registry(signer=None, targets=[])
    assert set(load_jobs()) - {"checkpoints"} <= set(known)
    assert {"deadline_reminders", "send_mail", "retention", "expire_consents"} <= set(known)


def test_an_acute_concern_queues_the_deadline_job_and_its_run_alerts_intake(db, staff, child_number, adult_number):
    plain = register_concern(db, staff["reporter"], ConcernForm(concern=CONCERN, reporter_org="school",
                                                                  identity_number=adult_number), now=NOW)
    acute = register_concern(db, staff["reporter"], ConcernForm(concern=CONCERN, reporter_org="school",
                                                                  identity_number=child_number, acute_danger=True),
                             now=NOW + timedelta(seconds=5))
    with db.read() as session:
        queued = session.execute(select(Job.name, Job.key)).all()
    assert [name for name, key in queued if key.startswith("acute:")] == ["deadline_reminders"]
    assert plain.ref not in str(queued) and acute.ref not in str(queued)  # the key names the case's id only
    assert unread_count(db, staff["intake"]) == 0

    runner = make_runner(db, signer=None, targets=[], checkpoint_interval=0, clock=lambda: NOW + timedelta(seconds=6),
                         report=lambda _text: None)
    ran = runner.run_due()
    assert any(run.name == "deadline_reminders" and run.state == DONE for run in ran)
    told = list_notifications(db, staff["intake"]).items
    assert [n.case_ref for n in told if n.kind == "acute_concern"] == [acute.ref]  # not the plain one
    runner.run_due()
    assert list_notifications(db, staff["intake"]).items == told  # told once
