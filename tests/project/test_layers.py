"""The layers match the folders: dependencies run ``agentsview <- sessions_app <- {sync_app,
analytics_app}``, and no module imports another package's private names (README, "Where
things live")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("agentsview", "sessions_app", "sync_app", "analytics_app")
# The composition root names the apps (settings, URLs, the console script); config reads the
# agent registry, the one declaration of every agent's directories.
COMPOSITION_ROOT = {
    "agentsview.settings", "agentsview.urls", "agentsview.wsgi", "agentsview.cli",
}
ALLOWED = {
    "agentsview": {"agentsview"},
    "sessions_app": {"agentsview", "sessions_app"},
    "sync_app": {"agentsview", "sessions_app", "sync_app"},
    "analytics_app": {"agentsview", "sessions_app", "analytics_app"},
}
EXCEPTIONS = {
    # writing a session computes its signals: ingest may call analytics' pure scoring code
    ("sessions_app.services", "analytics_app.scoring"),
    # ... and each session's tool-outcome summary (pure code, stored with the rollups)
    ("sessions_app.services", "analytics_app.tool_outcomes"),
    # the agent directories of config.toml come from the registry's declarations
    ("agentsview.config", "sessions_app.parsers.registry"),
}


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found.append((name.removesuffix(".__init__"), path))
    return found


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every import statement, wherever it is (lazy ones too)."""
    result = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            result.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            result.append((node.module, [alias.name for alias in node.names]))
    return result


def allowed(importer: str, target: str) -> bool:
    top = importer.split(".")[0]
    target_top = target.split(".")[0]
    if target_top not in PACKAGES or target_top in ALLOWED[top]:
        return True
    if importer in COMPOSITION_ROOT:
        return True
    return any(importer.startswith(a) and (target == b or target.startswith(b + "."))
               for a, b in EXCEPTIONS)


@pytest.mark.parametrize(("name", "path"), modules(), ids=[n for n, _ in modules()])
def test_dependencies_run_one_way(name, path):
    for target, names in imports(path):
        ok = allowed(name, target) or (
            bool(names) and all(allowed(name, f"{target}.{n}") for n in names))
        assert ok, f"{name} imports {target} {names}"


@pytest.mark.parametrize(("name", "path"), modules(), ids=[n for n, _ in modules()])
def test_no_private_name_of_another_package_is_imported(name, path):
    for target, names in imports(path):
        if target.split(".")[0] == name.split(".")[0]:
            continue
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{name} imports {private} from {target}"


def test_the_rule_catches_a_violation():
    assert not allowed("sessions_app.selectors", "sync_app.models")
    assert not allowed("agentsview.web", "sessions_app.models")
    assert not allowed("sessions_app.pages.views", "analytics_app.endpoints")
    assert allowed("sessions_app.services.ingest", "analytics_app.scoring")
    assert allowed("analytics_app.endpoints.filters", "sessions_app.filters")
