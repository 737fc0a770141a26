"""(being built)"""

from flask import Blueprint

__all__ = ["bp"]

bp = Blueprint("partner", __name__)
