"""Demo code activity (``manage.py seed_demo``): the drifting engagement's vendor works in
GitHub (the app), GitLab (the design system) and Jira (the generic format); the component
library, in progress and past due, went silent in GitLab 16 days ago while the app's
repository and Jira stay busy, and the watcher says so. One repository nobody
mapped waits in triage. Idempotent: nothing is added once the organization has a connection.

Every delivery goes through the real pipeline (``services.receive``), signed with the
connection's secret as GitHub, GitLab and a generic tool sign, dated in the past."""

import hashlib
import hmac
import json
from datetime import datetime, timedelta

from django.utils import timezone

from engagements.delivery.models import ActivityRule, Deliverable, Engagement
from engagements.forges import services
from engagements.forges.models import ForgeConnection

ENGAGEMENT = "Mobile app redesign"
APP, DESIGN, JIRA = "pixelworks/mobile-app", "pixelworks/design-system", "MOB"


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _github(connection, event: str, body: dict, n: int) -> None:
    raw = json.dumps(body).encode()
    signature = hmac.new(connection.secret.encode(), raw, hashlib.sha256).hexdigest()
    services.receive(
        services.Call(
            forge="github",
            token=connection.token,
            headers={
                "x-github-event": event,
                "x-github-delivery": f"demo-github-{n}",
                "x-hub-signature-256": f"sha256={signature}",
            },
            body=raw,
            size=len(raw),
            content_type="application/json",
        )
    )


def _gitlab(connection, event: str, body: dict, n: int) -> None:
    raw = json.dumps(body).encode()
    services.receive(
        services.Call(
            forge="gitlab",
            token=connection.token,
            headers={
                "x-gitlab-event": event,
                "x-gitlab-token": connection.secret,
                "idempotency-key": f"demo-gitlab-{n}",
            },
            body=raw,
            size=len(raw),
            content_type="application/json",
        )
    )


def _generic(connection, body: dict, n: int) -> None:
    raw = json.dumps(body).encode()
    now = int(timezone.now().timestamp())
    services.receive(
        services.Call(
            forge="generic",
            token=connection.token,
            headers={
                "vendorwatch-signature": services.sign_generic(
                    connection.secret, raw, timestamp=now
                ),
                "idempotency-key": f"demo-jira-{n}",
            },
            body=raw,
            size=len(raw),
            content_type="application/json",
        )
    )


def _push(repository: str, branch: str, at: datetime, message: str) -> dict:
    sha = hashlib.sha1(f"{repository}{branch}{at}".encode()).hexdigest()
    commit = {
        "id": sha,
        "message": message,
        "timestamp": _iso(at),
        "url": f"https://github.com/{repository}/commit/{sha}",
        "author": {"name": "Priya N.", "email": "priya@pixelworks.example"},
    }
    return {
        "ref": f"refs/heads/{branch}",
        "repository": {"full_name": repository, "pushed_at": int(at.timestamp())},
        "commits": [commit],
        "head_commit": commit,
        "compare": f"https://github.com/{repository}/compare/{sha[:12]}",
        "deleted": False,
    }


