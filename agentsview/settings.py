"""Django settings, driven by ``agentsview.config`` (env vars and ``<data dir>/config.toml``)."""

from __future__ import annotations

import functools
import os
import secrets
import tempfile
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import lazy

from agentsview.config import ConfigError, ensure_data_dir, load_config
from agentsview.databases import default_database, pg_database

BASE_DIR = Path(__file__).resolve().parent.parent
# The page frame's templates and static files: top level in a source checkout, inside the
# package once installed from the wheel (setup.py ships them there).
PACKAGE_DIR = Path(__file__).resolve().parent
SITE_DIR = PACKAGE_DIR if (PACKAGE_DIR / "templates").is_dir() else BASE_DIR
env = environ.Env()

try:
    # Read and checked here; the data dir is created by whatever first writes to it (the
    # entry points, the archive, the secret key), so that --help leaves no trace.
    AGENTSVIEW = load_config()
except ConfigError as exc:  # entry points check first and exit 2; this is for WSGI/pytest
    raise ImproperlyConfigured(str(exc)) from None


@functools.cache
def _secret_key() -> str:
    """DJANGO_SECRET_KEY, else ``<data dir>/secret_key``, created (mode 0600) at first use."""
    if env.str("DJANGO_SECRET_KEY", default=""):
        return env.str("DJANGO_SECRET_KEY")
    path = AGENTSVIEW.data_dir / "secret_key"
    if not path.exists():
        ensure_data_dir(AGENTSVIEW)
        fd, temporary = tempfile.mkstemp(dir=AGENTSVIEW.data_dir, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(50))
            # a link is atomic: of several workers starting at once, the first one's key wins
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


# Lazy: only what signs something (a cookie, a cursor) reads it, so --help writes no file.
SECRET_KEY = lazy(_secret_key, str)()
DEBUG = env.bool("AGENTSVIEW_DEBUG", default=False)
ALLOWED_HOSTS = env.list("AGENTSVIEW_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "agentsview.admin_site.AdminConfig",  # django.contrib.admin, its login rate-limited
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "sessions_app",
    "sync_app",
    "analytics_app",
]

MIDDLEWARE = [
    "agentsview.middleware.AllowedSubnetMiddleware",
    "agentsview.middleware.HostCheckMiddleware",
    "agentsview.middleware.NulByteMiddleware",
    # before CsrfViewMiddleware: a write to a read-only route is 405, not a CSRF 403
    "agentsview.middleware.ReadOnlyMethodsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "agentsview.middleware.LazyMessageMiddleware",  # Django's MessageMiddleware, lazy
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "agentsview.urls"
AGENTSVIEW_BASE_PATH = env.str("AGENTSVIEW_BASE_PATH", default="")
WSGI_APPLICATION = "agentsview.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SITE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": default_database(AGENTSVIEW)}
if AGENTSVIEW.pg is not None:
    DATABASES["pg"] = pg_database(AGENTSVIEW.pg)
if env.bool("AGENTSVIEW_SERVE_PG", default=False):
    # pg serve: the shared PostgreSQL is the database this process serves (accounts and
    # tokens live there too); connections persist across requests.
    if AGENTSVIEW.pg is None:
        raise ImproperlyConfigured("AGENTSVIEW_SERVE_PG is set but no [pg] url is configured")
    DATABASES["default"] = {**pg_database(AGENTSVIEW.pg), "CONN_MAX_AGE": 300,
                            "CONN_HEALTH_CHECKS": True}
DATABASE_ROUTERS = ["agentsview.db_router.AgentsViewRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Django adds SCRIPT_NAME to a relative STATIC_URL only once, at first use (start-up, before
# any request), so under --base-path the prefix is written here; WhiteNoise matches path_info,
# which no longer carries it.
STATIC_URL = f"{AGENTSVIEW_BASE_PATH.rstrip('/')}/static/" if AGENTSVIEW_BASE_PATH else "static/"
WHITENOISE_STATIC_PREFIX = "/static/"
STATICFILES_DIRS = [SITE_DIR / "static"]
# Served by WhiteNoise straight from the app and project folders: nothing to collect first.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

# --- the server (set by serve / pg_serve for their gunicorn workers) -----------------------
AGENTSVIEW_REQUIRE_AUTH = env.bool("AGENTSVIEW_REQUIRE_AUTH", default=False)
AGENTSVIEW_AUTH_TOKEN = env.str("AGENTSVIEW_AUTH_TOKEN", default="")
AGENTSVIEW_READ_ONLY = env.bool("AGENTSVIEW_READ_ONLY", default=False)
AGENTSVIEW_API_DATABASE = "default"  # the alias the API reads (tests also point it at "pg")
# What /health/db reports beyond the database itself: each a callable (params, alias) ->
# (fields to add, problems that make it 503).
AGENTSVIEW_HEALTH_CHECKS = ["sync_app.health.push_ages"]
AGENTSVIEW_ALLOWED_SUBNETS = env.list("AGENTSVIEW_ALLOWED_SUBNETS", default=[])
AGENTSVIEW_SSE_POLL_SECONDS = env.float("AGENTSVIEW_SSE_POLL_SECONDS", default=1.5)
AGENTSVIEW_SSE_HEARTBEAT_SECONDS = env.float("AGENTSVIEW_SSE_HEARTBEAT_SECONDS", default=30.0)
# watch streams the whole server holds at once (server.py: threads - 4), counted across its
# workers in this file (none: this process alone counts)
AGENTSVIEW_MAX_WATCH_STREAMS = env.int("AGENTSVIEW_MAX_WATCH_STREAMS", default=28)
AGENTSVIEW_WATCH_SLOTS_FILE = env.str("AGENTSVIEW_WATCH_SLOTS_FILE", default="")
# sign-outs and failed credentials per client address, shared by every server process here
AGENTSVIEW_ACCESS_STORE = AGENTSVIEW.data_dir / "access.sqlite3"
CSRF_TRUSTED_ORIGINS = env.list("AGENTSVIEW_TRUSTED_ORIGINS", default=[])

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agentsview.auth.BearerAuthentication",
        "agentsview.auth.DashboardSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["agentsview.auth.TokenRequiredWhenAuthOn"],
    "DEFAULT_RENDERER_CLASSES": ["agentsview.api.renderers.JsonRenderer"],
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "agentsview.api.negotiation.FirstRenderer",
    "DEFAULT_THROTTLE_CLASSES": [],
    "EXCEPTION_HANDLER": "agentsview.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AgentsView for teams",
    "DESCRIPTION": "Read-only access to archived AI coding agent sessions.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # the document is under /api/ like the rest: the same token rule
    "SERVE_AUTHENTICATION": ["agentsview.auth.BearerAuthentication"],
    "SERVE_PERMISSIONS": ["agentsview.auth.TokenRequiredWhenAuthOn"],
}

# Dashboard sign-in lives in a signed cookie for the browser session: nothing is written to
# the (possibly read-only, shared) database.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("AGENTSVIEW_TLS", default=False)
SESSION_COOKIE_NAME = "agentsview_session"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("AGENTSVIEW_LOG_LEVEL", "WARNING")},
}
