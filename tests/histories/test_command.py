"""``manage.py replay``: what a person running it sees, and that it leaves nothing behind."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Organization, User
from engagements import replay
from engagements.models import Engagement

HERE = Path(__file__).parent
PASSING = HERE / "failing-silent-vendor-abrupt.yaml"


def run(*files) -> str:
    from io import StringIO

    out = StringIO()
    call_command("replay", *map(str, files), stdout=out)
    return out.getvalue()


@pytest.mark.no_tenant_scope  # the command declares its own scope, like beat's tasks
def test_replay_prints_each_day_the_first_days_and_every_check_and_leaves_nothing(db):
    before = (Organization.objects.count(), User.objects.count())
    out = run(PASSING)
    assert "PASS failing-silent-vendor-abrupt (failing, missed_contact, abrupt)" in out
    assert "days 0-75: ....... ....... ....... ." in out
    assert "first reached: watch day 22, warning day 36, cut_losses day 50" in out
    assert "ok   cut your losses ≥ 14 days before the end (day 75) (day 50, 25 days ahead)" in out
    assert "1/1 histories pass" in out
    assert (Organization.objects.count(), User.objects.count()) == before
    from accounts.tenancy import all_organizations

    with all_organizations():
        assert not Engagement.objects.exists()


def test_a_history_the_watcher_misjudges_fails_the_command(db, tmp_path):
    # The same silent vendor, told as if it were a healthy engagement.
    text = PASSING.read_text().replace("kind: failing", "kind: healthy")
    misjudged = tmp_path / "silent-but-called-healthy.yaml"
    misjudged.write_text(text)
    with pytest.raises(CommandError, match="1 of 2 histories failed: silent-but-called-healthy"):
        run(PASSING, misjudged)


def test_an_unreadable_history_is_refused_with_its_file_and_problem(db, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("end: 10\nengagement: {budget: 1000}\nevents:\n  3: {accept: nothing}\n")
    with pytest.raises(CommandError, match=r"bad.yaml: day 3: no deliverable 'nothing'"):
        run(bad)


def test_an_event_the_services_refuse_fails_that_history_with_the_reason(db, tmp_path):
    refused = tmp_path / "refused.yaml"
    refused.write_text(
        "kind: other\nend: 10\nengagement: {budget: 1000}\n"
        "deliverables: [{key: a, due: 5, value: 1000}]\nevents:\n  3: {accept: a}\n"
    )
    result = replay.replay(replay.load(refused))
    assert not result.ok
    assert result.error.startswith("day 3: ValidationError: “a” cannot go from planned to accepted")


def test_the_library_folder_glob_replays_its_histories_and_skips_the_rest(db):
    # ``manage.py replay tests/histories/*``: the README and the tests are named too.
    out = run(PASSING, HERE / "README.md", HERE / "__init__.py", HERE / "test_replay.py")
    assert "skipped 3 not .yaml: README.md, __init__.py, test_replay.py" in out
    assert "1/1 histories pass" in out
    with pytest.raises(CommandError, match="No history to replay"):
        run(HERE / "README.md")
