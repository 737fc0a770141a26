"""Case records and the operations that change them, each in one database transaction.

Depends on `workflow` (the engine) and `policies` (the flowchart); never on `web`.
"""

from cases.consents import ConsentForm, record_consent, withdraw_consent
from cases.db import Database
from cases.errors import CaseNotFound, InvalidConcern, InvalidIdentityNumber, NotPermitted, StaleCase
from cases.forms import ConcernForm
from cases.identity import IdentityNumber, parse_identity_number
from cases.operations import Fired, available_triggers, fire_trigger, register_concern
from cases.staff import add_staff

__all__ = [
    "CaseNotFound",
    "ConcernForm",
    "ConsentForm",
    "Database",
    "Fired",
    "IdentityNumber",
    "InvalidConcern",
    "InvalidIdentityNumber",
    "NotPermitted",
    "StaleCase",
    "add_staff",
    "available_triggers",
    "fire_trigger",
    "parse_identity_number",
    "record_consent",
    "register_concern",
    "withdraw_consent",
]
