"""No page shows a stored code where people read words: every choice is shown by its label
("Cut your losses", not ``cut_losses``), on every page a member of the demo can reach."""

import html
import re

import pytest
from django.apps import apps
from django.core.management import call_command

from accounts.models import User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SKIP = ("logout", "export", ".md", ".csv", "/api/", "/portal/", "/admin/", "/static/", "/media/")
MAX_PAGES = 120


def choice_codes() -> set[str]:
    """Every stored code of a choice field that is not already a word (``cut_losses``)."""
    codes = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            for value, _label in getattr(field, "flatchoices", None) or ():
                if isinstance(value, str) and re.search(r"[_-]", value):
                    codes.add(value)
    return codes


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style|template)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_no_page_of_the_seeded_demo_shows_a_choice_code(client, capsys):
    call_command("seed_demo", "--force")
    capsys.readouterr()
    owner = User.objects.get(email="owner@example.com")
    owner.set_password(PASSWORD)
    owner.save()
    client.force_login(owner)
    codes = choice_codes()
    assert {"cut_losses", "in_progress", "poor_needs"} <= codes  # the scan looks for these
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(codes))) + r")(?![\w-])")
    seen, todo, leaks = set(), ["/"], []
    while todo and len(seen) < MAX_PAGES:
        url = todo.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        page = response.content.decode()
        leaks += [(url, m) for m in sorted(set(pattern.findall(visible_text(page))))]
        for link in re.findall(r'href="(/[^"#?]*)', page):
            if not any(s in link for s in SKIP) and link not in seen:
                todo.append(link)
    assert len(seen) > 20  # the crawl reached the demo's pages
    assert not leaks, f"choice codes shown as text: {leaks}"
