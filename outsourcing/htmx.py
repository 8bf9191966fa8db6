"""The one helper every view uses to answer htmx and plain requests alike."""

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers


def render(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partials: Iterable[str] = (),
    status: int = 200,
) -> TemplateResponse:
    """Render ``template``, or only its partial ``template#<id>`` when htmx targets it.

    A partial's name equals the id of its root element, so ``HX-Target`` names it. Anything
    else (a plain request, a history restore, an unknown target) gets the whole page. The
    response varies on the htmx headers so a cache never serves a fragment as a page.
    """
    htmx = getattr(request, "htmx", None)
    target = htmx.target if htmx and not htmx.history_restore_request else None
    name = f"{template}#{target}" if target and target in set(partials) else template
    response = TemplateResponse(request, name, context, status=status)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response
