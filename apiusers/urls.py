from rest_framework.routers import SimpleRouter

from .views.api_users import ApiUserViewSet
from .views.directory import RoleViewSet, TargetViewSet, TeamViewSet
from .views.labels import LabelViewSet

router = SimpleRouter()
router.register("api-users", ApiUserViewSet, basename="apiuser")
router.register("labels/users", LabelViewSet, basename="userlabel")
router.register("roles", RoleViewSet, basename="role")
router.register("teams", TeamViewSet, basename="team")
router.register("targets", TargetViewSet, basename="target")

urlpatterns = router.urls
