"""``safe_next``: the one check between a user-supplied URL and a redirect."""

import pytest
from django.test import RequestFactory

from outsourcing.redirects import safe_next

FALLBACK = "/fallback/"


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "https://evil.example",
        "//evil.example/path",
        "/\\evil.example",
        "/\\/evil.example",
        "https:evil.example",
        "https:/evil.example",
        "ftp://testserver/",
        "http://testserver/lessons/",  # our host, but not a path: refused all the same
        "javascript:alert(1)",
        "data:text/html,<script>x</script>",
        "/\t/evil.example",
        "/\n/evil.example",
        "\x00/lessons/",
        "/lessons/\r\nLocation: https://evil.example",
        "lessons/",
    ],
)
def test_anything_but_a_path_on_this_site_falls_back(url):
    request = RequestFactory().get("/")
    assert safe_next(request, url, FALLBACK) == FALLBACK


@pytest.mark.parametrize("url", ["/", "/lessons/", "/lessons/?q=a%20b&page=2#r-3", "/é/"])
def test_a_path_on_this_site_is_kept(url):
    request = RequestFactory().get("/")
    assert safe_next(request, url, FALLBACK) == url


def test_on_https_a_path_is_still_kept(settings):
    request = RequestFactory().get("/", secure=True)
    assert safe_next(request, "/lessons/", FALLBACK) == "/lessons/"
