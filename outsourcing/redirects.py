"""The one way a view sends someone to a URL they supplied (``next``, ``return_to``, a referer)."""

import unicodedata

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, url: str | None, fallback: str) -> str:
    """``url`` if it is a path on this site, else ``fallback``.

    Only a path is accepted (``/lessons/?q=x``): an absolute URL, a scheme-relative
    ``//evil.example``, ``/\\evil.example`` (browsers read ``\\`` as ``/``) and
    ``https:evil.example`` all fall back. A control character anywhere is refused too:
    browsers drop tabs and newlines inside URLs (``/\\t/evil.example`` is ``//evil.example``)
    and a newline in a Location header would be a 500.
    """
    if (
        url
        and url.startswith("/")
        and not any(unicodedata.category(c)[0] == "C" for c in url)
        and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return url
    return fallback


def redirect_back(
    request: HttpRequest, fallback: str, *, field: str = "next"
) -> HttpResponseRedirect:
    """Redirect to the same-site path in ``field`` (POST, then query string), else ``fallback``."""
    candidate = request.POST.get(field) or request.GET.get(field)
    return redirect(safe_next(request, candidate, fallback))
