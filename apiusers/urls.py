from rest_framework.routers import SimpleRouter

from .views.api_users import ApiUserViewSet

router = SimpleRouter()
router.register("api-users", ApiUserViewSet, basename="apiuser")

urlpatterns = router.urls
