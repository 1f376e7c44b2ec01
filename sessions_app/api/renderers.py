"""JSON rendering with the project's one encoder (orjson), so API bytes equal CLI bytes."""

from __future__ import annotations

from rest_framework.renderers import BaseRenderer

from sessions_app.dto import dumps


class JsonRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return b"" if data is None else dumps(data)
