"""(being built)"""

from flask import Blueprint

__all__ = ["bp"]

bp = Blueprint("admin", __name__)
