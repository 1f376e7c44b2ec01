"""Writes to the shared PostgreSQL: the push, and the verification of what it holds."""
