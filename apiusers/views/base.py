"""The one base of every resource: tenancy and permissions cannot be forgotten."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import cast

from django.db import transaction
from django.db.models import Model, QuerySet
from rest_framework import authentication, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from .. import selectors
from ..authentication import ApiKeyAuthentication
from ..conditional import PreconditionFailed, etag_of, matches
from ..ids import ID_PATTERN
from ..models import Account, User
from ..pagination import PageNumberPagination
from ..permissions import CanManageApiUsers

READS = {"list", "retrieve"}
# The actions whose answer is one object's representation, which carries its ETag.
SINGLE = {"retrieve", "create", "update", "partial_update"}


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
    `respond()` answers with the object as a GET would show it (`output_serializer_class`).

    Every answer that is one object's representation carries its ETag; a GET whose
    `If-None-Match` names it is a 304. A write sent with `If-Match` runs `within_precondition()`:
    the row named by `lock_parameter` (the object's own, or the API user of a role assignment)
    of `lock_model` is locked, the object's current tag compared, and the write made in the same
    transaction, so of concurrent writes naming one tag exactly one succeeds (412 otherwise).
    """

    authentication_classes = [ApiKeyAuthentication, authentication.SessionAuthentication]
    permission_classes = [IsAuthenticated, CanManageApiUsers]
    pagination_class = PageNumberPagination
    lookup_value_regex = ID_PATTERN
    selector: str
    read_selector: str | None = None
    output_serializer_class: type | None = None
    lock_model: type[Model] | None = None
    lock_parameter = "pk"

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
        return getattr(selectors, name)(self.account(), **self.path_parameters())

    def account(self) -> Account:
        """The caller's account (IsAuthenticated has let only a user through)."""
        return cast(User, self.request.user).account

    def path_parameters(self) -> dict:
        """The path's parameters other than the object's own id (`api_user_id`, say)."""
        own_id = self.lookup_url_kwarg or self.lookup_field
        return {name: value for name, value in self.kwargs.items() if name != own_id}

    def validated(self, instance=None, *, partial: bool = False) -> dict:
        serializer = self.get_serializer(instance, data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def represent(self, pk: str, serializer_class=None, **context) -> dict:
        """The object as a GET shows it, read through the selector that list and retrieve read
        with."""
        obj = self.select(self.read_selector or self.selector).get(pk=pk)
        serializer_class = serializer_class or self.output_serializer_class
        return serializer_class(obj, context={**self.get_serializer_context(), **context}).data

    def respond(
        self, pk: str, serializer_class=None, *, status_code=status.HTTP_200_OK, headers=None, **ctx
    ) -> Response:
        """The object as a GET shows it, read afresh after the write."""
        return Response(self.represent(pk, serializer_class, **ctx), status_code, headers=headers)

    @contextmanager
    def within_precondition(self) -> Iterator[None]:
        """Run the write inside, checked against `If-Match` when the request has one."""
        expected = self.request.headers.get("If-Match")
        if expected is None:
            yield
            return
        with transaction.atomic():
            model = cast(type[Model], self.lock_model)  # set on every resource that writes
            locked = model._default_manager.select_for_update().filter(
                pk=self.kwargs[self.lock_parameter]
            )
            list(locked.values_list("pk"))
            current = self.get_object()
            if not matches(expected, etag_of(self.represent(current.pk))):
                raise PreconditionFailed()
            yield

    def finalize_response(self, request, response, *args, **kwargs):
        if (
            self.action in SINGLE
            and "ETag" not in response
            and response.status_code in {status.HTTP_200_OK, status.HTTP_201_CREATED}
            and isinstance(response.data, Mapping)
        ):
            etag = etag_of(response.data)
            not_modified = request.headers.get("If-None-Match")
            if self.action == "retrieve" and not_modified and matches(not_modified, etag):
                response = Response(status=status.HTTP_304_NOT_MODIFIED)
            response["ETag"] = etag
        return super().finalize_response(request, response, *args, **kwargs)


class UpdateDestroyMixin:
    """PUT, PATCH and DELETE of one object, on the template of every write: the object in its
    account, the body validated, one service call (`perform_update`, `perform_destroy`), the
    answer as a GET shows it; checked against `If-Match` when the request has one."""

    def update(self, request, *args, partial=False, **kwargs):
        with self.within_precondition():
            obj = self.get_object()
            self.perform_update(obj, self.validated(obj, partial=partial))
        return self.respond(obj.pk)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        with self.within_precondition():
            self.perform_destroy(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_update(self, obj, data: dict) -> None:
        raise NotImplementedError

    def perform_destroy(self, obj) -> None:
        raise NotImplementedError
