"""The vendor portal's region of the engagement page (its context, not its view)."""

from django.http import HttpRequest

from engagements.delivery.models import Engagement
from engagements.portal.forms import PortalInviteForm
from engagements.portal.models import PortalAccess


def engagement_page_context(*, request: HttpRequest, engagement: Engagement) -> dict:
    """The portal-access region of the engagement page: the usable links and the invite form.

    The receiver of ``delivery.hooks.engagement_page``.
    """
    return {
        "portal_accesses": PortalAccess.objects.usable()
        .filter(engagement=engagement)
        .select_related("contact"),
        "portal_form": PortalInviteForm(engagement=engagement),
    }
