from rest_framework import mixins, status
from rest_framework.response import Response

from ..models import Label
from ..openapi import labels as docs
from ..serializers.common import LabelOutputSerializer
from ..serializers.labels import LabelWriteInputSerializer
from ..services.labels import label_create, label_delete, label_update
from .directory import DirectoryViewSet


@docs.documented
@docs.tagged
class LabelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DirectoryViewSet):
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

    def update(self, request, *args, partial=False, **kwargs):
        with self.within_precondition():
            label = self.get_object()
            data = self.validated(label, partial=partial)
            label_update(label=label, actor=request.user, data=data)
        return self.respond(label.pk)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        with self.within_precondition():
            label_delete(label=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
