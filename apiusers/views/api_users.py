from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from .. import selectors
from ..filters import (
    LIST_DESCRIPTION,
    ApiUserFilterSet,
    FilterBackend,
    OrderingFilter,
    SearchFilter,
    excluded_fields,
)
from ..ids import ID_PATTERN
from ..models import User
from ..openapi import (
    FORBIDDEN_WRITE,
    INVALID_PAGE,
    STANDARD_ERRORS,
    VALIDATION_ERROR,
    WRITE_ERRORS,
)
from ..pagination import PageNumberPagination
from ..permissions import CanManageApiUsers
from ..serializers.api_users import (
    ApiUserBulkUpdateSerializer,
    ApiUserCreateFormSerializer,
    ApiUserCreateSerializer,
    ApiUserSerializer,
    ApiUserUpdateSerializer,
    BulkUpdateResultSerializer,
    ChangeSerializer,
    CreatedApiUserSerializer,
    KeyStatusSerializer,
    ListedApiUserSerializer,
    RotatedKeySerializer,
)
from ..services.api_users import (
    api_key_rotate,
    api_user_create,
    api_user_delete,
    api_user_update,
    api_users_bulk_update,
)

LABELS_SEMANTICS = (
    "`labels` replaces the user's whole label set (`[]` clears it). Each label is matched by "
    "name within the account: an existing label is reused with its colour unchanged, a new name "
    "creates a label. In form bodies, send labels as `labels[0]name=...&labels[0]color=...`; "
    "a row whose `name` and `color` are both empty is ignored (so a form whose rows are all "
    "empty clears the labels), and an error names a row by its index in the body."
)
AUTHORITY = (
    "A caller acts only on API users whose permissions it holds itself (those of their roles, "
    "in any scope): an Admin never changes, deactivates, deletes or rotates the key of an "
    "Owner (403). The last active Owner of the account cannot be deactivated or deleted, even "
    "by itself (409). An API user deleted by a concurrent request before this one could "
    "change it answers 404. Nothing is changed by a refused request."
)
WRITE_SEMANTICS = (
    "Read-only and unknown keys are ignored. `title` is stored but is not part of the "
    "representation. `changed` and `changed_by` move, and a history entry is recorded, only "
    "when something really changes.\n\n" + AUTHORITY
)
NO_CONTENT = OpenApiResponse(description="Done; the answer has no body.")


