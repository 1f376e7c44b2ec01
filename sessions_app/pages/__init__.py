"""The session pages of the dashboard: server-rendered over the same endpoints as the API."""
