"""Version 2's cases after a later version ships (issue 18 item 6): the metrics and the work list's state filter
know the states of every stored flowchart version, not only the current one's, so a case still running on
version 2 in `sig` is counted and can be filtered by its state, labelled in version 2's words (both databases)."""

from __future__ import annotations

from datetime import date

import pytest

from cases import ConcernForm, register_concern
from cases.casework.worklist import filter_states, work_list
from cases.crypto.identity import generate_identity_number
from cases.flowcharts import RELATIVE, current_engine
from cases.reports.monitoring import case_gauges
from tests.cases import route_v2
from tests.conftest import NOW
from tests.flowchart_v2 import V2


def _in_sig_on_v2(db, staff, monkeypatch) -> str:
    """An adult's case started on version 2 and referred to SIG there; then version 3 ships."""
    monkeypatch.setenv("VIDORO_FLOWCHART", str(V2))
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern="Personen sprider våldsbejakande material.", reporter_org="school",
        identity_number=generate_identity_number(date(2001, 3, 2), 431)), now=NOW).ref
    route_v2.drive(db, staff, ref, route_v2.PATHS["sig"][1], NOW)
    monkeypatch.delenv("VIDORO_FLOWCHART")
    assert "sig" not in current_engine().chart.states  # the shipped version has no such state
    return ref


def test_before_any_old_version_is_stored_only_the_current_states_are_known(db, staff):
    gauges = case_gauges(db, staff["auditor"], now=NOW)
    assert "sig" not in gauges.open_by_state and gauges.open_by_state["interventions"] == 0
    states, _ = filter_states(db)
    current = [*current_engine().chart.states]
    assert [*states][:len(current)] == current and "sig" not in states
    assert set(states) - set(current) == set(current_engine(RELATIVE).chart.states) - set(current)


def test_a_version_2_case_in_sig_is_counted_by_the_metrics(db, staff, monkeypatch):
    _in_sig_on_v2(db, staff, monkeypatch)
    gauges = case_gauges(db, staff["auditor"], now=NOW)
    assert gauges.open_by_state["sig"] == 1
    # every open state of every stored version is present, at 0 if need be; closed ones are not
    assert gauges.open_by_state["awaiting_consent"] == gauges.open_by_state["exit_support"] == 0
    assert gauges.open_by_state["interventions"] == 0 and gauges.overdue_by_state["family_support"] == 0
    assert "closed" not in gauges.open_by_state and "erased" not in gauges.open_by_state


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_work_list_filters_by_a_version_2_state_labelled_in_version_2s_words(db, staff, monkeypatch, lang):
    ref = _in_sig_on_v2(db, staff, monkeypatch)
    states, _ = filter_states(db)
    assert states["sig"](lang) == {"sv": "Social insatsgrupp", "en": "Social intervention group"}[lang]
    # a state both versions have is labelled from the current one
    assert states["investigation"] == current_engine().chart.states["investigation"].label
    # the current states come first, the older version's own after them
    assert [*states].index("sig") > [*states].index("interventions")
    assert [item.ref for item in work_list(db, staff["decider"], today=NOW.date(), state="sig").items] == [ref]
