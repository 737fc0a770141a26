"""A person's rights to their data (GDPR articles 15 and 16): register extracts, screened for secrecy and
released by a decision maker, and corrections as signed journal notes. Above `cases.casework` and
`cases.journal`, whose skeleton and notes it uses; nothing beneath imports it.
"""

from __future__ import annotations

from cases.subjects.corrections import CorrectionRequest, record_correction
from cases.subjects.errors import (
    DraftNotRead,
    ExtractAlreadyDecided,
    ExtractChanged,
    ExtractNotDecided,
    ExtractNotFound,
    NoRecordsFound,
)
from cases.subjects.extracts import GROUND, ExtractSummary, decide_extract, extract_pdf, request_extract

__all__ = [
    "GROUND",
    "CorrectionRequest",
    "DraftNotRead",
    "ExtractAlreadyDecided",
    "ExtractChanged",
    "ExtractNotDecided",
    "ExtractNotFound",
    "ExtractSummary",
    "NoRecordsFound",
    "decide_extract",
    "extract_pdf",
    "record_correction",
    "request_extract",
]
