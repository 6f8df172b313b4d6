"""Conditional requests (RFC 9110): an object's ETag, and `If-Match` / `If-None-Match`.

The ETag is a digest of the object's representation as the API renders it, so it changes
exactly when the representation does: renaming one of an API user's labels moves the user's tag,
a PATCH that changes nothing does not. Tags are strong; `If-Match` compares them strongly (a
weak tag, `W/"..."`, never matches) and `*` matches any existing object.
"""

import hashlib

from rest_framework import exceptions, status

from .renderers import JSONRenderer


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = (
        "The object has changed since the version your If-Match names: nothing was changed. "
        "Read it again (its ETag is in the answer) and retry."
    )
    default_code = "precondition_failed"


def etag_of(representation) -> str:
    digest = hashlib.sha256(JSONRenderer().render(representation)).hexdigest()
    return f'"{digest[:32]}"'


def matches(header: str, etag: str) -> bool:
    """Whether an If-Match or If-None-Match value names this ETag (or is `*`)."""
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or etag in tags
