"""(being built)"""

from flask import Blueprint

__all__ = ["bp"]

bp = Blueprint("case_actions", __name__)
