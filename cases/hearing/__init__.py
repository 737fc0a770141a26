"""Kommunicering before a decision that goes against the person, and the structured protection assessments
and pre-assessments (issue 17): recording them, and reading them with each read logged.

Above `casework`: it uses the operations' opening (`cases.casework.skeleton`) and grounds; casework never
imports it. The engine's rules for both are in `workflow.hearing`, the policy in `policies/hearing.toml`.
"""

from __future__ import annotations

from cases.hearing.communications import (
    CommunicationForm,
    CommunicationRecorded,
    record_answer,
    record_communication,
    record_exception,
)
from cases.hearing.reading import AssessmentView, CommunicationView, HearingRecord, read_hearing

__all__ = [
    "AssessmentView",
    "CommunicationForm",
    "CommunicationRecorded",
    "CommunicationView",
    "HearingRecord",
    "read_hearing",
    "record_answer",
    "record_communication",
    "record_exception",
]
