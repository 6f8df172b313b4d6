from rest_framework import mixins, status

from ..models import Label
from ..openapi import labels as docs
from ..serializers.common import LabelOutputSerializer
from ..serializers.labels import LabelWriteInputSerializer
from ..services.labels import label_create, label_delete, label_update
from .base import UpdateDestroyMixin
from .directory import DirectoryViewSet


@docs.documented
@docs.tagged
class LabelViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, UpdateDestroyMixin, DirectoryViewSet
):
    """User labels of the caller's account. Reading needs `users.view`, writing `users.manage`."""

    selector = "labels"
    output_serializer_class = LabelOutputSerializer
    lock_model = Label
    ordering_fields = ["name", "changed"]

    def get_serializer_class(self):
        if self.action in {"create", "update", "partial_update"}:
            return LabelWriteInputSerializer
        return LabelOutputSerializer

    def create(self, request, *args, **kwargs):
        label = label_create(account=request.user.account, actor=request.user, **self.validated())
        return self.respond(label.pk, status_code=status.HTTP_201_CREATED)

    def perform_update(self, label, data):
        label_update(label=label, actor=self.request.user, data=data)

    def perform_destroy(self, label):
        label_delete(label=label, actor=self.request.user)
