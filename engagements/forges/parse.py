"""What a forge's payload says, as traces of work: GitHub, GitLab and the generic format.

Pure functions from (event name, decoded JSON) to ``Parsed``: the repository and the events it
carries. A payload of an event we do not take raises ``UnknownEvent``; one we cannot read
raises ``Unreadable`` (both become a 400 with the reason). A known event that is not work
(a label edited, a branch deleted) parses to no events, with ``ignored`` saying why.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

from engagements.delivery.models import ActivityKind as K

GITHUB_EVENTS = ("push", "pull_request", "issues", "release")
GITLAB_EVENTS = ("Push Hook", "Merge Request Hook", "Issue Hook", "Release Hook")
GENERIC_EVENTS = ("activity",)
GENERIC_KINDS = tuple(K.values)
MAX_GENERIC_EVENTS = 100


class Unreadable(ValueError):
    """The payload is not what this event's payload looks like."""


class UnknownEvent(ValueError):
    """An event we do not take."""


@dataclass
class Event:
    kind: str
    occurred_at: datetime
    ref: str = ""  # the branch (commits, merge requests), a tag, an issue key
    labels: tuple[str, ...] = ()
    title: str = ""
    text: str = ""  # commit messages: what keywords are looked for in, with the title
    url: str = ""
    count: int = 1


@dataclass
class Parsed:
    repository: str
    action: str = ""
    events: list[Event] = field(default_factory=list)
    ignored: str = ""  # why a known event carries no work


