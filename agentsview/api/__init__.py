"""Shared DRF plumbing of every app's API: base views, the JSON renderer, the error format,
query-parameter parsing and the OpenAPI helpers."""
