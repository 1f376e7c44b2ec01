"""Every library the code imports is declared in pyproject.toml: the program's own in
``dependencies``, the tests' in the ``dev`` extra (a fresh install gets them all)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OURS = {"agentsview", "sessions_app", "sync_app", "analytics_app", "tests", "bench"}


def third_party(folders: tuple[str, ...]) -> set[str]:
    found = set()
    for folder in folders:
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module] if isinstance(node, ast.ImportFrom) and node.module
                         and node.level == 0 else [])
                found.update(n.split(".")[0] for n in names)
    local = {p.stem for p in (REPO / "bench").glob("*.py")}  # the benchmarks import each other
    return {n for n in found if n not in sys.stdlib_module_names and n not in OURS | local}


def declared(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower().replace("_", "-")
            for r in requirements}


def distributions(module: str) -> set[str]:
    return {d.lower().replace("_", "-") for d in packages_distributions().get(module, [])}


def test_every_imported_library_is_declared():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = declared(project["dependencies"])
    dev = declared(project["optional-dependencies"]["dev"])
    for module in third_party(("agentsview", "sessions_app", "sync_app", "analytics_app")):
        assert distributions(module) & runtime, f"{module} is not in [project] dependencies"
    for module in third_party(("tests", "bench")):
        assert distributions(module) & (runtime | dev), f"{module} is not declared"


def test_the_check_knows_an_undeclared_library():
    assert "markdown-it-py" in distributions("markdown_it")
    assert not distributions("markdown_it") & declared(["Django>=5.2"])
