"""Second tenant oracle: the attacker's own pages never show a word of the victim's data.

The 404 crawler asks for the victim's ids. This one asks for nothing foreign: every row of
the victim organization carries a marker text, the attacker's organization gets a world of
its own, and an owner of it then walks everything it can reach -- every page, link and
fragment (plain GET and htmx GET with the target the page names), every GET form submitted
with every option of its selects, the victim's ids, a search for the marker and junk
values, every API list, every export -- and every route of the URL conf once more with junk
in its query string. The marker must never appear, and nothing may answer 5xx.

A queryset built at import time (the lessons filter's vendor dropdown once listed every
organization's vendors) or a search that forgets the organization shows up here as the
marker in an attacker's page.
"""

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.test import Client
from django.urls import resolve

from accounts.models import Role, TokenScope
from accounts.services import create_api_token
from tests import factories as f
from tests.security.test_role_matrix import all_routes
from tests.security.test_tenant_isolation import MARKER, fill, victim_world

OWN = "ATTACKER-OWN-ROW"
# Junk of the kinds people and fuzzers type where a number is expected.
# The last is a search for the victim's rows: a word of the marker, so that a page echoing
# what was typed does not count as a leak, while a result row carrying it does.
JUNK = ["²", "٣", "99999999999999999999", "-1", "", "1e5", " 7 ", "0x10", "VICTIM"]
SKIP_PATHS = ("/static/", "/media/", "/admin/", "/api/v1/docs")
MONITORS = ("/watcherz", "/readyz")  # answer 503 by design when the watcher or broker is down
MAX_VARIANTS_PER_PATH = 12
# Query parameters that name a row of some kind (filters by vendor, engagement, member...).
ID_PARAMS = {
    "vendor",
    "engagement",
    "owner",
    "object",
    "user",
    "member",
    "milestone",
    "contract",
}  # query-string variants of one path (sorting, paging links...)


class Page(HTMLParser):
    """Links, htmx GETs, GET forms (fields with their options) and element ids of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: set[str] = set()
        self.fragments: set[tuple[str, str]] = set()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.add(a["href"])
        if a.get("hx-get"):
            target = a.get("hx-target", "")
            if target in ("", "this"):
                target = a.get("id", "")
            self.fragments.add((a["hx-get"], target.lstrip("#")))
        if tag == "form" and a.get("method", "get").lower() == "get":
            self._form = {"action": a.get("action", ""), "fields": {}}
            self.forms.append(self._form)
        if self._form is None or not (a.get("name") or tag == "option"):
            return
        fields = self._form["fields"]
        if tag == "option" and self._select:
            fields[self._select]["options"].append(a.get("value", ""))
            return
        if tag == "input" and a.get("type") not in ("submit", "button", "checkbox", "radio"):
            fields.setdefault(a["name"], {"default": a.get("value", ""), "options": []})
        elif tag == "select":
            self._select = a["name"]
            fields.setdefault(a["name"], {"default": "", "options": []})
        elif tag == "textarea":
            fields.setdefault(a["name"], {"default": "", "options": []})

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        if tag == "select":
            self._select = None


def takes_an_id(name: str, spec: dict) -> bool:
    """A field that names a row: a select of ids, a number, or a parameter named for a row."""
    values = [*spec["options"], spec["default"]]
    return any(v.strip().isdigit() for v in values) or name.endswith("id") or name in ID_PARAMS


def text_of(response) -> str:
    """The body of a page, a JSON answer or a streamed export alike."""
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def same_site(url: str, base: str) -> str | None:
    """The site-relative path+query of ``url`` (relative to ``base``), or None if foreign."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith(("#", "mailto:", "javascript:")):
        return None
    path = parts.path or urlsplit(base).path
    if not path.startswith("/"):
        path = urlsplit(base).path.rsplit("/", 1)[0] + "/" + path
    if path.startswith(SKIP_PATHS):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


