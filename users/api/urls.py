from rest_framework.routers import SimpleRouter

from users.api.views import ApiKeyViewSet, UserViewSet

router = SimpleRouter()
router.register("users", UserViewSet, basename="user")
router.register("api-keys", ApiKeyViewSet, basename="apikey")

urlpatterns = router.urls
