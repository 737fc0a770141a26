"""Concerns from every source: completing the identity of a person first known by name and approximate age.

Registration itself (every source, anonymous or named reporters, an approximate age) is
`cases.casework.operations.register_concern` with the checks of `cases.casework.forms`.
"""

from cases.sources.identity import IdentityCompleted, complete_identity

__all__ = ["IdentityCompleted", "complete_identity"]
