"""A page, not a blank screen, when a browser asks a form's address for a page.

A write URL answers GET with Django's empty 405. People get there by reloading after a form
was sent, opening a form's address in a new tab, or following a link someone pasted; a
blank page looks broken. For browsers this says what happened and where to go on (back
where they came from when that is one of our pages, else the dashboard or the portal), with
the same 405 status and Allow header. The API keeps its JSON error (``api_errors``).
"""

from collections.abc import Callable
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from outsourcing.api_errors import API_PREFIX

PORTAL_PREFIX = "/portal/"


class MethodNotAllowedPage:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code != 405
            or response.content
            or request.method not in ("GET", "HEAD")
            or request.path.startswith(API_PREFIX)
        ):
            return response
        portal = request.path.startswith(PORTAL_PREFIX)
        page = render(
            request,
            "405.html",
            {
                "base": "portal_base.html" if portal else "base.html",
                "back": _came_from(request, portal),
                "portal": portal,
            },
            status=405,
        )
        page["Allow"] = response["Allow"]
        return page


def _came_from(request: HttpRequest, portal: bool) -> str | None:
    """The page the person came from, when it is ours and not this address itself."""
    referer = request.headers.get("Referer", "")
    if not referer or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    path = urlsplit(referer).path
    if path == request.path or path.startswith(PORTAL_PREFIX) != portal:
        return None
    return referer
