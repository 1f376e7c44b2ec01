"""The read-only JSON API under /api/v1 (DRF views; shapes from sessions_app.serializers)."""
