from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
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
from ..openapi import INVALID_PAGE, STANDARD_ERRORS, VALIDATION_ERROR
from ..pagination import PageNumberPagination
from ..permissions import CanManageApiUsers
from ..serializers.api_users import ApiUserSerializer, ApiUserUpdateSerializer
from ..services.api_users import api_user_update


@extend_schema_view(
    list=extend_schema(
        summary="List API Users",
        description=LIST_DESCRIPTION,
        responses={
            200: ApiUserSerializer(many=True),
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
class ApiUserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
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
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        account = self.request.user.account
        if self.action == "partial_update":
            return selectors.api_users(account)
        return selectors.api_users_for_display(account)

    def get_serializer_class(self):
        if self.action == "partial_update":
            return ApiUserUpdateSerializer
        return ApiUserSerializer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.action == "list":
            context["exclude"] = excluded_fields(self.request)
        return context

    @extend_schema(
        summary="Partial Update API User",
        description=(
            "Change some fields of an API user; keys that are absent leave their field as it is, "
            "and read-only or unknown keys are ignored.\n\n"
            "`labels` replaces the user's whole label set (`[]` clears it). Each label is matched "
            "by name within the account: an existing label is reused with its colour unchanged, "
            "a new name creates a label. In form bodies, send labels as "
            "`labels[0]name=...&labels[0]color=...`.\n\n"
            "`title` is stored but is not part of the representation. `changed` and "
            "`changed_by` move only when something really changes. The answer is the "
            "representation a GET returns after the write."
        ),
        request=ApiUserUpdateSerializer,
        responses={200: ApiUserSerializer, 400: VALIDATION_ERROR, **STANDARD_ERRORS},
    )
    def partial_update(self, request, *args, **kwargs):
        user = self.get_object()
        serializer = self.get_serializer(user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        api_user_update(user=user, actor=request.user, data=serializer.validated_data)
        user = selectors.api_users_for_display(request.user.account).get(pk=user.pk)
        return Response(ApiUserSerializer(user, context=self.get_serializer_context()).data)
