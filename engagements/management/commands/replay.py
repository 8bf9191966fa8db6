"""Replay scripted engagement histories through the services and the daily sweep."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.tenancy import all_organizations
from engagements import replay

HISTORY_SUFFIXES = (".yaml", ".yml")


class Command(BaseCommand):
    help = (
        "Replay scripted engagement histories (YAML) day by day through the same services the "
        "UI and API use, sweeping daily; print each day's level and every expectation. Each "
        "history runs in a scratch organization inside a transaction that is rolled back."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="history files, e.g. tests/histories/*.yaml")
        parser.add_argument("--quiet", action="store_true", help="Only failures and the table.")

    @all_organizations()  # scratch organizations of its own, created and rolled back
    def handle(self, *args, files, quiet=False, **options):
        # ``tests/histories/*`` also names the library's README and tests: only YAML is a history.
        others = [f for f in files if Path(f).suffix.lower() not in HISTORY_SUFFIXES]
        files = [f for f in files if f not in others]
        if others:
            names = ", ".join(Path(f).name for f in others)
            self.stdout.write(f"skipped {len(others)} not .yaml: {names}")
        if not files:
            raise CommandError("No history to replay: name .yaml files.")
        try:
            histories = [replay.load(path) for path in files]
        except replay.HistoryError as exc:
            raise CommandError(str(exc)) from None
        results = replay.replay_many(histories)
        for result in results:
            if not quiet or not result.ok:
                self.stdout.write(replay.report(result) + "\n")
        self.stdout.write(replay.table(results) + "\n")
        failed = [r.history.name for r in results if not r.ok]
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(results)} histories failed: {', '.join(failed)}"
            )
