"""Content negotiation: DRF's, with a short cut for what nearly every API request sends."""

from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's choice of renderer, made without parsing anything when the request asks for no
    format (no suffix, no query string, so no `?format=`) and accepts anything (`*/*`, or no
    Accept header) or exactly the first renderer's media type: DRF then picks the first renderer
    with its own media type. Every other request takes DRF's way; a test compares the two."""

    def select_renderer(self, request, renderers, format_suffix=None):
        first = renderers[0]
        if (
            format_suffix is None
            and not request.META.get("QUERY_STRING")
            and request.META.get("HTTP_ACCEPT", "*/*") in ("*/*", first.media_type)
        ):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
