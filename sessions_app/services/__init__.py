"""Writes to the archive: ingesting parsed sessions, and the sync that drives it."""
