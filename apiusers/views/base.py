"""The one base of every resource: tenancy and permissions cannot be forgotten."""

from typing import cast

from django.db.models import QuerySet
from rest_framework import authentication, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from .. import selectors
from ..authentication import ApiKeyAuthentication
from ..ids import ID_PATTERN
from ..models import User
from ..pagination import PageNumberPagination
from ..permissions import CanManageApiUsers

READS = {"list", "retrieve"}


class AccountScopedViewSet(viewsets.GenericViewSet):
    """A resource of the caller's account.

    It owns authentication (an API key, or a session for the browsable API), the permissions
    (`users.view` to read, `users.manage` to write, from account-tier roles), pagination, the
    shape of ids in paths, and the account scoping: a subclass names its `selector`, a function
    of `apiusers.selectors` that takes the caller's account (and the path's other parameters,
    such as `api_user_id`) and returns the objects it may reach, and optionally the
    `read_selector` whose objects carry what list and retrieve show. Overriding `get_queryset`
    or `get_object` is refused when the class is defined, so no resource can read outside the
    account by accident: another account's object answers exactly like a missing one.

    Writes follow one template: `validated()` reads the body, one service call writes, and
    `respond()` answers with the object as a GET would show it.
    """

    authentication_classes = [ApiKeyAuthentication, authentication.SessionAuthentication]
    permission_classes = [IsAuthenticated, CanManageApiUsers]
    pagination_class = PageNumberPagination
    lookup_value_regex = ID_PATTERN
    selector: str
    read_selector: str | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("get_queryset", "get_object"):
            if name in vars(cls):
                raise TypeError(
                    f"{cls.__name__} may not override {name}: name a `selector`, so that every "
                    "query starts from the caller's account."
                )

    def get_queryset(self) -> QuerySet:
        if self.action in READS and self.read_selector is not None:
            return self.select(self.read_selector)
        return self.select(self.selector)

    def select(self, name: str) -> QuerySet:
        # IsAuthenticated has let only a user through.
        account = cast(User, self.request.user).account
        return getattr(selectors, name)(account, **self.path_parameters())

    def path_parameters(self) -> dict:
        """The path's parameters other than the object's own id (`api_user_id`, say)."""
        own_id = self.lookup_url_kwarg or self.lookup_field
        return {name: value for name, value in self.kwargs.items() if name != own_id}

    def validated(self, instance=None, *, partial: bool = False) -> dict:
        serializer = self.get_serializer(instance, data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def respond(
        self, pk: str, serializer_class, *, status_code=status.HTTP_200_OK, headers=None, **context
    ) -> Response:
        """The object as a GET shows it, read afresh after the write, through the selector that
        list and retrieve read with."""
        obj = self.select(self.read_selector or self.selector).get(pk=pk)
        body = serializer_class(obj, context={**self.get_serializer_context(), **context}).data
        return Response(body, status=status_code, headers=headers)
