from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Email and password log-in, for humans only: API users authenticate with their key."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not user.is_apiuser and bool(user.email)
