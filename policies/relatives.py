"""Support to a relative as the relative's own matter: the codes the two cases share (issue 18, item 2).

The relative's matter runs on its own flowchart (`relative_support.toml`); the subject's case records only that
a relative was told support exists, as an entry beside its steps with codes and no name.
"""

from __future__ import annotations

__all__ = ["INFORMED_CODES", "RELATIVE_INFORMED", "RELATIVE_LINK", "RELATIVE_OPENED_FROM"]

# The transition log's trigger on the subject's case: a relative was told that support exists. No step of the
# flowchart: the subject's case stays in its state (its investigation is not stopped by it).
RELATIVE_INFORMED = "relative_informed"
# The codes that entry holds, and nothing else: never a name, a relationship or the relative's case.
INFORMED_CODES = ("relative_informed", "wants_support")
# The kind of `case_links` row that links a relative's matter to the subject's case it was opened from.
RELATIVE_LINK = "relative"
# The code of the relative's registration entry saying where the matter was opened from.
RELATIVE_OPENED_FROM = "subject_case"
