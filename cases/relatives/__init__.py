"""Support to a relative: the relative's own matter, opened from the subject's case and linked to it (issue 18).

Above `cases.casework`: it opens the subject's case as every case operation does and registers the relative's
matter on its own flowchart (`policies/relative_support.toml`).
"""

from cases.relatives.informing import RELATIONSHIPS, RelativeForm, RelativeInformed, caseworkers, inform_relative

__all__ = ["RELATIONSHIPS", "RelativeForm", "RelativeInformed", "caseworkers", "inform_relative"]
