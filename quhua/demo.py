"""The demonstration database: the real division tree of China, ready to query."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine, func, select

from quhua import migrate
from quhua.db.textfiles import TextSource
from tenancy.loading.load import load_divisions
from tenancy.loading.report import LoadReport
from tenancy.models import Jurisdiction

NATIONAL_TREE = "divisions_2023.csv.xz"
# The NBS 2023 codes describe the divisions as of this day.
TREE_AS_OF = dt.date(2023, 6, 30)


def shipped_data(name: str) -> Path:
    """A data file shipped inside the package."""
    return Path(str(resources.files("quhua") / "data" / name))


def prepare(
    engine: Engine, *, on_progress: Callable[[int, int], None] | None = None
) -> LoadReport | None:
    """Migrate the database and load the national tree unless it holds one already.

    Returns the load's report, or None when the database was ready.
    """
    with engine.begin() as connection:
        migrate.upgrade(connection)
    with engine.connect() as connection:
        units = connection.execute(select(func.count()).select_from(Jurisdiction)).scalar_one()
    if units:
        return None
    source = TextSource(shipped_data(NATIONAL_TREE))
    with engine.begin() as connection:
        report = load_divisions(
            connection,
            source,
            valid_from=TREE_AS_OF,
            on_progress=(lambda done: on_progress(done, source.size)) if on_progress else None,
        )
        if not report.ok:
            raise RuntimeError(f"the shipped division tree did not load: {report.errors[:3]}")
    return report
