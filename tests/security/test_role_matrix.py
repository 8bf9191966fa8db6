"""Role matrix: anonymous, viewer, manager and owner against every route that can write.

Every URL pattern of the URL conf is posted to (ids filled with the organization's own
rows) by each role. The documented permissions: anonymous visitors are sent to log in (API:
401); viewers are refused every write (403) except the few views marked ``allow_viewer``;
managers may write everything except what is declared owner-only (``owner_required``);
owners are never refused by role. Nobody ever gets a 500 for an empty or junk post.
"""

import itertools
import re

import pytest
from django.test import Client
from django.urls import resolve

from accounts.models import Role, TokenScope
from accounts.services import create_api_token
from tests.security.test_tenant_isolation import fill, victim_world


def all_routes() -> list[tuple[str, list[str]]]:
    from django.urls import URLPattern, URLResolver, get_resolver

    found = []

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            regex = prefix + p.pattern.regex.pattern.lstrip("^").rstrip("$").replace("\\Z", "")
            if isinstance(p, URLResolver):
                walk(p.url_patterns, regex)
            elif isinstance(p, URLPattern):
                names = re.findall(r"\(\?P<(\w+)>", regex)
                found.append((regex, names))

    walk(get_resolver().url_patterns, "")
    return [(r, n) for r, n in found if not r.startswith("admin/")]


def unwrap_attr(func, name: str, default=None):
    while func is not None:
        if hasattr(func, name):
            return getattr(func, name)
        func = getattr(func, "__wrapped__", None)
    return default


def paths(ids: list[int]) -> list[str]:
    out = []
    for regex, names in all_routes():
        if any(n in ("token",) for n in names):
            continue  # link tokens are secrets, not ids
        for combo in itertools.product(ids[:3], repeat=len(names)) if names else [()]:
            out.append(fill(regex, dict(zip(names, combo, strict=True))))
    return sorted(set(out))


# The documented permissions (README, "Roles"). Every other route: managers and owners write,
# viewers read.
OWNER_ONLY = {
    "accounts:member_invite",
    "accounts:member_update",
    "accounts:member_remove",
    "accounts:invitation_revoke",
    "accounts:organization_settings",
    "accounts:audit_list",
    "accounts:organization_export",
    "vendors:vendor_settings",
    "engagements:postmortem_publish",  # post-mortems: owners publish
    # health watcher's notification settings are owner-only (owner_required in its views)
    "engagements:channel_create",
    "engagements:channel_test",
    "engagements:channel_update",
    "engagements:channel_delete",
    "engagements:escalation_policy_save",
    "api:channels",  # POST adds a channel (GET, any member, lists them)
    # code forges: owners manage the webhook connections and their secrets
    "engagements:forge_create",
    "engagements:forge_rotate",
    "engagements:forge_revoke",
}
VIEWERS_MAY_POST = {  # they change only the viewer's own session or tokens
    "accounts:organization_switch",
    "accounts:apitoken_create",
    "accounts:apitoken_revoke",
    "engagements:lesson_read",  # post-mortems: a viewer marks a lesson read for themselves
    "engagements:digest_toggle",  # health watcher: a viewer opts out of their own digest
    "engagements:calendar_feed_create",  # capture: a viewer's own calendar feed
    "engagements:calendar_feed_revoke",
}


def expectation(role: str, view_name: str) -> str:
    """What the documented permissions say ``role`` gets when it posts to a route."""
    if role == "anonymous":
        return "unauthenticated"
    if role == Role.VIEWER and view_name not in VIEWERS_MAY_POST:
        return "forbidden"
    if role == Role.MANAGER and view_name in OWNER_ONLY:
        return "forbidden"
    return "allowed"


def verdict(response, *, api: bool) -> str:
    code = response.status_code
    if code >= 500:
        return f"server error {code}"
    if code == 405:
        return "no-post"
    if code == 403:
        return "forbidden"
    if api and code == 401:
        return "unauthenticated"
    if not api and code == 302 and "/login/" in response["Location"]:
        return "unauthenticated"
    return "allowed"


