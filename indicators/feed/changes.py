"""Reading the change feed: which aggregates moved after a position, in feed order.

A position is (sequence of a change set, id of one of its value changes): every value change
has one, in the order the clock gave (indicators.feed.clock). A page reads the changes after
a position under one root, maps each to the aggregate it moves at the level asked (the
unit's ancestor there, the element, the period of the type asked that holds the month),
and keeps, per aggregate, its latest change. Aggregates come in the order of their latest
change; the page ends at the position of the last aggregate it holds, or, when it holds all
it read, at the last change it could read (the clock as the page began).

What holds: every change after the caller's position is at or before the end of the page
(its aggregate is on the page, read after the change committed) or after it (on a later
page). A follower that reads each page's aggregates afresh and moves to the page's end
holds, once a page says nothing more is there, every aggregate as it is now. Aggregates
are read in a later statement than the changes, so they may be newer than the page's end:
a later page then says so again, which is harmless.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, and_, func, or_, select

from core.db.session import RequestSession
from core.errors import BadUserInput
from indicators.catalogue_index import CatalogueIndex, ElementInfo
from indicators.feed.clock import HEAD, RESETS
from indicators.models import ChangeSet, ValueChange
from indicators.periods import Period, PeriodType
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import within
from tenancy.scope import Scope

S = cast(Table, ChangeSet.__table__).c
X = cast(Table, ValueChange.__table__).c
J = cast(Table, Jurisdiction.__table__).c
# Value changes read per statement, and change sets a statement reaches over: a page's cost
# is bounded whatever lies after the cursor.
WINDOW = 20_000
SPAN = 1_000
_PREFIX = "f1."
_CURSOR = re.compile(r"f1\.([0-9]{1,19})\.([0-9]{1,10})")
_MAX_SEQ = 2**63 - 1


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in the feed: after every change up to this change set and change."""

    seq: int
    change: int = 0

    def cursor(self) -> str:
        text = f"{_PREFIX}{self.seq}.{self.change}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def parse(cls, cursor: str | None) -> Position:
        """The position a cursor names (the start for None); ValueError if it names none."""
        if cursor is None or cursor == "":
            return START
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        except (UnicodeError, ValueError, binascii.Error):
            raise ValueError("not a cursor of the change feed") from None
        found = _CURSOR.fullmatch(text)
        if found is None or int(found[1]) > _MAX_SEQ or int(found[2]) > _LAST:
            raise ValueError("not a cursor of the change feed")
        return cls(int(found[1]), int(found[2]))


START = Position(0, 0)


@dataclass(frozen=True, slots=True)
class ChangedAggregate:
    """An aggregate that moved: the unit at the level (by path), the element, the period."""

    path: str
    element: ElementInfo
    period: Period
    latest: Position


@dataclass(frozen=True, slots=True)
class Reset:
    seq: int
    at: dt.datetime
    reason: str


@dataclass(frozen=True, slots=True)
class FeedPage:
    aggregates: list[ChangedAggregate]
    resets: list[Reset]
    end: Position
    has_more: bool


def period_of(element: ElementInfo, month_index: int, period_type: PeriodType) -> Period:
    """The period of the type asked that holds the month; an element reported by a longer
    period (a quarter's funding in a monthly feed) moves its own period's aggregate."""
    span = max(element.period_type.months, period_type.months)
    kind = period_type if period_type.months >= element.period_type.months else element.period_type
    start = month_index - month_index % span
    return Period(start // 12, start % 12 + 1, kind)


async def read_page(
    session: RequestSession,
    index: CatalogueIndex,
    *,
    scope: Scope,
    root_path: str,
    level: Level,
    period_type: PeriodType,
    elements: list[ElementInfo] | None,
    after: Position,
    first: int,
) -> FeedPage:
    """The aggregates at the level under the root that moved after the position (at most
    `first`), the resets among them, and where the page ends."""
    # Everything numbered up to the clock as read now is committed (numbers are given in
    # commit order): the page reads up to there and no further, whatever commits meanwhile,
    # so that its later statements (each may see a later snapshot) skip nothing.
    through = await _clock(session)
    # And no further than SPAN change sets: a page of a root where little changes reads a
    # bounded range, not every change of the whole database.
    reach = min(through, after.seq + SPAN)
    if after.seq > through:
        raise BadUserInput(
            "after: the cursor lies past this feed's last commit: the database was restored "
            "or replaced since; read the scope again from the start (after: null)"
        )
    statement = (
        select(S.seq, X.id, J.path, X.combo_id, X.month_index)
        .select_from(ChangeSet)
        .join(ValueChange, X.change_set_id == S.id)
        .join(Jurisdiction, J.id == X.jurisdiction_id)
        .where(
            S.seq.is_not(None),
            S.seq <= reach,
            or_(S.seq > after.seq, and_(S.seq == after.seq, X.id > after.change)),
            within(J.path, root_path),
            func.length(J.path) >= level.path_length,
        )
        .order_by(S.seq, X.id)
        .limit(WINDOW)
    )
    if elements is not None:
        combos = sorted(c for element in elements for c in element.combos.values())
        statement = statement.where(X.combo_id.in_(combos))
    rows = await session.rows(scope.within_scope(statement, J.path))
    latest: dict[tuple[str, int, int], ChangedAggregate] = {}
    for seq, change, path, combo, month in rows:
        element = index.by_combo[combo][0]
        period = period_of(element, month, period_type)
        key = (path[: level.path_length], element.id, period.month_index)
        latest.pop(key, None)
        # Re-inserted: the dict keeps aggregates in the order of their latest change.
        latest[key] = ChangedAggregate(key[0], element, period, Position(seq, change))
    found = list(latest.values())
    if len(found) > first:
        found = found[:first]
        end, has_more = found[-1].latest, True
    elif len(rows) == WINDOW or reach < through:
        last = Position(rows[-1][0], rows[-1][1]) if len(rows) == WINDOW else None
        end, has_more = last or Position(reach, _LAST), True
    else:
        # Every change numbered up to the clock is read.
        end, has_more = max(after, Position(through, _LAST)), False
    resets = await _resets(session, after, end.seq)
    return FeedPage(found, resets, end, has_more)


async def _clock(session: RequestSession) -> int:
    return int((await session.rows(HEAD))[0][0])


async def _resets(session: RequestSession, after: Position, through: int) -> list[Reset]:
    """Resets after the position, up to the sequence number given."""
    # A reset has no changes: a position (its seq, any change) lies after it.
    statement = select(RESETS.c.seq, RESETS.c.at, RESETS.c.reason).where(
        RESETS.c.seq > after.seq, RESETS.c.seq <= through
    )
    rows = await session.rows(statement.order_by(RESETS.c.seq))
    return [Reset(int(seq), at, reason) for seq, at, reason in rows]


async def moved_since(session: RequestSession, cursor: str) -> bool:
    """Whether anything was committed after the cursor (True for a cursor that is none: the
    page that reads it says what is wrong)."""
    try:
        position = Position.parse(cursor)
    except ValueError:
        return True
    return not (position.change == _LAST and position.seq >= await _clock(session))


async def head(session: RequestSession) -> Position:
    """The position after everything committed now: a follower that has read every
    aggregate (an export) starts here."""
    return Position(await _clock(session), _LAST)


# After every change of the head's change set: value_changes.id is a 32-bit integer.
_LAST = 2**31 - 1
