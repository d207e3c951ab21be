"""The maintained store of partial aggregates: every unit's subtree, per cell and period.

A row holds, for one unit above the deepest level, one option combo and one bucket (a
month, a quarter or a year, `span` months long from `month_index`), the sum over the unit's
subtree (itself included) of each unit's contribution: its value combined over the bucket
by the element's time aggregation. Reading any aggregate is then a primary-key lookup,
whatever lies below.

What holds after every committed write (docs/rollups.md): each row equals that sum over
what data_values holds (up to rounding), and a missing row means 0. The upkeep only adds
differences to rows (a rebuild empties them first), so a row may stay behind holding 0.
Buckets are of the element's own period and longer (`indicators.rollups.scratch.SPANS`
months), keyed by their first month (`Period.month_index`).
"""

from __future__ import annotations

from sqlalchemy import Double, Integer
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base
from tenancy.levels import Level

# Units of the deepest level have nothing below them: their figures are their own stored
# values, read from data_values, and the store leaves them out (most of its rows otherwise).
LEAF = Level.VILLAGE


# No foreign keys: every row is derived from data_values, whose own foreign keys hold the
# units, combos and elements, and checking them again cost PostgreSQL a trigger call per row
# written (docs/benchmarks.md).
class Rollup(Base):
    """The subtree's total of one option combo over one bucket: each unit's contribution
    (its values there, summed, averaged or the latest) summed over the subtree."""

    __tablename__ = "rollups"

    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    span: Mapped[int] = mapped_column(Integer, primary_key=True)
    month_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    combo_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    total: Mapped[float] = mapped_column(Double)


class RollupReport(Base):
    """How many units of the subtree reported the element at all in the bucket: hold at
    least one value of any of its combos there. Kept beside the totals by the same upkeep,
    so that completeness never counts values at read time; the units expected come from
    `tenancy.models.SubtreeSize`."""

    __tablename__ = "rollup_reports"

    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    span: Mapped[int] = mapped_column(Integer, primary_key=True)
    month_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    element_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    units: Mapped[int] = mapped_column(Integer)
