"""Django's PostgreSQL backend with a health check that needs no round trip while the
connection is quiet (``base.DatabaseWrapper``)."""
