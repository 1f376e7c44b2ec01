"""Thin read-only views of /api/v1/usage/: each calls its function in
``analytics_app.endpoints.usage`` and returns JSON; the OpenAPI operation sits on it."""

from __future__ import annotations

from agentsview.api import openapi
from agentsview.api.views import ReadOnlyView, json_ok
from analytics_app import serializers
from analytics_app.endpoints import usage

TAGS = ["usage"]
DESCRIPTION = ("Over the usage records in the window of local days `[from, to]` (default: the "
               "30 days up to today) of the sessions the filters keep; subagents, one-shot and "
               "automated sessions count unless left out. Costs are exact integer "
               "microdollars; tokens of a model without a price are counted in "
               "`unpricedTokens`, never priced at 0.")


@openapi.get(
    "usage_summary", "Tokens and cost: totals, per day, per model, project, agent and "
                     "machine.", tags=TAGS, description=DESCRIPTION,
    parameters=[*usage.USAGE_FILTERS.openapi_parameters(),
                openapi.bool_query("breakdowns", "Split each day by project, agent and machine "
                                                 "too (false: those lists are empty, the "
                                                 "days' models and the window's totals stay).",
                                   default=True)],
    responses=openapi.responses(openapi.ok(serializers.USAGE_SUMMARY.serializer(),
                                           "The usage."), 400),
)
class UsageSummaryView(ReadOnlyView):
    def get(self, request):
        return json_ok(usage.summary(request.query_params, self.using))


@openapi.get(
    "usage_top_sessions", "The costliest sessions (or those with the most tokens).",
    tags=TAGS, description=DESCRIPTION + " Each session with its whole usage; an unknown "
                                         "cost ranks below every known one.",
    parameters=[*usage.USAGE_FILTERS.openapi_parameters(),
                openapi.int_query("limit", "Sessions.", minimum=1, maximum=usage.TOP_MAX_LIMIT,
                                  default=usage.TOP_DEFAULT_LIMIT),
                openapi.choice_query("sort", usage.TOP_SORTS, "cost", "Rank by cost or by "
                                                                      "total tokens.")],
    responses=openapi.responses(openapi.ok(serializers.USAGE_TOP_SESSION.serializer(many=True),
                                           "The sessions, first the costliest."), 400),
)
class UsageTopSessionsView(ReadOnlyView):
    def get(self, request):
        return json_ok(usage.top_sessions(request.query_params, self.using))
