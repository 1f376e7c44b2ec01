"""What the search page adds to the search endpoint: its filter form (the session filters a
person picks from: agent, project, machines and the kinds the list leaves out) and how many
sessions match in all when there is more than one page."""

from __future__ import annotations

from collections.abc import Mapping

from sessions_app.filters import SEARCH_FILTERS
from sessions_app.search import matching_session_ids, parse_terms
from sessions_app.selectors import filtered_sessions

ON_THE_FORM = ("project", "agent", "machine", "include_one_shot", "include_automated",
               "include_children")
SEARCH_PAGE_FILTERS = SEARCH_FILTERS.extend(
    "SearchPageFilters",
    without=[f.name for f in SEARCH_FILTERS.parameters if f.name not in ON_THE_FORM])


def search_count(params: Mapping[str, str], using: str) -> int:
    """Sessions with a message matching the query among those the filters keep (the search
    lists one hit per session)."""
    terms = parse_terms(params.get("q", ""))
    ids = matching_session_ids(using, terms) if terms else set()
    return filtered_sessions(SEARCH_FILTERS.parse(params), using=using).filter(
        id__in=ids).count()
