"""Case records and the operations that change them, each in one database transaction.

Depends on `workflow` (the engine) and `policies` (the flowchart); never on `web`.
"""

from cases.casework.consents import ConsentForm, record_consent, withdraw_consent
from cases.casework.forms import ConcernForm
from cases.casework.operations import Fired, available_triggers, fire_trigger, register_concern
from cases.crypto.identity import IdentityNumber, parse_identity_number
from cases.db import Database
from cases.errors import CaseNotFound, InvalidConcern, InvalidIdentityNumber, NotPermitted, StaleCase, TokenRefused
from cases.staff.members import add_staff
from cases.staff.tokens import authenticate_token, create_token, list_tokens, revoke_token

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
    "TokenRefused",
    "add_staff",
    "authenticate_token",
    "available_triggers",
    "create_token",
    "fire_trigger",
    "list_tokens",
    "parse_identity_number",
    "record_consent",
    "register_concern",
    "revoke_token",
    "withdraw_consent",
]
