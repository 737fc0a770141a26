"""Staff: accounts and sign-in, sessions, API tokens, roles and the grants a second administrator approves,
administration, and rate limits.
"""

from __future__ import annotations

from cases.staff.accounts import Account
from cases.staff.members import add_staff
from cases.staff.tokens import authenticate_token, create_token

__all__ = [
    "Account",
    "add_staff",
    "authenticate_token",
    "create_token",
]
