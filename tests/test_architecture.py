"""The layers and the homes hold: imports go web → cases → workflow → policies and never back up; the
command line and the pages call operations and never query models; the audit logs know nothing of the
casework they record; the engine keeps only what the layers above it need.

Read from the source with `ast`, so a lazy import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("policies", "workflow", "cases", "web")  # lowest first: a package imports its own layer or lower ones
# Pure layers reach no database, no web framework and no server (DESIGN.md §6).
PURE_LAYERS = ("policies", "workflow")
IMPURE = ("sqlalchemy", "alembic", "psycopg", "flask", "flask_babel", "flask_wtf", "flask_openapi3", "werkzeug",
          "waitress")

# What web/ may take from SQLAlchemy, each with why; anything else (select, text, sessions, Core) is a query
# and belongs in an operation in cases/.
WEB_MAY_IMPORT = {
    # the database's own errors reach the edge: an IntegrityError is a twin request (web/api/support.py),
    # an OperationalError or a SQLAlchemyError a database out of reach (the command line, the health check)
    ("sqlalchemy.exc", None): "errors only",
    # shows the configured database URL with its password hidden
    ("sqlalchemy.engine", "make_url"): "parses a URL, runs nothing",
}
# Calls that run statements or open a transaction: the pages and the command line leave them to cases/.
QUERYING_CALLS = frozenset({"execute", "scalar", "scalars", "query", "connect", "get_bind", "read_rows", "begin"})
OPENING_CALLS = frozenset({"read", "write", "snapshot"})  # `with db.read() as session:` and its kin

# Subpackages of cases/ and the ones each must not import (built from names, so that no rewrite of module
# paths touches them): the logs are beneath the work they record.
SUBPACKAGES_BENEATH = {
    "crypto": ("audit", "casework", "staff", "reports", "links", "journal", "decisions", "hearing", "relatives",
               "subjects"),
    "audit": ("casework", "staff", "reports", "links", "journal", "decisions", "hearing", "relatives", "subjects"),
    "staff": ("casework", "reports", "links", "journal", "decisions", "hearing", "relatives", "subjects"),
    # links, the journal, the decisions' reads, kommunicering and assessments, and a relative's own matter sit
    # above the casework whose skeleton and grounds they use
    "casework": ("links", "journal", "decisions", "hearing", "relatives", "subjects"),
    # a register extract reads every record of a person's cases and writes corrections as journal notes
    "journal": ("subjects",),
    "decisions": ("subjects",),
    # notifications are made inside the casework's transactions, and know nothing of it
    "notifications": ("casework", "staff", "reports", "links", "journal", "decisions", "hearing", "relatives",
                      "interventions"),
}
MAX_MODULES = 15  # a package past it is asking for subpackages (STYLE.md 8, 11)
# workflow/ modules that nothing in cases/ or workflow/ imports, and why they are still the engine's
ENGINE_TOOLS = {"workflow.vidoro_verify": "the auditors' standalone verifier, run on its own"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted
    names: tuple[str, ...]  # for `from target import names`; empty for `import target`
    line: int

    def where(self) -> str:
        names = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.module}:{self.line} imports {self.target}{names}"


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "versions" in parts:  # migrations are frozen history: they import what their day had
            continue
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _imports(module: str, path: Path) -> Iterator[Import]:
    is_package = path.name == "__init__.py"
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:  # relative: resolve against the importing module's package
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, target] if target else base)
            yield Import(module, target, tuple(a.name for a in node.names), node.lineno)


@cache
def _all_imports(*packages: str) -> list[Import]:
    return [found for package in packages for module, path in _modules(package) for found in _imports(module, path)]


def _targets(found: Import) -> tuple[str, ...]:
    """The modules an import can bind: `from cases import log` binds `cases.audit.log` as well as `cases`."""
    return (found.target, *(f"{found.target}.{name}" for name in found.names))


def _within(target: str, modules: tuple[str, ...]) -> bool:
    return any(target == m or target.startswith(m + ".") for m in modules)


def test_every_layer_is_found():
    for package in LAYERS:
        assert any(True for _ in _modules(package)), f"no modules in {package}/: the test reads the wrong tree"
    for sub in SUBPACKAGES_BENEATH:
        assert (ROOT / "cases" / sub / "__init__.py").is_file(), f"cases/{sub}/ moved: update SUBPACKAGES_BENEATH"


def test_imports_go_down_only():
    wrong = []
    for found in _all_imports(*LAYERS):
        own = LAYERS.index(found.module.split(".")[0])
        top = found.target.split(".")[0]
        if top in LAYERS and LAYERS.index(top) > own:
            wrong.append(found.where())
    assert not wrong, "imports go web → cases → workflow → policies, never up:\n" + "\n".join(wrong)


def test_pure_layers_reach_no_database_and_no_web():
    wrong = [found.where() for found in _all_imports(*PURE_LAYERS) if found.target.split(".")[0] in IMPURE]
    assert not wrong, "\n".join(wrong)


def test_the_pages_and_the_command_line_never_query_models():
    wrong = []
    for found in _all_imports("web"):
        if any(_within(t, ("cases.models",)) for t in _targets(found)):
            wrong.append(found.where())
        elif found.target.split(".")[0] == "sqlalchemy":
            allowed = (found.target, None) in WEB_MAY_IMPORT or (
                found.names and all((found.target, name) in WEB_MAY_IMPORT for name in found.names))
            if not allowed:
                wrong.append(found.where())
    for module, path in _modules("web"):
        for node in ast.walk(_tree(path)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in QUERYING_CALLS):
                wrong.append(f"{module}:{node.lineno} calls .{node.func.attr}()")
            if isinstance(node, ast.With):
                for item in node.items:
                    call = item.context_expr
                    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                            and call.func.attr in OPENING_CALLS and not call.args):
                        wrong.append(f"{module}:{node.lineno} opens a session (.{call.func.attr}())")
    assert not wrong, "web/ calls operations in cases/; these query models themselves:\n" + "\n".join(wrong)


def test_the_audit_logs_know_nothing_of_the_casework():
    wrong = []
    for lower, uppers in SUBPACKAGES_BENEATH.items():
        forbidden = tuple(f"cases.{upper}" for upper in uppers)
        wrong += [found.where() for found in _all_imports("cases")
                  if _within(found.module, (f"cases.{lower}",)) and any(_within(t, forbidden) for t in _targets(found))]
    assert not wrong, "the logs are beneath the work they record:\n" + "\n".join(wrong)


@pytest.mark.parametrize("module", [m for m, _ in _modules("workflow") if m != "workflow"])
def test_the_engine_keeps_only_what_it_needs(module):
    """A workflow/ module that only web/ uses (a drawing, a page's helper) belongs with web/, not the engine."""
    if module in ENGINE_TOOLS:
        return
    users = {found.module for found in _all_imports("workflow", "cases")
             if found.module != module and any(_within(t, (module,)) for t in _targets(found))}
    assert users, f"{module}: nothing in cases/ or workflow/ uses it; move it to where its callers are"


@pytest.mark.parametrize("package", ["policies", "workflow", "cases", "web.api", "cases.casework",
                                     "cases.journal", "cases.audit", "cases.crypto", "cases.staff", "cases.reports",
                                     "cases.decisions", "cases.hearing", "cases.relatives", "cases.subjects",
                                     "cases.jobs", "cases.notifications", "cases.deadlines", "cases.retention",
                                     "cases.backup", "cases.inbox", "policies.routines", "web.api.routes"])
def test_no_package_outgrows_a_head(package):
    folder = ROOT.joinpath(*package.split("."))
    modules = sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")
    assert len(modules) <= MAX_MODULES, f"{package} holds {len(modules)} modules: group them by concern"
