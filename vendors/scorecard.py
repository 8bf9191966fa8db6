"""The scorecard: per criterion, the average score, how many entries back it and how many of
those are verified; the weighted overall score and a plain-language summary.

Pure functions over one aggregate row, so the vendor page, the list's stored score and the
tests all compute it the same way.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Q

from .models import CRITERION_SHORT, Criterion, score_field


@dataclass(frozen=True)
class CriterionScore:
    criterion: Criterion
    weight: int
    average: Decimal | None
    entries: int
    verified: int

    @property
    def label(self) -> str:
        return self.criterion.label

    @property
    def flag(self) -> str:
        """Why this criterion is thin: "not scored", "claims only", or "" when backed."""
        if self.entries == 0:
            return "not scored"
        if self.verified == 0:
            return "claims only"
        return ""

    @property
    def percent(self) -> int:
        """Bar width for the SVG: 1 → 20 %, 5 → 100 %."""
        return int((self.average or 0) * 20)


@dataclass(frozen=True)
class Scorecard:
    criteria: list[CriterionScore]
    overall: Decimal | None

    @property
    def flagged(self) -> list[CriterionScore]:
        return [c for c in self.criteria if c.flag and c.weight > 0]

    @property
    def flag_text(self) -> str:
        return "; ".join(f"{c.label}: {c.flag}" for c in self.flagged)

    @property
    def summary(self) -> str:
        """E.g. "Strong expertise, backed by 3 verified entries; business understanding unproven."

        Criteria are grouped by strength and by whether verified evidence backs them, the
        heaviest-weighted first, so the sentence stays short."""
        groups: dict[tuple[str, bool], list[CriterionScore]] = {}
        for c in sorted(self.criteria, key=lambda c: (-c.weight, c.criterion.label)):
            if c.entries:
                word = "strong" if c.average >= 4 else "adequate" if c.average >= 3 else "weak"
                groups.setdefault((word, c.verified > 0), []).append(c)
        parts = []
        for (word, verified), items in groups.items():
            if not verified:
                names = _join([CRITERION_SHORT[c.criterion] for c in items])
                parts.append(f"{word} {names} on claims only")
            elif len(items) == 1:
                c = items[0]
                noun = "entry" if c.verified == 1 else "entries"
                parts.append(
                    f"{word} {CRITERION_SHORT[c.criterion]}, backed by {c.verified} verified {noun}"
                )
            else:
                names = _join(
                    [f"{CRITERION_SHORT[c.criterion]} ({c.verified} verified)" for c in items]
                )
                parts.append(f"{word} {names}")
        unproven = [
            CRITERION_SHORT[c.criterion] for c in self.criteria if c.entries == 0 and c.weight
        ]
        if unproven:
            parts.append(f"{_join(unproven)} unproven")
        if not parts:
            return "No scored evidence yet."
        text = "; ".join(parts)
        return text[0].upper() + text[1:] + "."


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def aggregates() -> dict:
    """The aggregate expressions of one scorecard, for ``Evidence.objects.live().aggregate()``
    or ``.values("vendor_id").annotate()`` (the set-based recomputation)."""
    expressions = {}
    for c in Criterion:
        field = score_field(c)
        expressions[f"{c.value}_avg"] = Avg(field)
        expressions[f"{c.value}_n"] = Count(field)
        expressions[f"{c.value}_verified"] = Count(field, filter=Q(verified=True))
    return expressions


def build(row: dict, weights: dict[str, int]) -> Scorecard:
    criteria = []
    for c in Criterion:
        average = row.get(f"{c.value}_avg")
        criteria.append(
            CriterionScore(
                criterion=c,
                weight=weights.get(c.value, 1),
                average=None
                if average is None
                else Decimal(str(average)).quantize(Decimal("0.1"), ROUND_HALF_UP),
                entries=row.get(f"{c.value}_n") or 0,
                verified=row.get(f"{c.value}_verified") or 0,
            )
        )
    return Scorecard(criteria=criteria, overall=overall(row, weights))


def overall(row: dict, weights: dict[str, int]) -> Decimal | None:
    """Weighted mean of the scored criteria's averages (unscored criteria do not count)."""
    total = weight_sum = Decimal(0)
    for c in Criterion:
        average, weight = row.get(f"{c.value}_avg"), weights.get(c.value, 1)
        if average is not None and weight:
            total += Decimal(str(average)) * weight
            weight_sum += weight
    if not weight_sum:
        return None
    return (total / weight_sum).quantize(Decimal("0.01"), ROUND_HALF_UP)
