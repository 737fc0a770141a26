"""The flowchart engine: compiles a flowchart into a state machine and decides transitions.

Pure: no database, no Flask, no clock or randomness that is not passed in.
"""

from workflow.engine import Engine, Option, Outcome, default_flowchart, engine_for, flowchart_from_text
from workflow.errors import (
    ConsentMissing,
    GuardFailed,
    InvalidInput,
    RoleNotAllowed,
    TransitionNotAllowed,
    TransitionRefused,
    UnknownTrigger,
    VidoroError,
)
from workflow.facts import Actor, CaseFacts, CommunicationFacts, ConsentFacts, age_on
from workflow.guards import GUARDS
from workflow.interventions import InterventionFacts, InterventionMachine, Step, machine_for
from workflow.log import (
    GENESIS,
    AccessEntry,
    AdministrationEntry,
    JournalEntry,
    LogEntry,
    chain_hash,
    leaf_hash,
    payload_hash,
)
from workflow.refusals import Refusal

__all__ = [
    "GENESIS",
    "GUARDS",
    "AccessEntry",
    "Actor",
    "AdministrationEntry",
    "CaseFacts",
    "CommunicationFacts",
    "ConsentFacts",
    "ConsentMissing",
    "Engine",
    "GuardFailed",
    "InterventionFacts",
    "InterventionMachine",
    "InvalidInput",
    "JournalEntry",
    "LogEntry",
    "Option",
    "Outcome",
    "Refusal",
    "RoleNotAllowed",
    "Step",
    "TransitionNotAllowed",
    "TransitionRefused",
    "UnknownTrigger",
    "VidoroError",
    "age_on",
    "chain_hash",
    "default_flowchart",
    "engine_for",
    "flowchart_from_text",
    "leaf_hash",
    "machine_for",
    "payload_hash",
]
