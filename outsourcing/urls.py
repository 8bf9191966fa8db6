from django.contrib import admin
from django.urls import include, path

from accounts.api import router as accounts_api
from engagements.alerts.api import channels as channels_api
from engagements.alerts.api import router as alerts_api
from engagements.delivery.api import deliverables as deliverables_api
from engagements.delivery.api import engagements as engagements_api
from engagements.postmortems.api import lessons as lessons_api
from engagements.postmortems.api import postmortems as postmortems_api
from vendors.api import contracts as contracts_api
from vendors.api import router as vendors_api

from . import views
from .api import api, login_not_required_urls

api.add_router("", accounts_api)
api.add_router("/vendors", vendors_api)
api.add_router("/contracts", contracts_api)
api.add_router("/engagements", engagements_api)
api.add_router("/deliverables", deliverables_api)
api.add_router("/alerts", alerts_api)
api.add_router("/channels", channels_api)
api.add_router("/postmortems", postmortems_api)
api.add_router("/lessons", lessons_api)

# Django tries the patterns in order: the fixed prefixes come first, so an API write or a
# probe is not matched against the hundred page routes mounted at the root.
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("watcherz", views.watcherz, name="watcherz"),
    path(
        "api/v1/",
        include((login_not_required_urls(api.urls[0]), api.urls[1]), namespace=api.urls[2]),
    ),
    path("vendors/", include("vendors.urls")),
    path("portal/", include("engagements.portal.urls")),
    path("admin/", admin.site.urls),
    path("", include("engagements.urls")),
    path("", include("accounts.urls")),
]

handler500 = "outsourcing.views.server_error"
handler404 = "outsourcing.views.not_found"
