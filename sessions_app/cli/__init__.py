"""The session CLI: how it reaches the sessions (transport) and how it prints them (render)."""