def moment(value) -> datetime:
    """A forge's timestamp: ISO 8601 (``Z`` or an offset), GitLab's ``2024-05-01 10:00:00 UTC``
    or Unix seconds; naive means UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value:
        raise Unreadable(f"no readable time ({value!r})")
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise Unreadable(f"unreadable time {value[:40]!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _first_moment(*values) -> datetime:
    for value in values:
        if value not in (None, ""):
            return moment(value)
    raise Unreadable("no time in the payload")


def _dict(value, name: str) -> dict:
    if not isinstance(value, dict):
        raise Unreadable(f"“{name}” is missing or not an object")
    return value


def _str(value) -> str:
    return value if isinstance(value, str) else ""


def _branch(ref: str) -> str:
    return ref.removeprefix("refs/heads/")


def _labels(items, key: str) -> tuple[str, ...]:
    if not isinstance(items, list):
        return ()
    return tuple(_str(i.get(key)) for i in items if isinstance(i, dict) and _str(i.get(key)))[:50]


def parse(forge: str, event: str, payload) -> Parsed:
    """The repository and traces of work of one delivery."""
    if not isinstance(payload, dict):
        raise Unreadable("the body is not a JSON object")
    try:
        if forge == "github":
            return _github(event, payload)
        if forge == "gitlab":
            return _gitlab(event, payload)
        return _generic(event, payload)
    except (KeyError, TypeError, AttributeError) as exc:
        raise Unreadable(f"unexpected {forge} {event} payload ({exc.__class__.__name__})") from exc


# --- GitHub -----------------------------------------------------------------------------------


def _github(event: str, p: dict) -> Parsed:
    if event not in GITHUB_EVENTS:
        raise UnknownEvent(
            f"GitHub event “{event}” is not one we take ({', '.join(GITHUB_EVENTS)})"
        )
    repository = _str(_dict(p.get("repository"), "repository").get("full_name"))
    if not repository:
        raise Unreadable("no repository.full_name")
    action = _str(p.get("action"))
    out = Parsed(repository=repository.lower(), action=action)
    if event == "push":
        ref = _str(p.get("ref"))
        commits = [c for c in p.get("commits") or [] if isinstance(c, dict)]
        if p.get("deleted"):
            out.ignored = f"branch {_branch(ref)} deleted"
        elif ref.startswith("refs/tags/"):
            out.ignored = "a tag push (the release counts)"
        elif not commits:
            out.ignored = "a push without commits"
        else:
            head = p.get("head_commit") if isinstance(p.get("head_commit"), dict) else {}
            latest = max(
                (moment(c["timestamp"]) for c in commits if c.get("timestamp")),
                default=None,
            )
            out.events.append(
                Event(
                    kind=K.COMMITS,
                    occurred_at=latest
                    or _first_moment(head.get("timestamp"), p["repository"].get("pushed_at")),
                    ref=_branch(ref),
                    title=_str(head.get("message")).split("\n", 1)[0]
                    or _str(commits[-1].get("message")).split("\n", 1)[0],
                    text="\n".join(_str(c.get("message")) for c in commits[:50]),
                    url=_str(p.get("compare")),
                    count=len(commits),
                )
            )
    elif event == "pull_request":
        pr = _dict(p.get("pull_request"), "pull_request")
        kind = {
            "opened": K.OPENED,
            "reopened": K.OPENED,
            "synchronize": K.UPDATED,
            "ready_for_review": K.UPDATED,
            "closed": K.MERGED if pr.get("merged") else K.CLOSED,
        }.get(action)
        if kind is None:
            out.ignored = f"pull request {action or 'event'}: not work"
        else:
            when = {
                K.MERGED: pr.get("merged_at"),
                K.CLOSED: pr.get("closed_at"),
                K.OPENED: pr.get("created_at") if action == "opened" else pr.get("updated_at"),
            }.get(kind) or pr.get("updated_at")
            out.events.append(
                Event(
                    kind=kind,
                    occurred_at=_first_moment(when, pr.get("updated_at"), pr.get("created_at")),
                    ref=_str(_dict(pr.get("head"), "pull_request.head").get("ref")),
                    labels=_labels(pr.get("labels"), "name"),
                    title=_str(pr.get("title")),
                    text=_str(pr.get("body")),
                    url=_str(pr.get("html_url")),
                )
            )
    elif event == "issues":
        issue = _dict(p.get("issue"), "issue")
        kind = {"opened": K.ISSUE_OPENED, "reopened": K.ISSUE_OPENED, "closed": K.ISSUE_CLOSED}.get(
            action
        )
        if kind is None:
            out.ignored = f"issue {action or 'event'}: not work"
        else:
            out.events.append(
                Event(
                    kind=kind,
                    occurred_at=_first_moment(
                        issue.get("closed_at") if kind == K.ISSUE_CLOSED else None,
                        issue.get("updated_at"),
                        issue.get("created_at"),
                    ),
                    ref=f"#{issue.get('number')}",
                    labels=_labels(issue.get("labels"), "name"),
                    title=_str(issue.get("title")),
                    text=_str(issue.get("body")),
                    url=_str(issue.get("html_url")),
                )
            )
    else:  # release
        release = _dict(p.get("release"), "release")
        if action != "published":
            out.ignored = f"release {action or 'event'} (a release counts when published)"
        else:
            tag = _str(release.get("tag_name"))
            out.events.append(
                Event(
                    kind=K.RELEASE,
                    occurred_at=_first_moment(
                        release.get("published_at"), release.get("created_at")
                    ),
                    ref=tag,
                    title=_str(release.get("name")) or tag,
                    text=_str(release.get("body")),
                    url=_str(release.get("html_url")),
                )
            )
    return out


# --- GitLab -----------------------------------------------------------------------------------

ZERO_SHA = "0" * 40


def _gitlab(event: str, p: dict) -> Parsed:
    if event not in GITLAB_EVENTS:
        raise UnknownEvent(
            f"GitLab event “{event}” is not one we take ({', '.join(GITLAB_EVENTS)})"
        )
    project = _dict(p.get("project"), "project")
    repository = _str(project.get("path_with_namespace"))
    if not repository:
        raise Unreadable("no project.path_with_namespace")
    out = Parsed(repository=repository.lower())
    if event == "Push Hook":
        ref = _str(p.get("ref"))
        commits = [c for c in p.get("commits") or [] if isinstance(c, dict)]
        total = p.get("total_commits_count")
        count = total if isinstance(total, int) and total > 0 else len(commits)
        if _str(p.get("after")) == ZERO_SHA:
            out.ignored = f"branch {_branch(ref)} deleted"
        elif not count:
            out.ignored = "a push without commits"
        else:
            latest = max(
                (moment(c["timestamp"]) for c in commits if c.get("timestamp")), default=None
            )
            last = commits[-1] if commits else {}
            out.events.append(
                Event(
                    kind=K.COMMITS,
                    occurred_at=latest or datetime.now(UTC),
                    ref=_branch(ref),
                    title=_str(last.get("title")) or _str(last.get("message")).split("\n", 1)[0],
                    text="\n".join(_str(c.get("message")) for c in commits[:50]),
                    url=_str(last.get("url")),
                    count=count,
                )
            )
        return out
    if event == "Release Hook":  # its attributes are at the top level
        return _gitlab_release(p, out)
    attributes = _dict(p.get("object_attributes"), "object_attributes")
    action = _str(attributes.get("action"))
    out.action = action
    labels = _labels(p.get("labels"), "title")
    if event == "Merge Request Hook":
        kind = {
            "open": K.OPENED,
            "reopen": K.OPENED,
            "merge": K.MERGED,
            "close": K.CLOSED,
        }.get(action)
        if action == "update" and p.get("object_attributes", {}).get("oldrev"):
            kind = K.UPDATED  # new commits pushed to the merge request
        if kind is None:
            out.ignored = f"merge request {action or 'event'}: not work"
        else:
            out.events.append(
                Event(
                    kind=kind,
                    occurred_at=_first_moment(
                        attributes.get("updated_at"), attributes.get("created_at")
                    ),
                    ref=_str(attributes.get("source_branch")),
                    labels=labels,
                    title=_str(attributes.get("title")),
                    text=_str(attributes.get("description")),
                    url=_str(attributes.get("url")),
                )
            )
    else:  # Issue Hook
        kind = {"open": K.ISSUE_OPENED, "reopen": K.ISSUE_OPENED, "close": K.ISSUE_CLOSED}.get(
            action
        )
        if kind is None:
            out.ignored = f"issue {action or 'event'}: not work"
        else:
            out.events.append(
                Event(
                    kind=kind,
                    occurred_at=_first_moment(
                        attributes.get("closed_at") if kind == K.ISSUE_CLOSED else None,
                        attributes.get("updated_at"),
                        attributes.get("created_at"),
                    ),
                    ref=f"#{attributes.get('iid')}",
                    labels=labels,
                    title=_str(attributes.get("title")),
                    text=_str(attributes.get("description")),
                    url=_str(attributes.get("url")),
                )
            )
    return out


def _gitlab_release(p: dict, out: Parsed) -> Parsed:
    action = _str(p.get("action"))
    out.action = action
    if action != "create":
        out.ignored = f"release {action or 'event'} (a release counts when created)"
        return out
    tag = _str(p.get("tag"))
    out.events.append(
        Event(
            kind=K.RELEASE,
            occurred_at=_first_moment(p.get("released_at"), p.get("created_at")),
            ref=tag,
            title=_str(p.get("name")) or tag,
            text=_str(p.get("description")),
            url=_str(p.get("url")),
        )
    )
    return out


# --- generic ----------------------------------------------------------------------------------


def _generic(event: str, p: dict) -> Parsed:
    """``{"version": 1, "repository": "REP", "events": [{"kind", "at", "ref", "labels",
    "title", "text", "url", "count"}]}`` (docs/forges.md)."""
    if event not in GENERIC_EVENTS:
        raise UnknownEvent(f"event “{event}” is not one we take (activity)")
    if p.get("version") != 1:
        raise Unreadable("“version” must be 1")
    repository = _str(p.get("repository")).strip()
    if not repository:
        raise Unreadable("no “repository”")
    items = p.get("events")
    if not isinstance(items, list) or not items:
        raise Unreadable("“events” must be a non-empty list")
    if len(items) > MAX_GENERIC_EVENTS:
        raise Unreadable(f"at most {MAX_GENERIC_EVENTS} events per delivery")
    out = Parsed(repository=repository.lower()[:200])
    for i, item in enumerate(items):
        item = _dict(item, f"events[{i}]")
        kind = item.get("kind")
        if kind not in GENERIC_KINDS:
            raise UnknownEvent(
                f"events[{i}].kind “{str(kind)[:40]}” is not one we take ({', '.join(GENERIC_KINDS)})"
            )
        count = item.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise Unreadable(f"events[{i}].count must be a whole number ≥ 1")
        labels = item.get("labels") or []
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise Unreadable(f"events[{i}].labels must be a list of strings")
        out.events.append(
            Event(
                kind=kind,
                occurred_at=moment(item.get("at")),
                ref=_str(item.get("ref")),
                labels=tuple(labels[:50]),
                title=_str(item.get("title")),
                text=_str(item.get("text"))[:10_000],
                url=_str(item.get("url")),
                count=count,
            )
        )
    return out
