"""Roles, teams and targets, as the read-only directory endpoints show them."""

from rest_framework import serializers

from ..models import PermissionCode, Role, Target, Team
from .common import OutputModelSerializer

PERMISSIONS_HELP_TEXT = "What the role allows, as permission codes:\n\n" + "\n".join(
    f"* `{code}`: {label}" for code, label in PermissionCode.choices
)


class RoleOutputSerializer(OutputModelSerializer):
    permissions = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text=PERMISSIONS_HELP_TEXT
    )

    class Meta:
        model = Role
        fields = ["id", "name", "permissions"]


class TeamOutputSerializer(OutputModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name"]
        extra_kwargs = {"name": {"help_text": "Name of the team."}}


class TargetOutputSerializer(OutputModelSerializer):
    class Meta:
        model = Target
        fields = ["id", "name", "url"]
        extra_kwargs = {"name": {"help_text": "Name of the target."}}
