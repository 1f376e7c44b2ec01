"""Session signals (health score, grade, outcome) and the analytics queries."""
