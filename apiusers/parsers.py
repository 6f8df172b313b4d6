"""DRF's parsers, closed against inputs they would turn into 500s or into silently wrong data."""

from urllib.parse import parse_qsl

from django.http import QueryDict
from rest_framework import exceptions, parsers
from rest_framework.utils.mediatypes import _MediaType

REPLACEMENT_CHARACTER = "\ufffd"


class JSONParser(parsers.JSONParser):
    """JSON is UTF-8 (RFC 8259): a body declared in another charset is refused with 415 instead of
    being decoded into mojibake. Nesting deep enough to exhaust the recursion limit is a 400
    parse error instead of an unhandled RecursionError."""

    def parse(self, stream, media_type=None, parser_context=None):
        charset = _MediaType(media_type or "").params.get("charset", "utf-8")
        if charset.lower().replace("_", "-") not in {"utf-8", "utf8"}:
            raise exceptions.UnsupportedMediaType(media_type)
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None


class FormParser(parsers.FormParser):
    """Django decodes form fields leniently, storing U+FFFD (or Latin-1 guesses) for bytes that
    are not valid in the body's charset; such a body is refused instead."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        body = stream.read()
        try:
            parse_qsl(
                body.decode(encoding), keep_blank_values=True, encoding=encoding, errors="strict"
            )
        except UnicodeDecodeError:
            raise exceptions.ParseError(
                f"Form parse error - the body is not valid {encoding.upper()}."
            ) from None
        return QueryDict(body, encoding=encoding)


class MultiPartParser(parsers.MultiPartParser):
    """Django's multipart parser replaces undecodable bytes with U+FFFD, and the original bytes
    are gone by then: a field holding U+FFFD is taken as such a body and refused.

    No field takes a file, and a file part would be dropped unseen (a `name` sent as a file
    would leave the name as it is): a body with one is refused."""

    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        if result.files:
            raise exceptions.ParseError("Multipart form parse error - file parts are not accepted.")
        if not result.data and self.holds_more_than_its_end(media_type, parser_context or {}):
            # Django skips what is not a well-formed part: a body of such bytes only would be
            # taken for an empty form, and a PATCH would answer 200 having read nothing.
            raise exceptions.ParseError(
                "Multipart form parse error - the body holds no part that could be read."
            )
        for key, values in result.data.lists():
            if any(REPLACEMENT_CHARACTER in text for text in (key, *values)):
                encoding = parsers.get_encoding(parser_context or {})
                raise exceptions.ParseError(
                    f"Multipart form parse error - the body is not valid {encoding.upper()}."
                )
        return result

    @staticmethod
    def holds_more_than_its_end(media_type, parser_context) -> bool:
        """Whether the body is longer than an empty form's: its closing boundary line."""
        boundary = _MediaType(media_type or "").params.get("boundary", "")
        request = parser_context.get("request")
        length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        return length > len(f"--{boundary}--\r\n") + 2