# One test per role (each on a fresh world: an owner's posts remove members and revoke
# tokens), so that a parallel run (pytest-xdist) shares them out.
ROLES = ["anonymous", Role.VIEWER, Role.MANAGER, Role.OWNER]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_write_route_refuses_exactly_the_roles_it_should(org, owner, manager, viewer, role):
    victim_world(org, owner.user)
    members = {Role.VIEWER: viewer, Role.MANAGER: manager, Role.OWNER: owner}
    ids = [1, 2]
    problems = []
    client, headers = Client(), {}
    if role != "anonymous":
        member = members[role]
        client = member.client()
        scope = TokenScope.READ if role == Role.VIEWER else TokenScope.WRITE
        headers = {
            "Authorization": f"Bearer {create_api_token(org=org, user=member.user, name=role, scope=scope)[1]}"
        }
    for path in paths(ids):
        api = path.startswith("/api/")
        match = resolve(path)
        if (
            match.url_name == "logout"
            or path.startswith("/api/v1/docs")
            or path.endswith("openapi.json")
        ):
            continue  # log-out would end the session the crawl runs on; docs are public reads
        if not api and unwrap_attr(match.func, "login_required", True) is False:
            continue  # public pages (log-in, invitation links, health checks)
        response = client.post(
            path,
            data="{}" if api else "",
            content_type="application/json" if api else "application/x-www-form-urlencoded",
            headers=headers if api else {},
        )
        got = verdict(response, api=api)
        if got == "no-post" or (
            api and got == "allowed" and response.status_code == 404 and role == "anonymous"
        ):
            continue
        wanted = expectation(role, match.view_name)
        if got != wanted:
            problems.append(
                f"{role} POST {path} -> {response.status_code} ({got}), documented: {wanted}"
            )
    assert not problems, "\n".join(problems[:40])


JUNK_QUERIES = [
    "",
    "page=²&type=²&vendor=²&owner=²&object=²",
    "page=99999999999999999999&type=99999999999999999999&vendor=99999999999999999999",
    "page=-1&type=-1&vendor=-1&object=-1&since=-1",
    "page=&type=&vendor=&object=&since=&level=&status=&sort=",
]


HTMX_WAYS = [{"HX-Request": "true"}, {"HX-Request": "true", "HX-Target": "no-such-region"}]


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_route_read_by_every_role_plain_htmx_or_with_junk_never_breaks(
    org, owner, manager, viewer, loose_rate_limit, role
):
    """Reading never fails with a 5xx, whoever asks, however they ask (a fragment URL
    followed without JavaScript, htmx naming no or an unknown region, junk in the query),
    and a form's address opened as a page says so instead of answering blank."""
    victim_world(org, owner.user)
    members = {Role.VIEWER: viewer, Role.MANAGER: manager, Role.OWNER: owner}
    problems = []
    client = Client(raise_request_exception=False)
    headers = {}
    if role != "anonymous":
        member = members[role]
        client.force_login(member.user)
        token = create_api_token(org=org, user=member.user, name=role, scope=TokenScope.READ)
        headers = {"Authorization": f"Bearer {token[1]}"}
    for path in paths([1, 2]):
        if path.startswith("/admin/") or path.endswith(("/logout/", "/watcherz", "/readyz")):
            continue
        api = path.startswith("/api/")
        for query in JUNK_QUERIES:
            url = f"{path}?{query}" if query else path
            ways = [{}] if api or query else [{}, *HTMX_WAYS]
            for htmx in ways:
                response = client.get(url, headers={**htmx, **(headers if api else {})})
                how = "htmx " if htmx else ""
                if response.status_code >= 500:
                    problems.append(f"{role}: {how}GET {url} -> {response.status_code}")
                elif response.status_code == 405 and not response.content:
                    problems.append(f"{role}: {how}GET {url} -> a blank 405")
    assert not problems, "\n".join(problems[:40])