class Crawl:
    def __init__(self, client: Client, victim_ids: list[int]) -> None:
        self.client = client
        self.victim_ids = victim_ids
        self.seen: set[tuple[str, str]] = set()
        self.variants: dict[str, int] = {}
        self.queue: deque[tuple[str, str]] = deque()
        self.problems: list[str] = []
        self.param_names: set[str] = set()
        self.requests = 0
        self.found: set[str] = set()  # paths that answered with something other than a 404

    def add(self, url: str, target: str = "") -> None:
        path = url.split("?", 1)[0]
        if (url, target) in self.seen:
            return
        if "?" in url:
            self.param_names |= {k for k, _ in parse_qsl(url.split("?", 1)[1])}
            if self.variants.get(path, 0) >= MAX_VARIANTS_PER_PATH:
                return
            self.variants[path] = self.variants.get(path, 0) + 1
        self.seen.add((url, target))
        self.queue.append((url, target))

    def fetch(self, url: str, target: str = "", *, follow: bool = True, htmx: bool = False) -> None:
        headers = {"HX-Request": "true", "HX-Target": target} if target or htmx else {}
        response = self.client.get(url, headers=headers)
        self.requests += 1
        how = f"htmx GET {url} (target #{target})" if headers else f"GET {url}"
        if response.status_code != 404:
            self.found.add(url.split("?", 1)[0])
        if response.status_code >= 500 and not url.startswith(MONITORS):
            self.problems.append(f"{how} -> {response.status_code}")
            return
        body = text_of(response)
        if MARKER in body:
            line = next(line for line in body.splitlines() if MARKER in line).strip()[:160]
            self.problems.append(f"{how} shows victim data: {line}")
        if response.status_code in (301, 302) and response.get("Location"):
            location = same_site(response["Location"], url)
            if location and follow:
                self.add(location)
        if not follow or "html" not in response.get("Content-Type", ""):
            return
        page = Page()
        page.feed(body)
        for href in page.links:
            if (link := same_site(href, url)) is not None:
                self.add(link)
        for href, fragment_target in page.fragments:
            if (link := same_site(href, url)) is not None:
                self.add(link)
                if fragment_target:
                    self.add(link, fragment_target)
        for form in page.forms:
            self.submit_variants(form, url)

    def submit_variants(self, form: dict, base: str) -> None:
        """The form as it stands, then each field in turn with each value worth trying."""
        action = same_site(form["action"] or base.split("?", 1)[0], base)
        if action is None:
            return
        action = action.split("?", 1)[0]
        defaults = {name: spec["default"] for name, spec in form["fields"].items()}
        self.param_names |= set(defaults)
        for name, spec in form["fields"].items():
            values = {*spec["options"], *JUNK}
            if takes_an_id(name, spec):  # a search box is asked for the marker, not for ids
                values |= set(map(str, self.victim_ids))
            for value in sorted(values):
                query = urlencode({**defaults, name: value})
                key = (f"{action}?{query}", "")
                if key in self.seen:
                    continue
                self.seen.add(key)
                self.fetch(f"{action}?{query}", follow=False)

    def run(self, start: list[str]) -> None:
        for url in start:
            self.add(url)
        while self.queue:
            url, target = self.queue.popleft()
            self.fetch(url, target)


def attacker_and_victim(org, owner, other_org):
    attacker = f.MembershipFactory(
        org=other_org, role=Role.OWNER, user=f.UserFactory(email="attacker@rival.test")
    )
    world = victim_world(org, owner.user)
    own = victim_world(other_org, attacker.user, marker=OWN)
    victim_ids = sorted({row.pk for rows in world.values() for row in rows})
    return attacker, own, victim_ids


def start_pages(own: dict) -> list[str]:
    """Every route of the URL conf without parameters, and each with the attacker's own ids."""
    own_ids = sorted({row.pk for rows in own.values() for row in rows})
    starts = []
    for regex, names in all_routes():
        if "token" in names:
            continue
        if not names:
            starts.append(fill(regex, {}))
        elif len(names) == 1:
            starts += [fill(regex, {names[0]: pk}) for pk in own_ids]
    return [s for s in starts if not s.startswith(SKIP_PATHS)]


