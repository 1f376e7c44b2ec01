"""The analytics endpoints under /api/v1/analytics/."""
