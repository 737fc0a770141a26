"""`vidoro serve`'s log lines: JSON objects with the events' fields, and nothing about the person."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from cases import ConcernForm, register_concern
from cases.events import LOGGER, emit
from tests.conftest import NOW
from tests.web.conftest import csrf_token
from web.logs import JsonLines, TextLines, configure

GIVEN, FAMILY = "Sigvard", "Kvarnströmsson"


def test_an_event_is_one_json_line_with_its_fields(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    emit("transition", "done", ref="VO-ABCDEFGH", staff="2f1c0b3e-8d5a-4a1e-9a57-3c2b1d0e9f88", role="intake",
         trigger="assess_protection", state="protection_assessment", version=2, seq=7)
    line = JsonLines().format(caplog.records[-1])
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed.pop("time").endswith("+00:00")
    assert parsed == {"level": "info", "logger": "vidoro.cases", "event": "transition", "outcome": "done",
                      "ref": "VO-ABCDEFGH", "staff": "2f1c0b3e-8d5a-4a1e-9a57-3c2b1d0e9f88", "role": "intake",
                      "trigger": "assess_protection", "state": "protection_assessment", "version": 2, "seq": 7}
    assert TextLines().format(caplog.records[-1]).endswith(
        "INFO vidoro.cases transition outcome=done ref=VO-ABCDEFGH staff=2f1c0b3e-8d5a-4a1e-9a57-3c2b1d0e9f88 "
        "role=intake trigger=assess_protection state=protection_assessment version=2 seq=7")


def test_another_library_s_record_is_its_message_and_its_exception():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("waitress", logging.ERROR, __file__, 1, "serving %s", ("failed",),
                                   sys.exc_info())
    parsed = json.loads(JsonLines().format(record))
    assert (parsed["level"], parsed["logger"], parsed["message"]) == ("error", "waitress", "serving failed")
    assert "RuntimeError: boom" in parsed["exception"]


def test_configuring_twice_leaves_one_handler_and_refuses_an_unknown_format(capsys):
    root, vidoro = logging.getLogger(), logging.getLogger("vidoro")
    before, level, ours_before = list(root.handlers), root.level, vidoro.level
    try:
        configure({"VIDORO_LOG_FORMAT": "json", "VIDORO_LOG_LEVEL": "INFO"})
        emit("sign_in", "refused", error="SignInRefused")
        written = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
        assert {"event": "sign_in", "outcome": "refused", "error": "SignInRefused"}.items() <= written[-1].items()
        configure({"VIDORO_LOG_FORMAT": "text", "VIDORO_LOG_LEVEL": "INFO"})
        ours = [h for h in root.handlers if getattr(h, "vidoro", False)]
        assert len(ours) == 1 and isinstance(ours[0].formatter, TextLines)
        assert logging.getLogger("vidoro.cases").getEffectiveLevel() == logging.INFO
        with pytest.raises(ValueError, match="VIDORO_LOG_FORMAT"):
            configure({"VIDORO_LOG_FORMAT": "xml"})
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
        root.setLevel(level)
        vidoro.setLevel(ours_before)


def test_pages_leave_json_lines_that_name_no_person(app, db, staff, accounts_by_role, client_as, child_number,
                                                    caplog):
    caplog.set_level(logging.INFO, logger="vidoro")
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern=f"{GIVEN} {FAMILY} visar oro.", reporter_org="school", identity_number=child_number,
        given_name=GIVEN, family_name=FAMILY), now=NOW).ref
    intake = client_as("intake")
    page = intake.get(f"/cases/{ref}")
    assert page.status_code == 200 and GIVEN in page.get_data(as_text=True)
    wrong = app.test_client()
    wrong.post("/sign-in", data={"username": "intake-1", "password": "not the password at all",
                                 "csrf_token": csrf_token(wrong.get("/sign-in"))})
    lines = [json.loads(JsonLines().format(r)) for r in caplog.records if r.name.startswith("vidoro")]
    seen = {(line["event"], line["outcome"]) for line in lines}
    assert {("concern_registered", "done"), ("sign_in", "done"), ("sign_in", "refused"),
            ("case_read", "done")} <= seen
    assert all(line.get("ref", ref) in (ref, "invalid") for line in lines)
    text = "\n".join(JsonLines().format(r) for r in caplog.records)
    for secret in (GIVEN, FAMILY, child_number, "intake-1", "Test intake", "127.0.0.1"):
        assert secret not in text