@pytest.mark.slow
@pytest.mark.django_db
def test_an_owner_crawling_their_own_organization_never_sees_another_organizations_data(
    org, owner, other_org, loose_rate_limit
):
    attacker, own, victim_ids = attacker_and_victim(org, owner, other_org)
    client = Client(raise_request_exception=False)  # a 500 is a finding, not the end
    client.force_login(attacker.user)

    crawl = Crawl(client, victim_ids)
    # Each route with an id, tried with the attacker's ids until one is its own: the world
    # holds one row of each kind, so the other ids of that route are all a 404.
    candidates: dict[str, list[str]] = {}
    for url in start_pages(own):
        match = resolve(url.split("?")[0])
        if match.url_name in ("logout",) or url.startswith("/api/"):
            continue
        candidates.setdefault(match.route, []).append(url)
    for urls in candidates.values():
        for url in urls:
            crawl.seen.add((url, ""))
            crawl.fetch(url)
            if url in crawl.found:
                break
    crawl.run([])

    # Each page once more as htmx asks for it (no target, an unknown one), and with junk in
    # every query parameter the site uses anywhere. Only pages that exist: the start list
    # fills every route with every id of the attacker's, and most of those are another
    # kind's id (a 404 whatever the query says; the role matrix sends junk to every route).
    pages = sorted(crawl.found)
    for page in pages:
        crawl.fetch(page, "", follow=False, htmx=True)
        crawl.fetch(page, "no-such-region", follow=False)
    for value in JUNK:
        junk = urlencode(dict.fromkeys(sorted(crawl.param_names), value))
        for page in pages:
            crawl.fetch(f"{page}?{junk}", follow=False)

    print(f"marker crawl: {crawl.requests} requests, {len(pages)} pages found")
    assert crawl.requests > 1000, f"the crawl reached too little: {crawl.requests} requests"
    assert not crawl.problems, "\n".join(crawl.problems[:40])


@pytest.mark.django_db
def test_every_api_list_and_search_of_the_attacker_shows_only_its_own_rows(
    org, owner, other_org, loose_rate_limit
):
    attacker, own, victim_ids = attacker_and_victim(org, owner, other_org)
    _, secret = create_api_token(
        org=other_org, user=attacker.user, name="crawler", scope=TokenScope.READ
    )
    client = Client(raise_request_exception=False, headers={"Authorization": f"Bearer {secret}"})
    problems, lists = [], 0
    for url in start_pages(own):
        if not url.startswith("/api/") or url.endswith("openapi.json"):
            continue
        for query in ["", "q=VICTIM", "limit=200", *(f"vendor={pk}" for pk in victim_ids)]:
            response = client.get(f"{url}?{query}" if query else url)
            if response.status_code >= 500:
                problems.append(f"GET {url}?{query} -> {response.status_code}")
            elif MARKER in text_of(response):
                problems.append(f"GET {url}?{query} shows victim data")
            lists += response.status_code == 200
            if not query and response.status_code == 404:
                break  # one of the attacker's ids of another kind: no list to filter here
    assert lists > 20, f"too few API answers to mean anything: {lists}"
    assert not problems, "\n".join(problems[:40])


def test_the_page_parser_finds_links_fragments_and_form_options():
    """The crawler's eyes: if it stopped seeing selects or hx-get, the oracle would go blind."""
    page = Page()
    page.feed(
        '<a href="/lessons/?q=x">x</a><div id="panel" hx-get="/frag/" hx-target="#list"></div>'
        '<form method="get" action="/lessons/"><input name="q" value="a">'
        '<select name="vendor"><option value="">Any</option><option value="7">V</option>'
        "</select></form>"
    )
    assert "/lessons/?q=x" in page.links
    assert ("/frag/", "list") in page.fragments
    assert page.forms[0]["fields"]["vendor"]["options"] == ["", "7"]
    assert re.fullmatch(r"/lessons/(\?.*)?", same_site("/lessons/", "/"))
