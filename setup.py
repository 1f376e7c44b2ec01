"""The package layout, which pyproject.toml cannot express: the project-wide ``templates/``
and ``static/`` (top level in the source tree, beside the apps) ship inside the installed
``agentsview`` package, as ``agentsview/templates`` and ``agentsview/static``, where
``agentsview/settings.py`` looks for them first. Everything else is in pyproject.toml."""

from pathlib import Path

from setuptools import find_namespace_packages, setup

APPS = ("agentsview", "sessions_app", "sync_app", "analytics_app")
SHIPPED = {"agentsview.templates": "templates", "agentsview.static": "static"}


def shipped_packages() -> list[str]:
    """Each shipped folder and its subfolders, as packages of data files."""
    names = []
    for package, folder in SHIPPED.items():
        for sub in sorted(p for p in [Path(folder), *Path(folder).rglob("*")] if p.is_dir()):
            names.append(".".join([package, *sub.relative_to(folder).parts]))
    return names


APP_PACKAGES = find_namespace_packages(include=[f"{app}*" for app in APPS],
                                       exclude=["*__pycache__*"])

setup(
    packages=[*APP_PACKAGES, *shipped_packages()],
    package_dir=SHIPPED,
    package_data={
        # the apps' templates, assets and data (the price table), and every file of the
        # shipped folders
        "": ["*.html", "*.txt", "*.css", "*.js", "*.svg", "*.json", "*.toml"],
        **{name: ["*"] for name in shipped_packages()},
    },
)
