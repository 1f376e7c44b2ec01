"""Terminal output of the analytics commands (health, stats)."""
