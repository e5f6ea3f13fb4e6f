from rest_framework.routers import SimpleRouter

from campaigns.api.views import CampaignViewSet, ConversionViewSet, ExperimentViewSet

router = SimpleRouter()
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("experiments", ExperimentViewSet, basename="experiment")
router.register("conversions", ConversionViewSet, basename="conversion")

urlpatterns = router.urls
