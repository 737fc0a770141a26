"""Decisions: a case's decision records as staff see them, the notification of the person, and the decision
letter (PDF). Above `casework`, whose operations write each decision with the transition that takes it
(`cases.casework.decisions`); nothing in `casework` imports this package.
"""

from __future__ import annotations

from cases.decisions.letter import Letter, decision_letter
from cases.decisions.records import (
    DecisionSummary,
    NotificationForm,
    Notified,
    case_decisions,
    record_notification,
)

__all__ = [
    "DecisionSummary",
    "Letter",
    "NotificationForm",
    "Notified",
    "case_decisions",
    "decision_letter",
    "record_notification",
]
