"""What every app's admin shares: the site (its sign-in slowed down like the dashboard's), the
database the admin serves, and a paginator that never counts a big table.

The admin is the one place that writes on ``pg serve``: staff accounts only, behind Django's
login and CSRF protection, every change in Django's admin log.
"""

from __future__ import annotations

import json
from functools import cached_property

from django.contrib.admin import AdminSite as DjangoAdminSite
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.core.paginator import Paginator
from django.db import connections
from django.http import HttpResponse

# Up to this many rows a list is counted exactly; beyond, PostgreSQL's planner estimates.
COUNT_CAP = 10_000


class AdminSite(DjangoAdminSite):
    site_header = "AgentsView admin"
    site_title = "AgentsView admin"
    index_title = "Clean up the archive"

    def login(self, request, extra_context=None):
        """Django's login, with the wrong-credential limit of the dashboard's sign-in: after
        10 failures from one address within a minute, 429 until the oldest is a minute old
        (a valid account that is not staff counts as a failure)."""
        from agentsview.auth import locked_out, record_failure

        if request.method != "POST":
            return super().login(request, extra_context)
        wait = locked_out(request)
        if wait is not None:
            return HttpResponse(f"Too many failed sign-ins from this address. Try again in"
                                f" {wait} s.\n", status=429, content_type="text/plain",
                                headers={"Retry-After": str(wait)})
        response = super().login(request, extra_context)
        if response.status_code == 200:  # the form again: the credentials were refused
            record_failure(request)
        return response


class AdminConfig(DjangoAdminConfig):
    default_site = "agentsview.admin_site.AdminSite"


def admin_database() -> str:
    """The database whose sessions the admin shows and changes: the one this process serves
    (the shared PostgreSQL under ``pg serve``). Accounts and the admin log stay in
    ``default``."""
    from django.conf import settings

    return settings.AGENTSVIEW_API_DATABASE


class CappedCountPaginator(Paginator):
    """Counts at most ``COUNT_CAP`` + 1 rows (a ``LIMIT`` inside the count); a longer list
    on PostgreSQL gets the planner's estimate of its rows instead, and ``estimated`` says
    so. healthchecks' admin does the same for its pings."""

    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        capped = queryset.order_by()[:COUNT_CAP + 1].count()
        if capped <= COUNT_CAP:
            return capped
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return queryset.count()
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        self.estimated = True
        return max(COUNT_CAP + 1, int(plan[0]["Plan"]["Plan Rows"]))
