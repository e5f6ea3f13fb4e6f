from rest_framework.routers import SimpleRouter

from media.api.views import AssetViewSet, ClipViewSet, PerformanceMetricViewSet, PredictionViewSet

router = SimpleRouter()
router.register("assets", AssetViewSet, basename="asset")
router.register("clips", ClipViewSet, basename="clip")
router.register("predictions", PredictionViewSet, basename="prediction")
router.register("performance-metrics", PerformanceMetricViewSet, basename="performancemetric")

urlpatterns = router.urls
