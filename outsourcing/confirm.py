"""The one way a destructive action confirms first, with or without JavaScript.

A form that removes or revokes something carries ``data-confirm="the question"``. With
JavaScript, ``static/js/app.js`` asks the question (``window.confirm``) when the form is
submitted, by htmx or plainly, and adds ``confirm=yes`` to what is sent; cancelling sends
nothing. Without JavaScript (or from any client that did not confirm), the view answers
``ask_first``: a page with the question, what happens, and one button that posts the same
fields again with ``confirm=yes``, so nothing is removed by a single click.

Why one mechanism: ``hx-confirm`` only fires when htmx sends the request, and the forms that
post plainly (revoke a token, remove a contact or a member) never asked at all.
"""

from django.http import HttpRequest
from django.template.response import TemplateResponse

FIELD = "confirm"
YES = "yes"
TEMPLATE = "confirm.html"
NOT_SENT_AGAIN = {"csrfmiddlewaretoken", FIELD}


def confirmed(request: HttpRequest) -> bool:
    """Whether the person confirmed this destructive POST (``confirm=yes``)."""
    return request.POST.get(FIELD) == YES


def ask_first(
    request: HttpRequest, *, question: str, detail: str = "", button: str, back: str
) -> TemplateResponse:
    """The confirmation page: ``question``, ``detail`` (what it does), a ``button`` that posts
    the same fields with ``confirm=yes`` to the same URL, and a way ``back`` (a path).

    To an htmx request (a form that forgot ``data-confirm``), only the question is swapped
    into the page's main area."""
    fields = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in NOT_SENT_AGAIN
        for value in values
    ]
    context = {
        "question": question,
        "detail": detail,
        "button": button,
        "back": back,
        "action": request.path,
        "fields": fields,
    }
    if getattr(request, "htmx", None):
        response = TemplateResponse(request, f"{TEMPLATE}#confirm-box", context)
        response["HX-Retarget"] = "#main"
        response["HX-Reswap"] = "innerHTML"
        return response
    return TemplateResponse(request, TEMPLATE, context)
