"""API keys: generated, digested and recognised here, and nowhere else.

A key reads `<prefix>.<secret>`: 8 public Base58 characters that index the stored row, then 40
secret ones (about 234 bits). The database keeps only the prefix and an HMAC-SHA-256 digest of
the whole key under a server-side pepper, so a leaked table does not yield working keys. A fast
keyed hash is right here: the keys are long random secrets, not guessable passwords.
"""

import hashlib
import hmac
import re

from django.conf import settings

from .ids import random_base58

PREFIX_LENGTH = 8
SECRET_LENGTH = 40
KEY_REGEX = re.compile(
    rf"^([1-9A-HJ-NP-Za-km-z]{{{PREFIX_LENGTH}}})\.[1-9A-HJ-NP-Za-km-z]{{{SECRET_LENGTH}}}\Z"
)


def generate() -> tuple[str, str]:
    """Return a new key and its prefix."""
    prefix = random_base58(PREFIX_LENGTH)
    return f"{prefix}.{random_base58(SECRET_LENGTH)}", prefix


def digest(key: str) -> str:
    return hmac.new(settings.API_KEY_PEPPER.encode(), key.encode(), hashlib.sha256).hexdigest()


def prefix_of(key: str) -> str | None:
    """The prefix of a well-formed key, or None for anything that cannot be a key."""
    match = KEY_REGEX.match(key)
    return match.group(1) if match else None


def matches(key: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(key), stored_digest)


def redact(prefix: str) -> str:
    """What the API shows instead of a key: the public prefix, never the secret."""
    return f"{prefix}.{'*' * 8}"
