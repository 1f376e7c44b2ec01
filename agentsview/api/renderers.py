"""JSON rendering with the project's one encoder (orjson), so API bytes equal CLI bytes."""

from __future__ import annotations

import orjson
from rest_framework.renderers import BaseRenderer


def dumps(data: object) -> bytes:
    """The one JSON encoder of API responses and CLI output."""
    return orjson.dumps(data)


class JsonRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return b"" if data is None else dumps(data)
