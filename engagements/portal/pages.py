"""The vendor portal's region of the engagement page (its context, not its view)."""

from django.http import HttpRequest

from engagements.delivery.models import Engagement
from engagements.portal import services
from engagements.portal.forms import PortalAnswerForm, PortalInviteForm
from engagements.portal.models import PortalAccess


def engagement_page_context(
    *, request: HttpRequest, engagement: Engagement, refused: PortalAnswerForm | None = None
) -> dict:
    """The portal region of the engagement page: the usable links, the invite form and the
    thread the vendor sees, with an answer form under each open question (``refused``: the
    one answer that was refused, shown again with its error).

    The receiver of ``delivery.hooks.engagement_page``.
    """
    thread = services.thread(engagement=engagement)
    rows, refusal_shown = [], False
    for entry in thread.entries:
        form = None
        if entry.question is not None:
            pk = entry.question.pk
            form = refused if refused and refused.question_id == pk else None
            refusal_shown = refusal_shown or form is not None
            form = form or PortalAnswerForm(question_id=pk)
        rows.append((entry, form))
    # A question answered meanwhile has no form any more: its refusal heads the thread.
    late = refused is not None and not refusal_shown
    return {
        "portal_thread_error": " ".join(refused.non_field_errors()) if late else "",
        "portal_accesses": PortalAccess.objects.usable()
        .filter(engagement=engagement)
        .select_related("contact"),
        "portal_form": PortalInviteForm(engagement=engagement),
        "portal_thread": thread,
        "portal_thread_rows": rows,
    }
