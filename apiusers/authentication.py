from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from . import selectors, throttling
from .models import ApiKey

LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: JWT <key>`: Probely's keyword, though the key is opaque, not a JWT.

    Any Authorization header that is not a valid, current key of an active API user is a 401
    with the same body: malformed, unknown, revoked, expired (rotated out) and deactivated keys
    are indistinguishable.
    The lookup is one indexed query by prefix, which also reads the user, its account and its
    account-tier permissions, and none for a key verified in the last AUTH_CACHE_SECONDS
    (`selectors.verified_key`); the digest comparison is constant-time.

    Both rate limits are applied here, before anything is written: a failure counts against
    the client's address (over THROTTLE_FAILED_AUTH it is a 429 instead of the 401), a valid
    key against its own limit (THROTTLE_API_KEY). A valid key works from an address that is
    throttled for failures: keys are far too long to guess, so the failures of others sharing
    the address (a NAT, a proxy) must not lock its owner out.
    """

    keyword = "JWT"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request)
        if not header:
            return None
        try:
            api_key = self.verified_key(header)
        except exceptions.AuthenticationFailed:
            wait = throttling.FAILED_AUTH.hit(throttling.client_address(request))
            if wait:
                raise exceptions.Throttled(wait=wait) from None
            raise
        wait = throttling.API_KEY.hit(api_key.pk)
        if wait:
            raise exceptions.Throttled(wait=wait)
        self.note_use(api_key)
        return api_key.user, api_key

    def verified_key(self, header: bytes) -> ApiKey:
        try:
            keyword, key = header.decode("ascii").split(" ")
        except (UnicodeDecodeError, ValueError):
            raise exceptions.AuthenticationFailed() from None
        api_key = None
        if keyword.lower() == self.keyword.lower():
            api_key = selectors.verified_key(key)
        if api_key is None:
            raise exceptions.AuthenticationFailed()
        return api_key

    @staticmethod
    def note_use(api_key: ApiKey) -> None:
        """Record when the key was last used, writing at most once a minute per key."""
        now = timezone.now()
        if api_key.last_used is None or now - api_key.last_used >= LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used=now)
            # Its row, kept by selectors.RECENT_KEYS, still has the time before.
            selectors.RECENT_KEYS.forget(api_key.prefix)

    def authenticate_header(self, request) -> str:
        return self.keyword
