from collections.abc import Callable

from django.http import Http404
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .. import representation, selectors
from ..conditional import etag_of
from ..filters.api_users import ApiUserFilterSet, excluded_fields
from ..filters.backends import FilterBackend, OrderingFilter, SearchFilter
from ..models import User
from ..openapi import api_users as docs
from ..serializers.api_users import (
    ApiUserBulkUpdateInputSerializer,
    ApiUserCreateInputSerializer,
    ApiUserOutputSerializer,
    ApiUserUpdateInputSerializer,
    ChangeOutputSerializer,
    KeyStatusOutputSerializer,
    ListedApiUserOutputSerializer,
    RotatedKeyOutputSerializer,
)
from ..services.api_users import (
    api_key_rotate,
    api_user_create,
    api_user_delete,
    api_user_update,
    api_users_bulk_update,
)
from .base import AccountScopedViewSet, UpdateDestroyMixin


@docs.documented
@docs.tagged
class ApiUserViewSet(mixins.ListModelMixin, UpdateDestroyMixin, AccountScopedViewSet):
    """API users of the caller's account; ids of other accounts answer 404 like missing ones."""

    selector = "api_users"
    read_selector = "api_users_for_display"
    output_serializer_class = ApiUserOutputSerializer
    lock_model = User
    # Only for schema generation, which reads the model from it; requests use the selectors.
    queryset = User.objects.none()
    filter_backends = [FilterBackend, SearchFilter, OrderingFilter]
    filterset_class = ApiUserFilterSet
    search_fields = ["name", "labels__name"]
    ordering_fields = ["name", "changed", "id"]
    ordering = ["name", "id"]

    def get_serializer_class(self):
        return {
            "create": ApiUserCreateInputSerializer,
            "update": ApiUserUpdateInputSerializer,
            "partial_update": ApiUserUpdateInputSerializer,
            "bulk_update": ApiUserBulkUpdateInputSerializer,
            "list": ListedApiUserOutputSerializer,
        }.get(self.action, ApiUserOutputSerializer)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.action == "list":
            context["exclude"] = excluded_fields(self.request)
        return context

    def represent(self, pk: str, serializer_class=None, **context) -> dict:
        """An API user as a GET shows it: one query on PostgreSQL (apiusers.representation),
        the output serializer's path elsewhere, and for the browsable API's pages, whose forms
        start from the serializer's object."""
        if self.browsing():
            return super().represent(pk, serializer_class, **context)
        return self.represent_later(pk)()

    def represent_later(self, pk: str) -> Callable[[], dict]:
        """`represent`, its query sent now and its rows read when the function returned is
        called: after a write's COMMIT, in the same round trip (`api_user_update`)."""
        if self.browsing():
            shown = super().represent(pk)
            return lambda: shown
        pending = representation.pending_api_users(self.account(), [pk])

        def read() -> dict:
            found = pending()
            if not found:
                raise Http404
            return found[0]

        return read

    def list(self, request, *args, **kwargs):
        if self.browsing():
            return super().list(request, *args, **kwargs)
        # The ids of the page's users are found through the lean queryset (only the ids: no
        # instance is made), then the users shown as a GET shows them (one query on
        # PostgreSQL), less the fields the request excludes.
        found = self.filter_queryset(self.select(self.selector)).values_list("pk", flat=True)
        shown = representation.api_users(self.account(), list(self.paginate_queryset(found)))
        for excluded in excluded_fields(request):
            for body in shown:
                body.pop(excluded, None)
        return self.get_paginated_response(shown)

    def retrieve(self, request, *args, **kwargs):
        if self.browsing():
            return mixins.RetrieveModelMixin.retrieve(self, request, *args, **kwargs)
        return Response(self.represent(kwargs["pk"]))

    def browsing(self) -> bool:
        return getattr(self.request, "accepted_renderer", None) is not None and (
            self.request.accepted_renderer.format == "api"
        )

    def create(self, request, *args, **kwargs):
        user, key = api_user_create(
            account=request.user.account, actor=request.user, **self.validated()
        )
        shown = self.represent(user.pk)
        # The one answer with the full key (CreatedApiUserOutputSerializer); its ETag is the
        # one a GET shows, with the key redacted.
        headers = {"Location": f"/api-users/{user.id}/", "ETag": etag_of(shown)}
        return Response({**shown, "key": key}, status.HTTP_201_CREATED, headers=headers)

    def update(self, request, *args, partial=False, **kwargs):
        """PUT and PATCH without a read before the write: the service's lock finds the user (a
        404 when there is none), and the answer is read in the write's transaction (its rows
        arrive with the COMMIT's). The body is validated first, without the user, which
        validation does not need; a bad body answers after the checks that come before it on
        every write (a missing user's 404, a stale If-Match's 412), as when the user is read
        first."""
        serializer = self.get_serializer(data=request.data, partial=partial)
        valid = serializer.is_valid()
        with self.within_precondition():
            if not valid:
                self.get_object()
                raise ValidationError(serializer.errors)
            shown = api_user_update(
                account_id=self.account().pk,
                user_id=kwargs["pk"],
                actor=request.user,
                data=serializer.validated_data,
                answer=lambda user: self.represent_later(user.pk),
            )
        return Response(shown)

    def perform_destroy(self, user):
        api_user_delete(user=user, actor=self.request.user)

    @action(detail=False, methods=["post"], url_path="bulk/update")
    def bulk_update(self, request):
        data = dict(self.validated(partial=True))
        ids = data.pop("ids")
        api_users_bulk_update(
            account=request.user.account, user_ids=ids, actor=request.user, data=data
        )
        return Response({"ids": ids})

    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request, pk=None):
        user = self.get_object()
        key = api_key_rotate(user=user, actor=request.user)
        body = {"key": key, **selectors.key_status(user)}
        return Response(RotatedKeyOutputSerializer(body).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def key(self, request, pk=None):
        return Response(KeyStatusOutputSerializer(selectors.key_status(self.get_object())).data)

    # No filter backends: the list's filters do not apply (nor appear in the schema) here.
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request, pk=None):
        page = self.paginate_queryset(selectors.history(self.get_object()))
        return self.get_paginated_response(ChangeOutputSerializer(page, many=True).data)
