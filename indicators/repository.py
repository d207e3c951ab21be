"""Reading the catalogue: small tables, read whole."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from core.db.session import RequestSession
from indicators.models import Category, CategoryOption, DataElement, ElementCategory, Indicator


@dataclass(frozen=True, slots=True)
class CatalogueView:
    categories: list[Category]
    options: dict[int, list[CategoryOption]]
    elements: list[DataElement]
    element_categories: dict[int, list[Category]]
    indicators: list[Indicator]


async def catalogue(session: RequestSession) -> CatalogueView:
    """The whole catalogue, each list in code order, options in their file order."""
    categories = list(await session.scalars(select(Category).order_by(Category.code)))
    options: dict[int, list[CategoryOption]] = defaultdict(list)
    for option in await session.scalars(
        select(CategoryOption).order_by(CategoryOption.category_id, CategoryOption.position)
    ):
        options[option.category_id].append(option)
    by_id = {category.id: category for category in categories}
    element_categories: dict[int, list[Category]] = defaultdict(list)
    for link in await session.scalars(
        select(ElementCategory).order_by(ElementCategory.element_id, ElementCategory.position)
    ):
        element_categories[link.element_id].append(by_id[link.category_id])
    elements = list(await session.scalars(select(DataElement).order_by(DataElement.code)))
    indicators = list(await session.scalars(select(Indicator).order_by(Indicator.code)))
    return CatalogueView(categories, options, elements, element_categories, indicators)
