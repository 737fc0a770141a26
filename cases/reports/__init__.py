"""What is read across cases without opening them: the coordinator's de-identified statistics, the service's
gauges for its metrics, and the generated demo data.
"""

from __future__ import annotations

from cases.reports.demo import fill_demo
from cases.reports.statistics import local_picture

__all__ = [
    "fill_demo",
    "local_picture",
]
