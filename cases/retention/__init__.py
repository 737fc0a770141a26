"""Thinning (gallring) and purges (issue 19): the retention job, its dry run, and legal holds.

`run_retention_job` is the nightly job (contracts.md); `thinning_plan` is its dry run, listing by reference what
would be erased and what is kept and why; `place_hold` and `lift_hold` keep a case from thinning with a reason.
"""

from cases.retention.holds import HoldChanged, HoldItem, case_holds, lift_hold, place_hold
from cases.retention.job import run_retention_job, summary
from cases.retention.purges import Purged, purge_expired
from cases.retention.thinning import (
    LEGAL_HOLD,
    RESEARCH_SAMPLE,
    SAME_PERSON,
    Listed,
    Plan,
    Thinned,
    erase_due,
    thinning_plan,
)

__all__ = [
    "LEGAL_HOLD",
    "RESEARCH_SAMPLE",
    "SAME_PERSON",
    "HoldChanged",
    "HoldItem",
    "Listed",
    "Plan",
    "Purged",
    "Thinned",
    "case_holds",
    "erase_due",
    "lift_hold",
    "place_hold",
    "purge_expired",
    "run_retention_job",
    "summary",
    "thinning_plan",
]
