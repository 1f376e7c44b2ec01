"""The browser dashboard: server-rendered pages over the same selectors as the API."""
