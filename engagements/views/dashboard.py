from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_safe

from accounts.decorators import member_required


@require_safe
@member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The organization's home page: which engagements are healthy, drifting or failing."""
    return TemplateResponse(request, "engagements/dashboard.html", {})
