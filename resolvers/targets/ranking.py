"""Ranking the units at one level under a root by their assessment's score or by one figure.

Every unit's value is needed before the first page, so they are all worked out at once (a
few statements whatever their number), ordered, and paged by offset.
"""

from __future__ import annotations

from dataclasses import dataclass

from authz.roles import Action
from core.errors import BadUserInput, NotFound, shown
from indicators.assessment import Assessment, Grade
from indicators.targets.store import measure_of
from resolvers.context import Context
from resolvers.jurisdictions.queries import visible_unit
from resolvers.pagination import Page, decode_id_cursor, id_cursor, page_size
from resolvers.rollups.grid import MAX_ORDERED_UNITS
from resolvers.rollups.queries import bucket_of, require_figures
from resolvers.targets.assessing import Assessor, year_argument
from tenancy import repository
from tenancy.levels import Level
from tenancy.models import Jurisdiction

SCORE = "SCORE"
# Values that differ by less rank as equal: figures are sums and quotients of floats.
_DIGITS = 9


@dataclass(frozen=True, slots=True)
class RankedUnit:
    unit: Jurisdiction
    # 1 for the best; units of equal value share the rank of the first of them (1, 2, 2, 4);
    # None for units without a value, ranked last.
    rank: int | None
    value: float | None
    null_reason: str | None
    # Ranked by SCORE: the unit's assessment.
    assessment: Assessment | None = None


def competition_ranks(values: list[tuple[bool, float] | None]) -> list[int | None]:
    """Ranks of (vetoed, value) already in ranking order: ties share the first one's rank."""
    ranks: list[int | None] = []
    previous: tuple[bool, float] | None = None
    for position, value in enumerate(values):
        if value is None:
            ranks.append(None)
        elif ranks and previous is not None and _same(value, previous):
            ranks.append(ranks[-1])
        else:
            ranks.append(position + 1)
        previous = value
    return ranks


def _same(one: tuple[bool, float], other: tuple[bool, float]) -> bool:
    return one[0] == other[0] and round(one[1], _DIGITS) == round(other[1], _DIGITS)


def _vetoed(ranked: RankedUnit) -> bool:
    """By score, a vetoed unit (一票否决) ranks below every unit that was not vetoed."""
    return ranked.assessment is not None and ranked.assessment.grade is Grade.VETOED


async def ranking(
    context: Context,
    *,
    under: str,
    level: Level,
    year: str,
    by: str,
    descending: bool,
    first: int | None,
    after: str | None,
) -> Page[RankedUnit]:
    """The units at the level under the root that were not retired before the year began,
    highest value first (lowest with descending false), by score or by a figure;
    those without a value last, in code order. By score, vetoed units follow every unit
    that was not, whatever their scores."""
    root = await visible_unit(context, under, argument="under")
    if root is None:
        raise NotFound(f"under: no jurisdiction has code {shown(under)}")
    context.require(Action.READ_ASSESSMENTS, root)
    if level.depth < root.level.depth:
        raise BadUserInput(f"level: {level.value} lies above {root.code}, a {root.level.value}")
    index = await context.catalogue()
    period = year_argument(index, year)
    limit = page_size(first)
    offset = decode_id_cursor(after) or 0
    scope = context.scope(Action.READ_ASSESSMENTS)
    tree_filter = repository.TreeFilter(level=level, under_path=root.path, present_on=period.start)
    units = list(
        await repository.page(
            context.session,
            scope,
            tree_filter=tree_filter,
            after_path=None,
            limit=MAX_ORDERED_UNITS + 1,
        )
    )
    if len(units) > MAX_ORDERED_UNITS:
        raise BadUserInput(
            f"under, level: a ranking covers at most {MAX_ORDERED_UNITS} units; choose a "
            "smaller root or a higher level"
        )
    assessor = Assessor(context, index, period)
    ranked: list[RankedUnit]
    if by.strip() == SCORE:
        held = await assessor.targets(units)
        elements = assessor.elements([t for targets in held for t in targets])
        require_figures(context, root, level=level, elements=elements)
        found = await assessor.assess(units, held)
        ranked = [
            RankedUnit(
                unit,
                None,
                a.score if a else None,
                None if a else f"{unit.code} has no targets for {period}",
                a,
            )
            for unit, a in zip(units, found, strict=True)
        ]
    else:
        try:
            code = measure_of(index, by).code
        except ValueError as error:
            raise BadUserInput(f"by: {error}, or SCORE") from error
        plan = assessor.plan(code)
        require_figures(context, root, level=level, elements=plan.elements)
        buckets = [bucket_of(unit, period, plan.elements) for unit in units]
        figures = await assessor.figures(buckets)
        actuals = [plan.actual(b, f) for b, f in zip(buckets, figures, strict=True)]
        ranked = [
            RankedUnit(unit, None, actual.value, actual.null_reason)
            for unit, actual in zip(units, actuals, strict=True)
        ]
    sign = -1.0 if descending else 1.0
    ranked.sort(
        key=lambda r: (
            r.value is None,
            _vetoed(r),
            sign * r.value if r.value is not None else 0.0,
            r.unit.path,
        )
    )
    ranks = competition_ranks([None if r.value is None else (_vetoed(r), r.value) for r in ranked])
    ordered = [
        RankedUnit(r.unit, rank, r.value, r.null_reason, r.assessment)
        for r, rank in zip(ranked, ranks, strict=True)
    ]
    on_page = ordered[offset : offset + limit]
    count = len(ordered)

    async def total() -> int:
        return count

    return Page(
        items=on_page,
        cursors=[id_cursor(offset + n + 1) for n in range(len(on_page))],
        has_next=offset + len(on_page) < count,
        has_previous=offset > 0,
        total=total,
    )
