"""A request's body as the WSGI environ gives it: read by BodySizeLimitMiddleware, and by the
turns (apiusers/turns.py) before Django's request exists (so nothing here may need the app
registry)."""


def chunked(environ) -> bool:
    """Whether the request's body comes in chunks (`Transfer-Encoding: chunked`)."""
    codings = environ.get("HTTP_TRANSFER_ENCODING", "").lower().split(",")
    return "chunked" in (coding.strip() for coding in codings)


def declared_length(environ) -> int | None:
    """The body's length as `Content-Length` declares it (0 without one); None if malformed."""
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


def read_at_most(stream, limit: int | None) -> bytes:
    """All of `stream`, or its first `limit + 1` bytes: enough to tell that it is too large."""
    if limit is None:
        return stream.read()
    parts, size = [], 0
    while size <= limit and (part := stream.read(limit + 1 - size)):
        parts.append(part)
        size += len(part)
    return b"".join(parts)
