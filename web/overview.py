"""(being built)"""

from flask import Blueprint

__all__ = ["bp"]

bp = Blueprint("overview", __name__)
