"""The version of the scoring rules, stored on every session as ``quality_signal_version``."""

from __future__ import annotations

# Bump it when a rule changes what a session's signals would be: the next sync re-scores every
# archived session from its stored rows (sessions_app.services.rescore.rescore_outdated) and
# the next push sends them. Read it as ``version.SCORING_VERSION`` (at call time), so that a
# bump, or a test that patches it, reaches the computation and the re-scoring alike.
SCORING_VERSION = 6
