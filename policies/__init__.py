"""The rules of vidoro as data: the flowchart, its roles, vocabularies and deadlines, and their loader.

Pure: no database, no web, no clock. Everything here can be read by a person who is not a programmer.
"""

from policies.errors import PolicyError, VidoroError
from policies.flowchart import DEFAULT_PATH, RELATIVE_PATH, load_flowchart, parse_flowchart
from policies.interventions import InterventionKind, Lifecycle
from policies.model import ConsentRule, Deadline, Field, Flowchart, Label, State, Transition

__all__ = [
    "DEFAULT_PATH",
    "RELATIVE_PATH",
    "ConsentRule",
    "Deadline",
    "Field",
    "Flowchart",
    "InterventionKind",
    "Label",
    "Lifecycle",
    "PolicyError",
    "State",
    "Transition",
    "VidoroError",
    "load_flowchart",
    "parse_flowchart",
]
