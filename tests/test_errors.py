"""One exception tree: every error class of vidoro lives in its package's errors module and derives from
`VidoroError`, so a newcomer finds every refusal in one file per package and a caller can catch them all."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

from policies.errors import VidoroError

PACKAGES = ("policies", "workflow", "cases", "web")
# The standalone verifier an auditor runs on another machine shares no code with vidoro on purpose (a second,
# independent implementation of the checks), so its two exit-status exceptions cannot derive from ours.
STANDALONE = {"workflow.vidoro_verify"}
# `web.api`'s errors module is the one that maps every refusal to its problem details (RFC 9457).
ERRORS_MODULES = {"web.api.problems"}


def _modules() -> list[ModuleType]:
    found = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        found.append(package)
        found.extend(importlib.import_module(info.name)
                     for info in pkgutil.walk_packages(package.__path__, f"{name}.")
                     if info.name not in STANDALONE)
    return found


def _error_classes(module: ModuleType) -> list[type[BaseException]]:
    """The exception classes a module defines itself (not those it imports)."""
    return [obj for obj in vars(module).values()
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__]


def test_every_package_is_walked():
    names = {module.__name__ for module in _modules()}
    assert {"policies.errors", "workflow.errors", "cases.errors", "web.errors", "cases.staff.tokens",
            "web.api.problems", "workflow.merkle"} <= names


@pytest.mark.parametrize("package", PACKAGES)
def test_error_classes_live_only_in_errors_modules(package):
    strays = {f"{module.__name__}.{cls.__name__}" for module in _modules() if module.__name__.split(".")[0] == package
              and module.__name__.rpartition(".")[2] != "errors" and module.__name__ not in ERRORS_MODULES
              for cls in _error_classes(module)}
    assert not strays, f"move these into {package}'s errors module"


def test_every_error_class_derives_from_the_base():
    strays = {f"{module.__name__}.{cls.__name__}" for module in _modules() for cls in _error_classes(module)
              if not issubclass(cls, VidoroError)}
    assert not strays, "derive these from VidoroError (policies.errors)"


def test_each_package_has_an_errors_module_with_classes():
    for package in PACKAGES:
        module = importlib.import_module(f"{package}.errors")
        assert _error_classes(module), package


def test_the_base_is_one_class_seen_from_every_layer():
    from cases.errors import CaseNotFound
    from workflow import VidoroError as from_workflow
    from workflow.errors import VidoroError as from_workflow_errors

    assert from_workflow is from_workflow_errors is VidoroError
    assert issubclass(CaseNotFound, VidoroError)
