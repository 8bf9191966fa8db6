"""/api/v1/postmortems and /api/v1/lessons: what the organization learned, for other tools."""

import pytest

from engagements.models import PostMortem
from tests.postmortems.conftest import ended_engagement, published_lesson

pytestmark = pytest.mark.django_db


def test_a_script_exports_the_published_lessons_and_reads_their_post_mortem(
    client, owner, write_token
):
    lesson = published_lesson(owner.org, owner.user, text="Ask for two references before signing.")
    listed = client.get("/api/v1/lessons", headers=write_token)
    assert listed.status_code == 200, listed.json()
    (item,) = listed.json()["items"]
    assert (
        item["text"] == "Ask for two references before signing."
        and item["postmortem_id"] == lesson.postmortem_id
    )

    detail = client.get(f"/api/v1/postmortems/{lesson.postmortem_id}", headers=write_token)
    assert detail.status_code == 200, detail.json()
    body = detail.json()
    assert body["status"] == "published"
    assert [f["text"] for f in body["failures"]] == ["Nobody checked references."]
    assert [le["text"] for le in body["lessons"]] == ["Ask for two references before signing."]
    frozen = PostMortem.objects.get(pk=lesson.postmortem_id).facts
    assert body["facts"] == frozen  # the facts as frozen when the engagement ended
    assert {"spent", "accepted_value", "lost", "days_over_schedule"} <= set(body["facts"])


def test_lessons_search_finds_words_and_filters_by_category(client, owner, write_token):
    published_lesson(
        owner.org, owner.user, text="Insist on a paid trial task.", category="wrong_vendor"
    )
    published_lesson(
        owner.org, owner.user, text="Write acceptance criteria first.", category="poor_needs"
    )
    found = client.get("/api/v1/lessons?q=trial", headers=write_token).json()["items"]
    assert [le["text"] for le in found] == ["Insist on a paid trial task."]
    by_category = client.get("/api/v1/lessons?category=poor_needs", headers=write_token).json()[
        "items"
    ]
    assert [le["text"] for le in by_category] == ["Write acceptance criteria first."]


def test_drafts_lessons_are_not_listed_but_the_draft_post_mortem_is(client, owner, write_token):
    from engagements.postmortems import services

    draft = services.open_postmortem(engagement=ended_engagement(owner.org))
    services.add_lesson(postmortem=draft, text="Not yet agreed.", category="other")
    assert client.get("/api/v1/lessons", headers=write_token).json()["items"] == []
    drafts = client.get("/api/v1/postmortems?status=draft", headers=write_token).json()["items"]
    assert [p["id"] for p in drafts] == [draft.pk]


def test_other_organizations_lessons_and_post_mortems_never_appear(
    client, owner, outsider, write_token
):
    theirs = published_lesson(outsider.org, outsider.user, text="Their secret lesson.")
    assert client.get("/api/v1/lessons?q=secret", headers=write_token).json()["items"] == []
    assert (
        client.get(f"/api/v1/postmortems/{theirs.postmortem_id}", headers=write_token).status_code
        == 404
    )


def test_a_bad_category_names_the_field(client, owner, write_token):
    response = client.get("/api/v1/lessons?category=vibes", headers=write_token)
    assert response.status_code == 422
    assert "category" in response.json()["error"]["fields"]


@pytest.mark.parametrize("n", [1, 12])
def test_lesson_list_query_count_is_flat(client, owner, write_token, n, django_assert_num_queries):
    for i in range(n):
        published_lesson(owner.org, owner.user, text=f"Lesson number {i}.")
    client.get("/api/v1/me", headers=write_token)
    with django_assert_num_queries(2):  # token with membership, lessons page
        response = client.get("/api/v1/lessons", headers=write_token)
    assert len(response.json()["items"]) == n
