"""The rules of vidoro as data: the flowchart, its roles, vocabularies and deadlines, and their loader.

Pure: no database, no web, no clock. Everything here can be read by a person who is not a programmer.
"""

from policies.flowchart import DEFAULT_PATH, load_flowchart, parse_flowchart
from policies.model import ConsentRule, Deadline, Field, Flowchart, Label, PolicyError, State, Transition

__all__ = [
    "DEFAULT_PATH",
    "ConsentRule",
    "Deadline",
    "Field",
    "Flowchart",
    "Label",
    "PolicyError",
    "State",
    "Transition",
    "load_flowchart",
    "parse_flowchart",
]
