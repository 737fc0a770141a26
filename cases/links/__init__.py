"""The links between a case and the earlier cases about the same person, shown only where both may be read.

Above `cases.casework`: it asks the grounds there whether a member of staff may read each case.
"""

from cases.links.earlier import EARLIER, LATER, RELATIVE_MATTER, SUBJECT_CASE, LinkedCase, linked_cases

__all__ = ["EARLIER", "LATER", "RELATIVE_MATTER", "SUBJECT_CASE", "LinkedCase", "linked_cases"]
