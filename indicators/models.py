"""The catalogue: categories and their options, data elements, indicators."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, string_enum
from indicators.periods import PeriodType


class ValueType(StrEnum):
    INTEGER = "integer"
    AMOUNT = "amount"


class TimeAggregation(StrEnum):
    SUM = "sum"
    LAST = "last"
    AVERAGE = "average"


class Category(Base):
    """A way to break a count down: sex, parity, contraceptive method."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class CategoryOption(Base):
    __tablename__ = "category_options"
    __table_args__ = (UniqueConstraint("category_id", "code", name="category_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)


class DataElement(Base):
    """A raw count or amount that units report: births, deaths, population, …"""

    __tablename__ = "data_elements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    value_type: Mapped[ValueType] = mapped_column(string_enum(ValueType, "value_type"))
    period_type: Mapped[PeriodType] = mapped_column(string_enum(PeriodType, "period_type"))
    time_aggregation: Mapped[TimeAggregation] = mapped_column(
        string_enum(TimeAggregation, "time_aggregation")
    )
    # Levels whose units report it, comma-separated, lowest first (usually "village").
    reported_at: Mapped[str] = mapped_column(String(60))


class ElementCategory(Base):
    """The categories an element is broken down by, in order."""

    __tablename__ = "element_categories"

    element_id: Mapped[int] = mapped_column(ForeignKey("data_elements.id"), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class OptionCombo(Base):
    """One cell of an element's breakdown: one option of each of its categories.

    `key` is canonical (`parity=2;sex=male`, categories in alphabetical order; empty for an
    element without categories). Values are stored per combo.
    """

    __tablename__ = "option_combos"
    __table_args__ = (UniqueConstraint("element_id", "key", name="element_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    element_id: Mapped[int] = mapped_column(ForeignKey("data_elements.id"))
    key: Mapped[str] = mapped_column(String(200))


class Indicator(Base):
    """numerator / denominator * factor, each side a linear formula over elements."""

    __tablename__ = "indicators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    numerator: Mapped[str] = mapped_column(Text)
    denominator: Mapped[str] = mapped_column(Text)
    factor: Mapped[float] = mapped_column(Numeric(20, 6, asdecimal=False))
    unit: Mapped[str] = mapped_column(String(20))
    annualize: Mapped[bool] = mapped_column(Boolean)


class CatalogueSettings(Base):
    """What holds for the catalogue as a whole, one row (id 1) that every catalogue load
    writes: the month (1 to 12) the statistical year (`2024FP`) starts in."""

    __tablename__ = "catalogue_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="one_row"),
        CheckConstraint("statistical_year_starts BETWEEN 1 AND 12", name="month"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statistical_year_starts: Mapped[int] = mapped_column(Integer)


class DataValue(Base):
    """What a unit reported for one cell of an element in one period."""

    __tablename__ = "data_values"
    __table_args__ = (
        UniqueConstraint("jurisdiction_id", "combo_id", "month_index", name="unit_cell_period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    combo_id: Mapped[int] = mapped_column(ForeignKey("option_combos.id"))
    # The period's first month as year * 12 + month - 1; its length is the element's.
    month_index: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Numeric(20, 2, asdecimal=False))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ChangeSet(Base):
    """One writer's changes to stored values: who, when, why and from where (a request
    through the API, a file imported). Its value changes say what changed."""

    __tablename__ = "change_sets"
    __table_args__ = (Index("ix_change_sets_seq", "seq", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor_subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    # "api", or "import FILE".
    source: Mapped[str] = mapped_column(String(300))
    # The token the actor used, and who issued it when that was not the actor.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"), default=None)
    issuer: Mapped[str | None] = mapped_column(String(100), default=None)
    # Its place in the change feed, given as the writer's last statement before commit
    # (indicators.feed.clock): null only inside the writing transaction.
    seq: Mapped[int | None] = mapped_column(BigInteger, default=None)


class ValueChange(Base):
    """Every change to a stored value: old and new; who, when, why and from where are its
    change set's (one row for a whole file, not one per value)."""

    __tablename__ = "value_changes"
    __table_args__ = (
        Index("ix_value_changes_jurisdiction_id_id", "jurisdiction_id", "id"),
        # The change feed reads a change set's values in order.
        Index("ix_value_changes_change_set_id_id", "change_set_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_set_id: Mapped[int] = mapped_column(ForeignKey("change_sets.id"))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    combo_id: Mapped[int] = mapped_column(ForeignKey("option_combos.id"))
    month_index: Mapped[int] = mapped_column(Integer)
    # None when the value did not exist before (old) or was deleted (new).
    old_value: Mapped[float | None] = mapped_column(Numeric(20, 2, asdecimal=False))
    new_value: Mapped[float | None] = mapped_column(Numeric(20, 2, asdecimal=False))
    # The line of the imported file that made the change.
    line: Mapped[int | None] = mapped_column(Integer)
