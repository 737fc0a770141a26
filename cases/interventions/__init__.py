"""Interventions as records of their own (flowchart version 3 on, issue 18): SIG, exit support and other
interventions, each with its own lifecycle and consent, several running at once beside the case's steps.
"""

from cases.interventions.operations import (
    InterventionFired,
    InterventionForm,
    expire_consents,
    fire_intervention,
    intervention_options,
    propose_intervention,
)
from cases.interventions.reading import InterventionView, intervention, intervention_goal, interventions_of

__all__ = [
    "InterventionFired",
    "InterventionForm",
    "InterventionView",
    "expire_consents",
    "fire_intervention",
    "intervention",
    "intervention_goal",
    "intervention_options",
    "interventions_of",
    "propose_intervention",
]
