"""One exception handler, so that every error the API answers is JSON of DRF's shape."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "request_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with a concurrent change. Try again."
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is temporarily unavailable. Try again later."
    default_code = "service_unavailable"


class UnexpectedError(exceptions.APIException):
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = "Unexpected error while handling your request."
    default_code = "error"


def exception_handler(exc, context):
    """DRF's handler, after mapping what DRF would leave to Django's HTML error pages.

    A missing object is `{"detail": "Not found."}` whatever the model, so a foreign id cannot be
    told from a missing one. A constraint violated by a concurrent write is 409, database
    outages are 503; any other unexpected exception is logged and answered with the documented
    500 body, with DEBUG on or off.
    """
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        exc = exceptions.ParseError(f"Form parse error - more than {limit} fields.")
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError()
    elif isinstance(exc, IntegrityError):
        # Writes check what they can first; what remains is a race with another request
        # (e.g. a label deleted while a user is being given it), which a retry resolves.
        logger.warning("Write conflict: %s", exc.__class__.__name__)
        exc = Conflict()
    elif isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("Database unavailable: %s", exc.__class__.__name__)
        exc = ServiceUnavailable()
    elif not isinstance(exc, exceptions.APIException):
        logger.error("Unexpected error", exc_info=exc)
        exc = UnexpectedError()
    return drf_exception_handler(exc, context)