@extend_schema_view(
    list=extend_schema(
        summary="List API Users",
        description=LIST_DESCRIPTION,
        responses={
            200: ListedApiUserSerializer(many=True),
            400: VALIDATION_ERROR,
            **STANDARD_ERRORS,
            404: INVALID_PAGE,
        },
    ),
    retrieve=extend_schema(
        summary="Retrieve API User",
        description="An API user of the caller's account. Its key is shown redacted.",
        responses={200: ApiUserSerializer, **STANDARD_ERRORS},
    ),
)
@extend_schema(tags=["API Users"])
class ApiUserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """API users of the caller's account; ids of other accounts answer 404 like missing ones."""

    permission_classes = [IsAuthenticated, CanManageApiUsers]
    serializer_class = ApiUserSerializer
    pagination_class = PageNumberPagination
    # Only for schema generation, which reads the model from it; requests use get_queryset().
    queryset = User.objects.none()
    filter_backends = [FilterBackend, SearchFilter, OrderingFilter]
    filterset_class = ApiUserFilterSet
    search_fields = ["name", "labels__name"]
    ordering_fields = ["name", "changed", "id"]
    ordering = ["name", "id"]
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        account = self.request.user.account
        if self.action in {"list", "retrieve"}:
            return selectors.api_users_for_display(account)
        return selectors.api_users(account)

    def get_serializer_class(self):
        return {
            "create": ApiUserCreateSerializer,
            "update": ApiUserUpdateSerializer,
            "partial_update": ApiUserUpdateSerializer,
            "bulk_update": ApiUserBulkUpdateSerializer,
            "list": ListedApiUserSerializer,
        }.get(self.action, ApiUserSerializer)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.action == "list":
            context["exclude"] = excluded_fields(self.request)
        return context

    def represent(self, user, serializer_class=ApiUserSerializer, **context):
        """The representation of `user` as a GET returns it, read afresh after a write."""
        user = selectors.api_users_for_display(self.request.user.account).get(pk=user.pk)
        return serializer_class(user, context={**self.get_serializer_context(), **context}).data

    @extend_schema(
        summary="Create API User",
        description=(
            "Create an API user in the caller's account, with its labels and roles, and issue its "
            "key. The answer (201, with a `Location` header) is the only one that shows the "
            "full `key`: store it now.\n\n"
            + LABELS_SEMANTICS
            + "\n\nEach role is given in a scope (`account`, or a `team` or `target` of the "
            "caller's account); ids of another account are refused like missing ones. A caller "
            "grants only roles whose permissions it holds (403 otherwise). Roles are sent in JSON "
            "only: a form body with a `user_roles` key is a 400."
        ),
        request={
            "application/json": ApiUserCreateSerializer,
            "application/x-www-form-urlencoded": ApiUserCreateFormSerializer,
            "multipart/form-data": ApiUserCreateFormSerializer,
        },
        responses={
            201: CreatedApiUserSerializer,
            400: VALIDATION_ERROR,
            **STANDARD_ERRORS,
            403: FORBIDDEN_WRITE,
        },
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, key = api_user_create(
            account=request.user.account, actor=request.user, **serializer.validated_data
        )
        return Response(
            self.represent(user, CreatedApiUserSerializer, key=key),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api-users/{user.id}/"},
        )

    @extend_schema(
        summary="Update API User",
        description=(
            "Replace the writable fields of an API user: `name` and `labels` are required, an "
            "absent `active` is true, an absent `title` is left as it is.\n\n"
            + LABELS_SEMANTICS
            + "\n\n"
            + WRITE_SEMANTICS
        ),
        request=ApiUserUpdateSerializer,
        responses={200: ApiUserSerializer, 400: VALIDATION_ERROR, **WRITE_ERRORS},
    )
    def update(self, request, *args, **kwargs):
        return self.write(request, partial=False)

    @extend_schema(
        summary="Partial Update API User",
        description=(
            "Change some fields of an API user; keys that are absent leave their field as it "
            "is.\n\n"
            + LABELS_SEMANTICS
            + "\n\n"
            + WRITE_SEMANTICS
            + " The answer is the representation a GET returns after the write."
        ),
        request=ApiUserUpdateSerializer,
        responses={200: ApiUserSerializer, 400: VALIDATION_ERROR, **WRITE_ERRORS},
    )
    def partial_update(self, request, *args, **kwargs):
        return self.write(request, partial=True)

    def write(self, request, *, partial: bool):
        user = self.get_object()
        serializer = self.get_serializer(user, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        api_user_update(user=user, actor=request.user, data=serializer.validated_data)
        return Response(self.represent(user))

    @extend_schema(
        summary="Delete API User",
        description=(
            "Delete an API user: its keys stop working at once, and it no longer appears in "
            "any answer. Its history is kept, and what it changed still names it.\n\n" + AUTHORITY
        ),
        responses={204: NO_CONTENT, **WRITE_ERRORS},
    )
    def destroy(self, request, *args, **kwargs):
        api_user_delete(user=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Bulk Update API Users",
        description=(
            "Set the same fields on several API users of the caller's account, all or none: one "
            "unknown (or foreign) id or one invalid value changes nothing. Absent fields are "
            "left as they are.\n\n" + LABELS_SEMANTICS + "\n\n" + AUTHORITY
        ),
        request=ApiUserBulkUpdateSerializer,
        responses={
            200: BulkUpdateResultSerializer,
            400: VALIDATION_ERROR,
            **{code: WRITE_ERRORS[code] for code in (401, 403, 409, 500)},
        },
    )
    @action(detail=False, methods=["post"], url_path="bulk/update")
    def bulk_update(self, request):
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        ids = data.pop("ids")
        api_users_bulk_update(
            account=request.user.account, user_ids=ids, actor=request.user, data=data
        )
        return Response({"ids": ids})

    @extend_schema(
        summary="Rotate API User Key",
        description=(
            "Issue a new key for the API user. The answer is the only one that shows the new "
            "full `key`. The replaced key keeps working for a grace period (the server's "
            "API_KEY_ROTATION_GRACE_SECONDS, 24 hours unless configured; 0 means it stops at "
            "once), so clients can switch without downtime; a key left from an earlier rotation "
            "stops now.\n\n" + AUTHORITY
        ),
        request=None,
        responses={201: RotatedKeySerializer, **STANDARD_ERRORS, 403: FORBIDDEN_WRITE},
    )
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request, pk=None):
        user = self.get_object()
        key = api_key_rotate(user=user, actor=request.user)
        body = {"key": key, **selectors.key_status(user)}
        return Response(RotatedKeySerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Retrieve API User Key",
        description=(
            "The API user's key without its secret: its public prefix, when it was issued and "
            "last used, and the replaced key while its grace period after a rotation runs."
        ),
        responses={200: KeyStatusSerializer, **STANDARD_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def key(self, request, pk=None):
        return Response(KeyStatusSerializer(selectors.key_status(self.get_object())).data)

    @extend_schema(
        summary="List API User History",
        description=(
            "Every change to the API user, its labels, roles and key, newest first: who made "
            "it, when, and each field from what to what."
        ),
        responses={200: ChangeSerializer(many=True), **STANDARD_ERRORS},
    )
    # No filter backends: the list's filters do not apply (nor appear in the schema) here.
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request, pk=None):
        changes = selectors.history(self.get_object())
        page = self.paginate_queryset(changes)
        return self.get_paginated_response(ChangeSerializer(page, many=True).data)
