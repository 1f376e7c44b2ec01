"""Schemathesis hooks for tests/agentsview/test_api_contract.py (loaded by the schemathesis
process through SCHEMATHESIS_HOOKS).

A schema states each parameter alone, so schemathesis takes some requests for valid that the
API refuses by a rule between parameters (or by a server-made token): ``date`` with
``date_from``, ``min_messages`` above ``max_messages``, ``from`` after ``to``, ``from`` or
``direction`` with ``around``, a ``cursor`` the server did not sign. Each rule is stated in the
description of its parameters. ``positive_data_acceptance_but_cross_parameter_rules`` is
schemathesis' own ``positive_data_acceptance`` that lets exactly those 400s through, by their
message; every other check still sees these responses.
"""

from __future__ import annotations

import re

import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

CROSS_PARAMETER_RULES = re.compile(
    r'\{"error":"(?:'
    r"date excludes date_from/date_to \(query\.date: "
    r"|date_from is after date_to \(query\.date_from: "
    r"|min_messages exceeds max_messages \(query\.min_messages: "
    r"|from is after to=[0-9-]+ \(query\.from: "
    r"|cannot be combined with around \(query\.(?:from|direction): "
    r"|invalid cursor \(query\.cursor: "
    # rules the schema's pattern cannot state: a key twice or too many, too many ids, a
    # regular expression that does not compile, an fts pattern without a word, a since
    # that looks right but is no day
    r"|\w[\w-]* given twice \(query\.order_by: "
    r"|at most \d+ (?:keys|ids) \(query\.(?:order_by|ids): "
    r"|invalid regular expression: .* \(query\.pattern: "
    r"|no words to search for \(query\.pattern: "
    r"|expected 28d, 2w, 3m, 1y or YYYY-MM-DD \(query\.since: "
    r")"
)


@schemathesis.check
def positive_data_acceptance_but_cross_parameter_rules(ctx, response, case):
    if response.status_code == 400 and CROSS_PARAMETER_RULES.match(response.text):
        return None
    return positive_data_acceptance(ctx, response, case)
