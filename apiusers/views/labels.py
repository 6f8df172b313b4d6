from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from .. import selectors
from ..openapi import FORBIDDEN, NOT_AUTHENTICATED, SERVER_ERROR, VALIDATION_ERROR
from ..serializers.common import LabelSerializer
from ..serializers.labels import LabelWriteSerializer
from ..services.labels import label_create, label_delete, label_update
from .directory import DirectoryViewSet, list_errors, object_errors

WRITE_DESCRIPTION = (
    "The name must be unique within the account (exactly, case included): a name another "
    "label has is a 400. `changed` and `changed_by` move only when something really changes. "
    "The users carrying the label are not changed: they keep the same label, under its new "
    "name or colour. The answer is the representation a GET returns after the write."
)


def write_schema(summary: str, description: str):
    return extend_schema(
        summary=summary,
        description=f"{description} {WRITE_DESCRIPTION}",
        request=LabelWriteSerializer,
        responses={200: LabelSerializer, 400: VALIDATION_ERROR, **object_errors("label")},
    )


@extend_schema_view(
    list=extend_schema(
        summary="List User Labels",
        description=(
            "The user labels of the caller's account, a page at a time, ordered by name unless "
            "`ordering` says otherwise."
        ),
        responses={200: LabelSerializer(many=True), **list_errors("labels")},
    ),
    retrieve=extend_schema(
        summary="Retrieve User Label",
        description="One user label of the caller's account.",
        responses={200: LabelSerializer, **object_errors("label")},
    ),
    create=extend_schema(
        summary="Create User Label",
        description=(
            "Create a label in the caller's account. `color` is optional and empty when not "
            "given. The name must be unique within the account (exactly, case included): a "
            "name another label has is a 400, also when a concurrent request took it first."
        ),
        request=LabelWriteSerializer,
        responses={
            201: LabelSerializer,
            400: VALIDATION_ERROR,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            500: SERVER_ERROR,
        },
    ),
    update=write_schema(
        "Update User Label", "Replace a label: `name` is required, an absent `color` empties it."
    ),
    partial_update=write_schema(
        "Partial Update User Label",
        "Change the name or the colour of a label; an absent key leaves its field as it is.",
    ),
    destroy=extend_schema(
        summary="Delete User Label",
        description=(
            "Delete a label, removing it from every user that carries it. Each of those users "
            "counts as changed by the caller: its `changed` and `changed_by` move, and an API "
            "user's history records its labels from and to."
        ),
        responses={204: None, **object_errors("label")},
    ),
)
@extend_schema(tags=["User Labels"])
class LabelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    DirectoryViewSet,
):
    """User labels of the caller's account. Reading needs `users.view`, writing `users.manage`."""

    ordering_fields = ["name", "changed"]

    def get_queryset(self):
        return selectors.labels(self.request.user.account)

    def get_serializer_class(self):
        if self.action in {"create", "update", "partial_update"}:
            return LabelWriteSerializer
        return LabelSerializer

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        label = label_create(
            account=request.user.account, actor=request.user, **serializer.validated_data
        )
        return Response(self.represent(label), status=status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        label = self.get_object()
        serializer = self.get_serializer(label, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        label_update(label=label, actor=request.user, data=serializer.validated_data)
        return Response(self.represent(label))

    def perform_destroy(self, instance):
        label_delete(label=instance, actor=self.request.user)

    def represent(self, label) -> dict:
        label = self.get_queryset().get(pk=label.pk)
        return LabelSerializer(label, context=self.get_serializer_context()).data
