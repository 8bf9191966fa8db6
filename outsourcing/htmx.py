"""The helpers every view uses to answer htmx and plain requests alike: ``render`` for a page
or the region htmx targets, ``answer_write`` for a form that calls one service, ``WriteView``
for a write view that is only that (a declaration: form, service, page), and
``refused_status``, the one rule for the status of a refused write."""

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers
from django.views import View
from django.views.decorators.http import require_POST

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
    - Saved, plain POST with a ``done`` URL (or a function of the result that gives one, or
      ``None``): redirect there, so a reload cannot post twice.
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
        url = None if request.htmx else done(value) if callable(done) else done
        if url is not None:
            return redirect(url)
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


class WriteView(View):
    """A write view that is only "validate one form, call one service, answer", declared:

        # Edit the brief we share with the vendor.
        brief_update = RegionWrite.as_view(
            form_class=BriefForm, service=services.update_brief, region="brief"
        )

    On POST (``require_POST`` first, then ``role``, as the decorators stand on a function
    view), it fetches ``model`` by the URL's ``pk`` through the scoped manager (another
    organization's id is a 404), binds ``form_class`` to the request and answers with
    ``answer_write``, calling::

        service(<object_name>=the object, org=request.org (when ``org``),
                by=request.user (when ``by``), **the form's data)

    The form's data is its ``service_kwargs()`` where it has one (the form turns its fields
    into the service's arguments), else its ``cleaned_data``; a button with no fields keeps
    the default ``form_class``, an empty form. ``message`` (plain POST only) is text that may
    name the objects, ``"{contact.name} removed."``, or a function of the service's result.

    A page's subclass says how the page is shown (``show``) and where a plain POST goes
    (``done``); ``form_with`` names what the form's ``__init__`` needs (``"org"``, or a name
    of ``objects()``). Pass ``service`` to ``as_view``, never as a class attribute (a function
    there would become a method). A view that does more than this stays a function.
    """

    http_method_names = ["post"]
    role: Callable = staticmethod(lambda view: view)  # e.g. staticmethod(manager_required)
    model: type[Model] | None = None
    lookup = "pk"  # the model field the URL's ``pk`` matches
    related: tuple[str, ...] = ()  # select_related for the object (what ``show`` reads)
    object_name: str | None = None  # the service's name for the object; else the model's
    form_class: type[forms.BaseForm] = forms.Form
    form_with: tuple[str, ...] = ()
    service: Callable[..., Any] | None = None
    by = False  # the service is told who: ``by=request.user``
    org = False  # the service is told the organization: ``org=request.org``
    form_name: str | None = None
    message: str | Callable[[Any], str] | None = None

    @classmethod
    def as_view(cls, **initkwargs):
        role = initkwargs.pop("role", cls.role)
        return require_POST(role(super().as_view(**initkwargs)))

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.object = self.get_object(*args, **kwargs)
        form = self.get_form()
        return answer_write(
            request,
            form,
            lambda: self.service(**self.service_kwargs(), **self.form_data(form)),
            show=self.show,
            done=self.done,
            refused=self.refused,
            message=self.success_message if self.message else None,
        )

    def get_form(self) -> forms.BaseForm:
        objects = self.objects()
        kwargs = {name: objects[name] for name in self.form_with}
        return self.form_class(self.request.POST, self.request.FILES, **kwargs)

    def form_data(self, form: forms.BaseForm) -> dict[str, Any]:
        service_kwargs = getattr(form, "service_kwargs", None)
        return service_kwargs() if service_kwargs else form.cleaned_data

    def success_message(self, result: Any) -> str:
        if callable(self.message):
            return self.message(result)
        return self.message.format(**self.objects())

    def get_object(self, pk: int | None = None) -> Model | None:
        if self.model is None:
            return None
        return get_object_or_404(self.get_queryset(), **{self.lookup: pk})

    def get_queryset(self) -> QuerySet:
        rows = self.model.objects.all()
        return rows.select_related(*self.related) if self.related else rows

    def objects(self) -> dict[str, Any]:
        """What ``form_with`` and ``message`` may name: the organization and the object (by
        its model's name and by ``object_name``); a page's subclass adds the page's object."""
        named = {"org": getattr(self.request, "org", None)}  # none on the vendor portal
        if self.object is not None:
            names = {type(self.object)._meta.model_name, self.object_name or "object"}
            named |= dict.fromkeys(names, self.object)
        return named

    def service_kwargs(self) -> dict[str, Any]:
        """The service's arguments besides the form's: the object, the organization (when
        ``org``) and who (when ``by``)."""
        kwargs = {}
        if self.object is not None:
            kwargs[self.object_name or type(self.object)._meta.model_name] = self.object
        if self.org:
            kwargs["org"] = self.request.org
        if self.by:
            kwargs["by"] = self.request.user
        return kwargs

    def show(self, **context) -> HttpResponse:
        raise NotImplementedError  # the page's subclass shows the page (or its region)

    def done(self, result: Any) -> str | None:
        return None  # no redirect: ``show`` answers a plain POST too

    def refused(self, form: forms.BaseForm) -> dict[str, Any]:
        """What ``show`` gets for a refused form: the form, by the name its template knows."""
        return {self.form_name or context_name(form): form}
