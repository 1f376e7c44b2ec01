"""The HTTP floor of ``pg serve``: a WSGI application that answers every request with a
fixed small JSON body and does nothing else (no Django, no database).

``api_bench.py --floor`` serves it with gunicorn under the very options ``pg serve`` passes
(worker class, workers, threads, access log) and measures it with the same client as the
API rows, so what gunicorn, the loopback socket and the load generator cost on this machine
shows beside what a request of ours costs."""

from __future__ import annotations

BODY = b'{"ok":true,"service":"floor"}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
