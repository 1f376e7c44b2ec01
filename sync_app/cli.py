"""What the PostgreSQL commands share: config checks, flag parsing, connecting and migrating."""

from __future__ import annotations

import argparse

from agentsview.config import Config, PgConfig
from agentsview.terminal import Reporter
from sync_app.pg_connection import PgError, check_transport, connect
from sync_app.schema import open_for_writing
from sync_app.services.push import Scope


def project_list(text: str) -> tuple[str, ...]:
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected one or more project names, comma-separated")
    return names


def add_scope_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--projects", type=project_list, metavar="A,B",
                        help=f"{what} only these projects (comma-separated)")
    parser.add_argument("--exclude-projects", type=project_list, metavar="X,Y",
                        help=f"{what} every project except these")


def pg_config_or_fail(config: Config, command: str) -> PgConfig:
    if config.pg is None:
        raise PgError(
            f"{command}: url not configured (set [pg] url in {config.config_path}"
            " or AGENTSVIEW_PG_URL)"
        )
    return config.pg


def scope_from(pg: PgConfig, projects, exclude_projects, command: str) -> Scope:
    if projects and exclude_projects:
        raise PgError(f"{command}: --projects and --exclude-projects are mutually exclusive")
    if projects or exclude_projects:
        return Scope(tuple(projects or ()), tuple(exclude_projects or ()))
    return Scope(pg.projects, pg.exclude_projects)


def prepare_pg(pg: PgConfig, command: str, reporter: Reporter, *, migrate: bool = True) -> None:
    """TLS rule, then connect, then (for writers) apply pending migrations under a lock."""
    warning = check_transport(pg, command)
    if warning:
        reporter.stderr.write(warning)
    if migrate:
        open_for_writing(pg, command)
    else:
        connect("pg", pg, command)