def seed_forges(accounts) -> int:
    """Connections, mapping and a month of activity for the drifting engagement; deliveries."""
    org, manager, owner = accounts.org, accounts.manager, accounts.owner
    engagement = Engagement.unscoped.filter(org=org, title=ENGAGEMENT).first()
    if engagement is None or ForgeConnection.unscoped.filter(org=org).exists():
        return 0
    screens = Deliverable.unscoped.filter(engagement=engagement, title="Key screens").first()
    library = Deliverable.unscoped.filter(engagement=engagement, title="Component library").first()
    github = services.create_connection(org=org, by=owner, forge="github", name="Pixelworks GitHub")
    gitlab = services.create_connection(org=org, by=owner, forge="gitlab", name="Pixelworks GitLab")
    jira = services.create_connection(org=org, by=owner, forge="generic", name="Jira automation")
    for forge, repository in (("github", APP), ("gitlab", DESIGN), ("generic", JIRA)):
        services.map_repository(
            engagement=engagement, by=manager, forge=forge, repository=repository
        )
    rules = []
    if library:  # in progress, past due: its work shows in GitLab
        for match, pattern in (("branch", "components/*"), ("label", "components")):
            rules.append(
                services.add_activity_rule(
                    engagement=engagement,
                    by=manager,
                    deliverable=library,
                    match=match,
                    pattern=pattern,
                )
            )
    if screens:  # planned: its early work shows on the app's screens/* branches
        rules.append(
            services.add_activity_rule(
                engagement=engagement,
                by=manager,
                deliverable=screens,
                match="branch",
                pattern="screens/*",
            )
        )
    # The rules were set when the work started (the silence counts from then, not from today).
    ActivityRule.unscoped.filter(pk__in=[r.pk for r in rules]).update(
        created_at=timezone.now() - timedelta(days=40)
    )
    now = timezone.now()
    ago = lambda days: now - timedelta(days=days)  # noqa: E731
    n = 0
    # The app: early work on the key screens, and it keeps going.
    for days, branch, message in (
        (33, "screens/onboarding", "Onboarding screens: first pass"),
        (29, "screens/checkout", "Checkout screen layout"),
        (24, "screens/checkout", "Checkout: address form"),
        (12, "screens/settings", "Settings screen"),
        (9, "chore/ci", "CI: cache the pods"),
        (4, "screens/settings", "Settings: notifications toggles"),
    ):
        n += 1
        _github(github, "push", _push(APP, branch, ago(days), message), n)
    n += 1
    _github(
        github,
        "pull_request",
        {
            "action": "opened",
            "repository": {"full_name": APP},
            "pull_request": {
                "title": "Key screens: onboarding and checkout",
                "html_url": f"https://github.com/{APP}/pull/12",
                "created_at": _iso(ago(22)),
                "updated_at": _iso(ago(22)),
                "head": {"ref": "screens/checkout"},
                "labels": [],
                "merged": False,
            },
        },
        n,
    )
    # The design system: the component library's merge requests, then nothing for 16 days.
    for days, action, title in (
        (36, "open", "Buttons and inputs"),
        (30, "merge", "Buttons and inputs"),
        (25, "open", "Cards and lists"),
        (20, "merge", "Cards and lists"),
        (16, "open", "Navigation bar"),
    ):
        n += 1
        _gitlab(
            gitlab,
            "Merge Request Hook",
            {
                "object_kind": "merge_request",
                "project": {"path_with_namespace": DESIGN},
                "labels": [{"title": "components"}],
                "object_attributes": {
                    "action": action,
                    "title": title,
                    "source_branch": f"components/{title.split()[0].lower()}",
                    "url": f"https://gitlab.com/{DESIGN}/-/merge_requests/{n}",
                    "created_at": ago(days).strftime("%Y-%m-%d %H:%M:%S UTC"),
                    "updated_at": ago(days).strftime("%Y-%m-%d %H:%M:%S UTC"),
                },
            },
            n,
        )
    # Jira: tickets keep being opened, none closed lately: busy, not delivering.
    n += 1
    _generic(
        jira,
        {
            "version": 1,
            "repository": JIRA,
            "events": [
                {
                    "kind": "issue_opened",
                    "at": _iso(ago(days)),
                    "ref": f"MOB-{40 + days}",
                    "title": title,
                }
                for days, title in (
                    (14, "Checkout: Apple Pay button misaligned"),
                    (11, "Settings: dark mode colours"),
                    (6, "Onboarding: skip button copy"),
                )
            ],
        },
        n,
    )
    # A repository nobody mapped: its push waits in triage.
    n += 1
    _github(
        github, "push", _push("pixelworks/marketing-site", "main", ago(2), "Landing page copy"), n
    )
    return n
