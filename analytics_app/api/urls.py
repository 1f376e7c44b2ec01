"""Routes of /api/v1/analytics/ (filled in by the analytics issue)."""

urlpatterns: list = []
