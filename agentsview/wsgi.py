"""WSGI entry point for gunicorn, with the optional base path (``--base-path``)."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from agentsview.config import ensure_data_dir

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentsview.settings")


class BasePath:
    """Serve the app under a prefix: ``/prefix/...`` reaches Django with SCRIPT_NAME set, so
    every URL it builds (static ones too) carries the prefix; anything else is 404, including
    ``/prefixFOO``."""

    def __init__(self, app, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
            environ["PATH_INFO"] = path[len(self.prefix):] or "/"
            return self.app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"error":"not found"}']


application = get_wsgi_application()
# The local archive (SQLite) lives in the data dir: a server started without our entry point
# creates it here, as the entry points do.
ensure_data_dir(settings.AGENTSVIEW)
if os.environ.get("AGENTSVIEW_BASE_PATH"):
    application = BasePath(application, os.environ["AGENTSVIEW_BASE_PATH"])
