"""Flags on a case that change its route (issue 18): violence in close relationships, honour-related violence.

Above `cases.casework`, whose skeleton and grounds it uses; nothing beneath imports it (the engine gets a case's
flags from `cases.casework.operations.case_facts`, which reads the records directly).
"""

from __future__ import annotations

from cases.flags.operations import (
    REASON_FIELD,
    CaseFlags,
    FlagChanged,
    FlagItem,
    active_flags,
    case_flags,
    clear_flag,
    consent_warnings,
    flags_on_case,
    set_flag,
)

__all__ = ["REASON_FIELD", "CaseFlags", "FlagChanged", "FlagItem", "active_flags", "case_flags", "clear_flag",
           "consent_warnings", "flags_on_case", "set_flag"]
