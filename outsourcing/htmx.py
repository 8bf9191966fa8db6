"""The helpers every view uses to answer htmx and plain requests alike: ``render`` for a page
or the region htmx targets, ``answer_write`` for a form that calls one service, and
``refused_status``, the one rule for the status of a refused write."""

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers

from .forms import apply_service, lost_race


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


def answer_write(
    request: HttpRequest,
    form: forms.BaseForm,
    call: Callable[[], Any],
    *,
    show: Callable[..., HttpResponse],
    form_name: str | None = None,
    done: str | Callable[[Any], str] | None = None,
    message: str | Callable[[Any], str] | None = None,
    refused: Callable[[forms.BaseForm], dict[str, Any]] | None = None,
    shown: Callable[[Any], dict[str, Any]] | None = None,
) -> HttpResponse:
    """Run the service through ``form`` and answer the write, the one way every view does.

    ``call`` runs only when the form is valid (``outsourcing.forms.apply_service``); its
    refusal, a lost race (``outsourcing.errors.Conflict``) among them, lands in the form next
    to its field.

    - Saved, plain POST: flash ``message`` (text, or a function of the service's result).
    - Saved, plain POST with a ``done`` URL (or a function of the result): redirect there, so
      a reload cannot post twice.
    - Saved otherwise (htmx, or no ``done``): ``show(**shown(result))``, the page or the region
      htmx targets with fresh forms (``shown`` adds what to show once, such as a new secret).
    - Refused: ``show(**{form_name: form})`` (or ``show(**refused(form))``), the form again as
      typed with its errors, with ``refused_status``.
    """
    result: list[Any] = []
    if apply_service(form, lambda: result.append(call())):
        value = result[0]
        if message and not request.htmx:  # a region swap shows no messages
            messages.success(request, message(value) if callable(message) else message)
        if done is not None and not request.htmx:
            return redirect(done(value) if callable(done) else done)
        return show(**(shown(value) if shown else {}))
    response = show(**(refused(form) if refused else {form_name or context_name(form): form}))
    if response.status_code == 200:  # a show that redirects instead keeps its status
        response.status_code = refused_status(request, lost=lost_race(form))
    return response


def refused_status(request: HttpRequest, *, lost: bool = False) -> int:
    """The status of a refused write: htmx 2 does not swap a 4xx body, so an htmx request gets
    200 (the form with its errors is swapped in); a plain one 422, or 409 for a lost race."""
    return 200 if getattr(request, "htmx", None) else 409 if lost else 422


def context_name(form: forms.BaseForm) -> str:
    """The name a page's template knows the form by: ``<ids>_form`` for a form that shares its
    page with others (``IdsOfItsOwn``: ``milestone_form`` for ids ``milestone_title``), else
    ``form``."""
    ids = getattr(form, "ids", "id")
    return "form" if ids == "id" else f"{ids}_form"
