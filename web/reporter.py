"""(being built)"""

from flask import Blueprint

__all__ = ["bp"]

bp = Blueprint("reporter", __name__)
