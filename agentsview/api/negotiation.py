"""The API speaks one format: it never answers 406 to an Accept header it did not expect
(a browser's EventSource sends ``Accept: text/event-stream``)."""

from __future__ import annotations

from rest_framework.negotiation import BaseContentNegotiation


class FirstRenderer(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
