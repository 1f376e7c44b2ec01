"""Test settings: isolate HOME, the data dir and every agent directory *before* the project
settings read them, so no test can touch this machine's real agent folders."""

import os
import tempfile
from pathlib import Path

from sessions_app.parsers.registry import AGENTS

_ROOT = Path(tempfile.mkdtemp(prefix="agentsview-tests-"))
(_ROOT / "home").mkdir()
(_ROOT / "data").mkdir()
(_ROOT / "agents-empty").mkdir()
os.environ["HOME"] = str(_ROOT / "home")
os.environ["AGENTSVIEW_DATA_DIR"] = str(_ROOT / "data")
for _spec in AGENTS.values():
    os.environ[_spec.env_var] = str(_ROOT / "agents-empty")
for _var in ("DATABASE_URL", "AGENTSVIEW_PG_MACHINE", "AGENTSVIEW_PG_SCHEMA"):
    os.environ.pop(_var, None)
os.environ["AGENTSVIEW_PG_URL"] = os.environ.get(
    "AGENTSVIEW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/agentsview"
)
os.environ["AGENTSVIEW_PG_MACHINE"] = "test-machine"

from agentsview.settings import *  # noqa: E402,F403

TEST_TMP_ROOT = _ROOT
