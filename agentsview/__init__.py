"""AgentsView for teams: the Django project (settings, urls, router, config, console entry point)."""

__version__ = "0.1.0"
