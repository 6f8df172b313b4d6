from rest_framework import exceptions, parsers
from rest_framework.utils.mediatypes import _MediaType


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, closed against two inputs it mishandles.

    JSON is UTF-8 (RFC 8259): a body declared in another charset is refused with 415 instead of
    being decoded into mojibake. Nesting deep enough to exhaust the recursion limit is a 400
    parse error instead of an unhandled RecursionError.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        charset = _MediaType(media_type or "").params.get("charset", "utf-8")
        if charset.lower().replace("_", "-") not in {"utf-8", "utf8"}:
            raise exceptions.UnsupportedMediaType(media_type)
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None
