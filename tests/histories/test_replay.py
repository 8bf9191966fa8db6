"""The watcher's judgement on whole scripted histories (tests/histories/*.yaml), day by day.

Every history is replayed through the services and the daily sweep; the library's table
(lead times, false alarms, recovery) is printed (``pytest -s`` or on failure).
"""

from pathlib import Path

import pytest

from engagements import replay

HERE = Path(__file__).parent
FILES = sorted(HERE.glob("*.yaml"))


_replayed: dict[str, replay.Result] = {}


@pytest.fixture
def results(db) -> dict[str, replay.Result]:
    """The whole library, replayed once for this module (side by side: one sweep a day)."""
    if not _replayed:
        histories = [replay.load(f) for f in FILES]
        _replayed.update({r.history.name: r for r in replay.replay_many(histories)})
    return _replayed


def test_the_library_covers_every_kind_with_at_least_40_histories(results):
    kinds = {r.history.kind for r in results.values()}
    assert len(results) >= 40
    assert {"failing", "healthy", "recovering", "our_side"} <= kinds


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_history_meets_its_expectations(results, path):
    result = results[replay.load(path).name]
    assert result.ok, replay.report(result)


def test_library_table(results, capsys):
    table = replay.table(list(results.values()))
    with capsys.disabled():
        print("\n" + table)
    assert f"{len(results)}/{len(results)} histories pass" in table
