"""The coordinator's local picture (lägesbild): de-identified counts of concerns, small cells hidden.

The coordinator is told of every concern in de-identified form and never sees names, identity numbers or
case pseudonyms (DESIGN.md §1). So this returns counts only: per month of receipt, per reporting
organisation, per state and per age band, each table on its own (no cross tables). Nothing is decrypted.

A count below `MIN_CELL`, zero included, is hidden ("fewer than 5"). Every table counts the same concerns,
so its total is known from any other table; a table with a single hidden cell would therefore give that
cell away, and the smallest shown cell is hidden with it, unless the hidden cell is 0 (which names nobody).

Child or adult is the engine's own decision, made with the birth date on the day of receipt when the case
was registered: a child's case gets the deadlines that apply to children only (the protection assessment
at once, the pre-assessment within 14 days). Those deadline rows are not personal data, so the age band is
counted from them without opening the sealed birth date.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from cases.actors import require_staff
from cases.db import Database
from cases.errors import NotPermitted
from cases.flowcharts import VID_ORO, current_engine, engine_for_version
from cases.models import Case, Deadline, FlowchartVersion
from policies.access import STATISTICS_ROLES
from workflow import Actor
from workflow.deadlines import local_date

__all__ = ["MIN_CELL", "STATISTICS_ROLES", "Cell", "Picture", "case_count", "local_picture"]

MIN_CELL = 5
EARLIER = "earlier"  # the month table's bucket for concerns received before the months shown
CHILD, ADULT, UNKNOWN = "child", "adult", "unknown"


@dataclass(frozen=True)
class Cell:
    """One row of a table: its key (a month "YYYY-MM", a code, a state, an age band) and its count.

    `count` is None when the cell is hidden: fewer than MIN_CELL, or hidden so a hidden one cannot be
    worked out from the total.
    """

    key: str
    count: int | None

    @property
    def hidden(self) -> bool:
        return self.count is None


@dataclass(frozen=True)
class Picture:
    total: int | None
    by_month: tuple[Cell, ...]  # oldest first, then EARLIER last if any concern is older
    by_reporter_org: tuple[Cell, ...]
    by_state: tuple[Cell, ...]
    by_age_band: tuple[Cell, ...]


def local_picture(db: Database, actor: Actor, *, today: date, months: int = 12) -> Picture:
    """Counts of every concern received, for the coordinator; no case is named and nothing is decrypted."""
    if actor.role not in STATISTICS_ROLES:
        raise NotPermitted("see the local picture", actor.role)
    months = max(1, months)
    chart = current_engine().chart
    with db.read() as session:
        require_staff(session, actor)
        # concerns only: a relative's own matter (issue 18) runs on another flowchart and is no concern
        rows = session.execute(select(Case.id, Case.received_at, Case.reporter_org, Case.state,
                                      Case.flowchart_version)
                               .join(FlowchartVersion, FlowchartVersion.version == Case.flowchart_version)
                               .where(FlowchartVersion.name == VID_ORO)).all()
        bands = _age_bands(session, {row.flowchart_version for row in rows})
        case_bands = _case_bands(session, bands)
    shown_months = _months(today, months)
    month_counts: Counter[str] = Counter()
    for row in rows:
        month = local_date(row.received_at, chart.timezone).strftime("%Y-%m")
        month_counts[month if month >= shown_months[0] else EARLIER] += 1
    month_keys = [*shown_months, *([EARLIER] if month_counts[EARLIER] else [])]
    orgs = _keys(chart.vocabularies.get("reporter_orgs", {}), (row.reporter_org for row in rows))
    states = _keys(chart.states, (row.state for row in rows))
    ages = [CHILD, ADULT]
    age_counts = Counter(case_bands.get(row.id) or bands[row.flowchart_version][1] for row in rows)
    if age_counts[UNKNOWN]:
        ages.append(UNKNOWN)
    total = len(rows)
    return Picture(
        total=total if total >= MIN_CELL else None,
        by_month=_table(month_keys, month_counts),
        by_reporter_org=_table(orgs, Counter(row.reporter_org for row in rows)),
        by_state=_table(states, Counter(row.state for row in rows)),
        by_age_band=_table(ages, age_counts),
    )


def suppress(counts: Mapping[str, int]) -> dict[str, int | None]:
    """Hide every count below MIN_CELL, and with a single hidden cell above 0 also the smallest shown one."""
    hidden = {key for key, n in counts.items() if n < MIN_CELL}
    if len(hidden) == 1 and counts[next(iter(hidden))] > 0:
        shown = sorted((n, key) for key, n in counts.items() if key not in hidden)
        if shown:
            hidden.add(shown[0][1])
    return {key: (None if key in hidden else n) for key, n in counts.items()}


def _table(keys: list[str], counts: Mapping[str, int]) -> tuple[Cell, ...]:
    kept = suppress({key: counts.get(key, 0) for key in keys})
    return tuple(Cell(key, kept[key]) for key in keys)


def _keys(known: Iterable[str], seen: Iterable[str]) -> list[str]:
    """The flowchart's codes in its order, then any code an older version used, sorted."""
    keys = list(known)
    return keys + sorted(set(seen) - set(keys))


def _months(today: date, count: int) -> list[str]:
    """The `count` calendar months up to and including today's, oldest first."""
    index = today.year * 12 + today.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


def _age_bands(session, versions: set[str]) -> dict[str, tuple[dict[str, str], str]]:
    """Per flowchart version: the band each age-specific deadline marks, and the band of a case with none."""
    bands = {}
    for version in versions:
        chart = engine_for_version(session, version).chart
        marks = {name: d.applies_to for name, d in chart.deadlines.items() if d.applies_to in (CHILD, ADULT)}
        at_registration = {marks[name] for name in chart.initial_starts if name in marks}
        # Registration starts the deadlines of one band only: a case without any belongs to the other band.
        default = UNKNOWN if len(at_registration) != 1 else ({CHILD, ADULT} - at_registration).pop()
        bands[version] = (marks, default)
    return bands


def _case_bands(session, bands: Mapping[str, tuple[dict[str, str], str]]) -> dict[str, str]:
    names = {name for marks, _ in bands.values() for name in marks}
    if not names:
        return {}
    found: dict[str, str] = {}
    rows = session.execute(select(Deadline.case_id, Deadline.name, Case.flowchart_version)
                           .join(Case, Case.id == Deadline.case_id).where(Deadline.name.in_(names)))
    for case_id, name, version in rows:
        band = bands[version][0].get(name)
        if band is not None:
            found[case_id] = band
    return found


def case_count(db: Database) -> int:
    """How many cases the instance holds, in any state: for the operator's command line (no account), which
    refuses to make new keys beside cases that the old keys sealed."""
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0
