"""(being built)"""

from flask import Blueprint

__all__ = ["bp"]

bp = Blueprint("audit", __name__)
