"""Writing a checked catalogue into the database: created, updated or left as it is."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, insert, select, update

from indicators.catalogue_changes import plan_changes
from indicators.catalogue_file import CatalogueError, CatalogueSpec, CategorySpec, ElementSpec
from indicators.feed.clock import reset_statements
from indicators.models import (
    CatalogueSettings,
    Category,
    CategoryOption,
    DataElement,
    ElementCategory,
    Indicator,
    OptionCombo,
)
from indicators.quality.store import store_quality
from indicators.rollups.verification import hold_writers, rebuild
from indicators.validation.upkeep import store_rules


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


@dataclass(slots=True)
class CatalogueReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    # element code → why its store of aggregates was measured afresh
    rebuilt: dict[str, str] = field(default_factory=dict)

    def count(self, kind: str, outcome: str) -> None:
        counts = getattr(self, outcome)
        counts[kind] = counts.get(kind, 0) + 1

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "rebuilt": self.rebuilt,
        }


def combo_keys(element: ElementSpec, spec: CatalogueSpec) -> list[str]:
    """Every cell of the element's breakdown, as canonical keys (`parity=2;sex=male`)."""
    categories = sorted(element.categories)
    choices = [[f"{c}={o}" for o in spec.categories[c].options] for c in categories]
    return [";".join(cell) for cell in itertools.product(*choices)]


def _upsert(
    connection: Connection,
    report: CatalogueReport,
    kind: str,
    model: type[Any],
    *,
    match: dict[str, Any],
    values: dict[str, Any],
) -> int:
    """Insert the row, or update it where its values differ; return its id."""
    table = _table(model)
    found = (
        connection.execute(select(table).where(*(table.c[k] == v for k, v in match.items())))
        .mappings()
        .first()
    )
    if found is None:
        report.count(kind, "created")
        created = connection.execute(insert(table).values(**match, **values))
        key = created.inserted_primary_key
        assert key is not None
        return int(key[0])
    changed = {k: v for k, v in values.items() if found[k] != v}
    if changed:
        connection.execute(update(table).where(table.c.id == found["id"]).values(**changed))
        report.count(kind, "updated")
    else:
        report.count(kind, "unchanged")
    return int(found["id"])


def _remove_unlisted_options(
    connection: Connection, report: CatalogueReport, category_id: int, category: CategorySpec
) -> None:
    """Options the file no longer lists go, with their combos: no value uses them (a used
    one was refused before anything was written), and kept they would still be accepted."""
    options = _table(CategoryOption)
    gone = [
        (option_id, code)
        for option_id, code in connection.execute(
            select(options.c.id, options.c.code).where(options.c.category_id == category_id)
        )
        if code not in category.options
    ]
    if not gone:
        return
    combos, links = _table(OptionCombo), _table(ElementCategory)
    using = select(combos.c.id, combos.c.key).where(
        combos.c.element_id.in_(
            select(links.c.element_id).where(links.c.category_id == category_id)
        )
    )
    cells = {f"{category.code}={code}" for _, code in gone}
    doomed = [
        combo_id for combo_id, key in connection.execute(using) if cells & set(key.split(";"))
    ]
    if doomed:
        connection.execute(delete(combos).where(combos.c.id.in_(doomed)))
    connection.execute(delete(options).where(options.c.id.in_([i for i, _ in gone])))
    for _ in gone:
        report.count("options", "removed")


def store_catalogue(connection: Connection, spec: CatalogueSpec) -> CatalogueReport:
    """Create or update every entry of the catalogue, inside the caller's transaction.

    Entries the file no longer names are kept: values may refer to them. A change that would
    re-interpret stored values raises CatalogueError before anything is written; elements
    whose values are now read another way have their store rebuilt here, so that no
    aggregate is left measured the old way.
    """
    # Writers check their elements against the catalogue they read once they hold their
    # units: none is half-way through a write while the values are counted and changed.
    hold_writers(connection)
    plan = plan_changes(connection, spec)
    if plan.problems:
        raise CatalogueError(plan.problems)
    report = CatalogueReport()
    # Statistical years are read from the monthly values and the store, never stored: a
    # new month re-reads no value, so it needs no check and no rebuild.
    _upsert(
        connection,
        report,
        "settings",
        CatalogueSettings,
        match={"id": 1},
        values={"statistical_year_starts": spec.statistical_year_starts},
    )
    category_ids: dict[str, int] = {}
    for category in spec.categories.values():
        category_ids[category.code] = _upsert(
            connection,
            report,
            "categories",
            Category,
            match={"code": category.code},
            values={"name": category.name},
        )
        for position, (code, name) in enumerate(category.options.items()):
            _upsert(
                connection,
                report,
                "options",
                CategoryOption,
                match={"category_id": category_ids[category.code], "code": code},
                values={"name": name, "position": position},
            )
        _remove_unlisted_options(connection, report, category_ids[category.code], category)
    for element in spec.elements.values():
        element_id = _upsert(
            connection,
            report,
            "elements",
            DataElement,
            match={"code": element.code},
            values={
                "name": element.name,
                "description": element.description,
                "value_type": element.value_type,
                "period_type": element.period_type,
                "time_aggregation": element.time_aggregation,
                "reported_at": ",".join(level.value for level in element.reported_at),
            },
        )
        links = _table(ElementCategory)
        connection.execute(delete(links).where(links.c.element_id == element_id))
        for position, code in enumerate(element.categories):
            connection.execute(
                insert(links).values(
                    element_id=element_id, category_id=category_ids[code], position=position
                )
            )
        combos = _table(OptionCombo)
        known = set(
            connection.execute(
                select(combos.c.key).where(combos.c.element_id == element_id)
            ).scalars()
        )
        for key in combo_keys(element, spec):
            if key not in known:
                connection.execute(insert(combos).values(element_id=element_id, key=key))
    for indicator in spec.indicators.values():
        _upsert(
            connection,
            report,
            "indicators",
            Indicator,
            match={"code": indicator.code},
            values={
                "name": indicator.name,
                "description": indicator.description,
                "numerator": str(indicator.numerator),
                "denominator": str(indicator.denominator),
                "factor": indicator.factor,
                "unit": indicator.unit,
                "annualize": indicator.annualize,
            },
        )
    store_quality(connection, spec.quality)
    if plan.rebuild:
        ids = connection.execute(
            select(DataElement.id).where(DataElement.code.in_(sorted(plan.rebuild)))
        ).scalars()
        rebuild(connection, elements=list(ids))
        report.rebuilt = plan.rebuild
    # Last: a rule re-run reads the store as rebuilt.
    store_rules(connection, spec, rebuilt=plan.rebuild, count=report.count)
    moved = _moves_aggregates(report)
    if moved:
        for statement in reset_statements(dt.datetime.now(dt.UTC), moved):
            connection.execute(statement)
    return report


def _moves_aggregates(report: CatalogueReport) -> str | None:
    """Why the catalogue change may move aggregates without changing a stored value (the
    change feed then says so), or None: new and unchanged entries move none. Read by every
    follower, of any subtree: it names entries of the catalogue, never counts of values."""
    why = []
    if report.rebuilt:
        why.append(f"{', '.join(sorted(report.rebuilt))} read anew")
    for kind in ("indicators", "settings"):
        if report.updated.get(kind):
            why.append(f"{kind} changed")
    return "the catalogue changed: " + "; ".join(why) if why else None
