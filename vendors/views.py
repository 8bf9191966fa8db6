from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_safe

from accounts.decorators import member_required


@require_safe
@member_required
def vendor_list(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "vendors/vendor_list.html", {})
