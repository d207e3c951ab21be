"""The catalogue as partners read it: categories, data elements, indicators."""

from __future__ import annotations

import strawberry

from indicators import models
from indicators.models import TimeAggregation, ValueType
from indicators.periods import PeriodType
from indicators.repository import CatalogueView
from schema.levels import Level

strawberry.enum(ValueType, description="Whole numbers (counts) or amounts of money (yuan).")
strawberry.enum(PeriodType, description="The period a value is stored at.")
strawberry.enum(
    TimeAggregation,
    description="How a coarser period is computed: SUM for flows, LAST or AVERAGE for stocks.",
)


@strawberry.type(description="One option of a category, such as 男 of 性别.")
class CategoryOption:
    code: str
    name: str


@strawberry.type(description="A breakdown of counts: sex, parity, contraceptive method.")
class Category:
    code: str
    name: str
    options: list[CategoryOption]


@strawberry.type(description="A raw count or amount that units report.")
class DataElement:
    code: str
    name: str
    description: str
    value_type: ValueType
    period_type: PeriodType
    time_aggregation: TimeAggregation
    categories: list[Category]
    reported_at: list[Level] = strawberry.field(description="Levels whose units report it.")


@strawberry.type(description="numerator / denominator * factor, over data elements.")
class Indicator:
    code: str
    name: str
    description: str
    numerator: str
    denominator: str
    factor: float
    unit: str
    annualize: bool = strawberry.field(
        description="Whether a month's or quarter's value is scaled to a year."
    )


@strawberry.type(description="Every category, data element and indicator.")
class Catalogue:
    categories: list[Category]
    elements: list[DataElement]
    indicators: list[Indicator]
    statistical_year_starts: int = strawberry.field(
        description="The month (1-12) the statistical year starts in: 2024FP is the twelve "
        "months from it, ending in 2024."
    )

    @classmethod
    def from_view(cls, view: CatalogueView, *, statistical_year_starts: int) -> Catalogue:
        categories = {
            c.id: Category(
                code=c.code,
                name=c.name,
                options=[CategoryOption(code=o.code, name=o.name) for o in view.options[c.id]],
            )
            for c in view.categories
        }
        return cls(
            categories=list(categories.values()),
            elements=[_element(e, view, categories) for e in view.elements],
            statistical_year_starts=statistical_year_starts,
            indicators=[
                Indicator(
                    code=i.code,
                    name=i.name,
                    description=i.description,
                    numerator=i.numerator,
                    denominator=i.denominator,
                    factor=i.factor,
                    unit=i.unit,
                    annualize=i.annualize,
                )
                for i in view.indicators
            ],
        )


def _element(
    element: models.DataElement, view: CatalogueView, categories: dict[int, Category]
) -> DataElement:
    return DataElement(
        code=element.code,
        name=element.name,
        description=element.description,
        value_type=element.value_type,
        period_type=element.period_type,
        time_aggregation=element.time_aggregation,
        categories=[categories[c.id] for c in view.element_categories[element.id]],
        reported_at=[Level(level) for level in element.reported_at.split(",") if level],
    )
