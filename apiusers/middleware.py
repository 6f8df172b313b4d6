"""Middleware that keeps the JSON-only promise outside DRF's own views."""

import io

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import JsonResponse
from rest_framework.response import Response

from .bodies import chunked, declared_length, read_at_most
from .exceptions import RequestTooLarge, UnexpectedError


# Byte for byte what DRF's JSONRenderer writes, so that a 404 from a URL that matches no route
# and one from a view look the same.
def json_error(detail: str, status: int) -> JsonResponse:
    return JsonResponse(
        {"detail": detail}, status=status, json_dumps_params={"separators": (",", ":")}
    )


DETAILS = {
    400: "Bad request.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    405: "Method not allowed.",
    413: RequestTooLarge.default_detail,
    500: UnexpectedError.default_detail,
}


class JsonErrorMiddleware:
    """Turn Django's own error pages (unknown URL, bad Host header, an error raised in another
    middleware, DEBUG's technical pages) into `{"detail": ...}` JSON.

    DRF responses and the HTML pages meant for people (admin, log-in, docs) pass unchanged.
    """

    HTML_PREFIXES = ("/admin/", "/api-auth/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and not isinstance(response, Response | JsonResponse)
            and not request.path.startswith(self.HTML_PREFIXES)
        ):
            detail = DETAILS.get(
                response.status_code, DETAILS[500 if response.status_code >= 500 else 400]
            )
            return json_error(detail, response.status_code)
        return response


class BodySizeLimitMiddleware:
    """Refuse a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE with 413, before anything reads
    more of it. Django applies that limit to form fields only, not to uploaded file parts.

    A chunked body (`Transfer-Encoding: chunked`) has no Content-Length, and Django would read
    it as empty: a PATCH would answer 200 having changed nothing. It is read here, at most one
    byte past the limit, and handed on with its length. That needs a server that passes the body
    on dechunked and ended (`wsgi.input_terminated`, as gunicorn does); on any other (Django's
    runserver) reading could block, so a chunked body is a 411 there.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if chunked(request.META):
            if not request.META.get("wsgi.input_terminated"):
                return json_error(LENGTH_REQUIRED, 411)
            body = read_at_most(request.META["wsgi.input"], limit)
            length = len(body)
            request.META["CONTENT_LENGTH"] = str(length)
            # What WSGIRequest builds from CONTENT_LENGTH, which it read before this ran.
            request._stream = LimitedStream(io.BytesIO(body), length)
        elif (length := declared_length(request.META)) is None:
            return json_error(DETAILS[400], 400)
        if limit is not None and length > limit:
            return json_error(DETAILS[413], 413)
        return self.get_response(request)


LENGTH_REQUIRED = "A chunked body needs Content-Length on this server."
