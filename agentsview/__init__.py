"""AgentsView for teams: the Django project (settings, urls, router, config, entry point)."""

__version__ = "0.1.0"
