from rest_framework.routers import SimpleRouter

from .ids import ID_PATTERN
from .views.api_users import ApiUserViewSet
from .views.directory import RoleViewSet, TargetViewSet, TeamViewSet
from .views.labels import LabelViewSet
from .views.user_roles import ApiUserRoleBulkViewSet, ApiUserRoleViewSet

router = SimpleRouter()
# `roles` is not an API user id (12 Base58 characters), so these never reach /api-users/{id}/.
router.register("api-users/roles", ApiUserRoleBulkViewSet, basename="apiuser-role-bulk")
router.register("api-users", ApiUserViewSet, basename="apiuser")
router.register(
    rf"api-users/(?P<api_user_id>{ID_PATTERN})/roles", ApiUserRoleViewSet, basename="apiuser-role"
)
router.register("labels/users", LabelViewSet, basename="userlabel")
router.register("roles", RoleViewSet, basename="role")
router.register("teams", TeamViewSet, basename="team")
router.register("targets", TargetViewSet, basename="target")

urlpatterns = router.urls
