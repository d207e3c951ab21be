"""The catalogue as validation needs it: elements with their options and combos, in memory."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select

from indicators.models import (
    Category,
    CategoryOption,
    DataElement,
    ElementCategory,
    OptionCombo,
    ValueType,
)
from indicators.periods import Period, PeriodError, PeriodType
from quhua.db.session import RequestSession
from tenancy.levels import Level


@dataclass(frozen=True, slots=True)
class ElementInfo:
    id: int
    code: str
    value_type: ValueType
    period_type: PeriodType
    reported_at: frozenset[Level]
    # category → its options, in the element's order of categories
    categories: dict[str, tuple[str, ...]]
    # canonical key (`parity=2;sex=male`) → combo id
    combos: dict[str, int]

    def combo_key(self, disaggregation: str) -> str:
        """The canonical key of `sex=male;parity=2`; ValueError saying what is wrong."""
        chosen: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in disaggregation.split(";"))):
            category, _, option = part.partition("=")
            category, option = category.strip(), option.strip()
            if category not in self.categories:
                known = ", ".join(self.categories) or "none"
                raise ValueError(f"{self.code} has no category {category!r} (it has: {known})")
            if category in chosen:
                raise ValueError(f"category {category} given twice")
            if option not in self.categories[category]:
                options = ", ".join(self.categories[category])
                raise ValueError(f"{category} has no option {option!r} (one of: {options})")
            chosen[category] = option
        missing = [c for c in self.categories if c not in chosen]
        if missing:
            raise ValueError(f"{self.code} needs an option of {', '.join(missing)}")
        return ";".join(f"{c}={chosen[c]}" for c in sorted(chosen))

    def period(self, text: str) -> Period:
        """The period, which must be of the element's period type."""
        period = Period.parse(text)
        if period.type is not self.period_type:
            raise PeriodError(
                f"{self.code} is reported by {self.period_type.value}, not by {period.type.value}"
            )
        return period

    def check_value(self, value: float) -> None:
        if not math.isfinite(value):
            raise ValueError("not a number")
        if value < 0:
            raise ValueError(f"{value:g} is negative")
        if self.value_type is ValueType.INTEGER and value != int(value):
            raise ValueError(f"{value:g} is not a whole number; {self.code} counts")
        if round(value, 2) != value:
            raise ValueError(f"{value} has more than two decimals")
        if value >= 1e16:
            raise ValueError(f"{value:g} is too large")


@dataclass(frozen=True, slots=True)
class CatalogueIndex:
    elements: dict[str, ElementInfo]
    by_combo: dict[int, tuple[ElementInfo, str]]

    def element(self, code: str) -> ElementInfo:
        found = self.elements.get(code.strip())
        if found is None:
            raise ValueError(f"unknown element {code!r}")
        return found


async def catalogue_index(session: RequestSession) -> CatalogueIndex:
    """Read the catalogue's elements, categories, options and combos (a few small tables)."""
    categories = {c.id: c.code for c in await session.scalars(select(Category))}
    options: dict[int, list[str]] = {}
    for option in await session.scalars(
        select(CategoryOption).order_by(CategoryOption.category_id, CategoryOption.position)
    ):
        options.setdefault(option.category_id, []).append(option.code)
    links: dict[int, list[int]] = {}
    for link in await session.scalars(
        select(ElementCategory).order_by(ElementCategory.element_id, ElementCategory.position)
    ):
        links.setdefault(link.element_id, []).append(link.category_id)
    combos: dict[int, dict[str, int]] = {}
    for combo in await session.scalars(select(OptionCombo)):
        combos.setdefault(combo.element_id, {})[combo.key] = combo.id
    elements = {}
    for element in await session.scalars(select(DataElement)):
        elements[element.code] = ElementInfo(
            id=element.id,
            code=element.code,
            value_type=element.value_type,
            period_type=element.period_type,
            reported_at=frozenset(Level(v) for v in element.reported_at.split(",") if v),
            categories={
                categories[c]: tuple(options.get(c, ())) for c in links.get(element.id, [])
            },
            combos=combos.get(element.id, {}),
        )
    by_combo = {
        combo_id: (info, key) for info in elements.values() for key, combo_id in info.combos.items()
    }
    return CatalogueIndex(elements, by_combo)
