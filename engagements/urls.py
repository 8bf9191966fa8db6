"""The app's pages, one URL module per concern; every name stays under ``engagements:``."""

from engagements.alerts import urls as alerts
from engagements.capture import urls as capture
from engagements.delivery import urls as delivery
from engagements.forges import urls as forges
from engagements.portal import urls as portal
from engagements.postmortems import urls as postmortems

app_name = "engagements"

urlpatterns = [
    *alerts.urlpatterns,  # the dashboard at the root first
    *delivery.urlpatterns,
    *portal.staff_urlpatterns,
    *postmortems.urlpatterns,
    *capture.urlpatterns,
    *forges.urlpatterns,
]
