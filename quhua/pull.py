"""The reference client of the change feed: mirror a remote Quhua's aggregates for a subtree.

The mirror is the client's own database (any SQLAlchemy URL), with two tables of its own:
`pull_feeds` (what is followed, from where, and the cursor reached) and `pulled_aggregates`
(each aggregate as last read). Each page of the feed is stored with the cursor after it in
one transaction: a pull cut anywhere resumes from the last page stored, with no gap and no
duplicate. A reset in the feed (the catalogue or the store changed figures without a value
changing) empties the mirror and reads the feed again from its start, once.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Double,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

mirror = MetaData()
feeds = Table(
    "pull_feeds",
    mirror,
    Column("id", Integer, primary_key=True),
    Column("source", Text, nullable=False),
    Column("under", String(12), nullable=False),
    Column("level", String(20), nullable=False),
    Column("period_type", String(20), nullable=False),
    # Comma-separated codes asked, "" for every element.
    Column("elements", Text, nullable=False),
    Column("indicators", Text, nullable=False),
    Column("cursor", Text),
    # Resets up to this sequence number are read: the mirror was filled after them.
    Column("resets_read", BigInteger, nullable=False, default=0),
    UniqueConstraint("source", "under", "level", "period_type", "elements", "indicators"),
)
aggregates = Table(
    "pulled_aggregates",
    mirror,
    Column("feed_id", Integer, primary_key=True),
    Column("unit", String(12), primary_key=True),
    Column("period", String(10), primary_key=True),
    Column("kind", String(10), primary_key=True),
    Column("code", String(40), primary_key=True),
    Column("unit_name", String(100), nullable=False),
    Column("value", Double),
    Column("numerator", Double),
    Column("denominator", Double),
    Column("reporting_units", Integer, nullable=False),
    Column("expected_units", Integer, nullable=False),
)

PAGE = """query($under: String!, $level: Level!, $periodType: PeriodType!, $after: String,
  $first: Int, $elements: [String!], $indicators: [String!]) {
  changes(under: $under, level: $level, periodType: $periodType, after: $after, first: $first,
          elements: $elements, indicators: $indicators) {
    changes { unit unitName period kind code value numerator denominator reportingUnits
              expectedUnits }
    resets { sequence reason }
    endCursor hasMore } }"""
_COLUMNS = {
    "unitName": "unit_name",
    "reportingUnits": "reporting_units",
    "expectedUnits": "expected_units",
}


class PullError(Exception):
    """The remote refused or could not be reached; the message says what it answered."""


@dataclass(frozen=True, slots=True)
class Follow:
    """What is mirrored: aggregates at the level under a unit, by periods of a type."""

    under: str
    level: str  # a GraphQL Level: PROVINCE … VILLAGE
    period_type: str = "MONTH"
    elements: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()


@dataclass(slots=True)
class PullReport:
    pages: int = 0
    aggregates: int = 0
    resets: list[str] = field(default_factory=list)
    cursor: str | None = None


Fetch = Callable[[str, dict[str, Any]], dict[str, Any]]


def http_fetch(source: str, token: str, *, timeout: float = 60.0) -> Fetch:
    """Runs a GraphQL query at the source with the token; PullError on any refusal."""
    endpoint = source.rstrip("/") + "/graphql"

    def fetch(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(  # noqa: S310 - the operator names the source
            endpoint,
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
                found: dict[str, Any] = json.loads(answer.read())
        except urllib.error.HTTPError as error:
            found = _json_or_fail(error)
        except (urllib.error.URLError, TimeoutError) as error:
            raise PullError(f"{endpoint}: {error}") from None
        return answer_data(found)

    return fetch


def _json_or_fail(error: urllib.error.HTTPError) -> dict[str, Any]:
    try:
        found: dict[str, Any] = json.loads(error.read())
    except ValueError:
        raise PullError(f"{error.url}: HTTP {error.code}") from None
    return found


def answer_data(found: dict[str, Any]) -> dict[str, Any]:
    errors = found.get("errors")
    if errors:
        first = errors[0]
        code = (first.get("extensions") or {}).get("code", "ERROR")
        raise PullError(f"{code}: {first.get('message')}")
    data: dict[str, Any] = found["data"]
    return data


@contextmanager
def _connected(into: str) -> Iterator[Connection]:
    engine = create_engine(into)
    try:
        with engine.begin() as connection:
            mirror.create_all(connection)
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def pull(
    fetch: Fetch,
    *,
    source: str,
    into: str,
    follow: Follow,
    page_size: int = 500,
    max_pages: int | None = None,
    on_page: Callable[[PullReport], None] | None = None,
) -> PullReport:
    """Follow the feed from the cursor stored for this source and follow until it says
    nothing more is there (or max_pages were read); each page commits with its cursor."""
    report = PullReport()
    with _connected(into) as connection:
        feed_id = _feed(connection, source, follow)
        while max_pages is None or report.pages < max_pages:
            with connection.begin():
                cursor, resets_read = connection.execute(
                    select(feeds.c.cursor, feeds.c.resets_read).where(feeds.c.id == feed_id)
                ).one()
            page = fetch(PAGE, _variables(follow, cursor, page_size))["changes"]
            report.pages += 1
            with connection.begin():
                fresh = [r for r in page["resets"] if r["sequence"] > resets_read]
                if fresh:
                    # Start again from the feed's start, after every reset seen so far.
                    last = max(r["sequence"] for r in fresh)
                    report.resets += [r["reason"] for r in fresh]
                    connection.execute(delete(aggregates).where(aggregates.c.feed_id == feed_id))
                    connection.execute(
                        update(feeds)
                        .where(feeds.c.id == feed_id)
                        .values(cursor=None, resets_read=last)
                    )
                    continue
                _store(connection, feed_id, page["changes"])
                connection.execute(
                    update(feeds).where(feeds.c.id == feed_id).values(cursor=page["endCursor"])
                )
            report.aggregates += len(page["changes"])
            report.cursor = page["endCursor"]
            if on_page is not None:
                on_page(report)
            if not page["hasMore"]:
                break
    return report


def _variables(follow: Follow, cursor: str | None, page_size: int) -> dict[str, Any]:
    return {
        "under": follow.under,
        "level": follow.level,
        "periodType": follow.period_type,
        "after": cursor,
        "first": page_size,
        # None for every element (when no indicator is asked either).
        "elements": list(follow.elements) or None,
        "indicators": list(follow.indicators) if follow.indicators else None,
    }


def _feed(connection: Connection, source: str, follow: Follow) -> int:
    key = {
        "source": source,
        "under": follow.under,
        "level": follow.level,
        "period_type": follow.period_type,
        "elements": ",".join(follow.elements),
        "indicators": ",".join(follow.indicators),
    }
    with connection.begin():
        found = connection.execute(
            select(feeds.c.id).where(*(feeds.c[name] == value for name, value in key.items()))
        ).scalar()
        if found is None:
            created = connection.execute(insert(feeds).values(**key, resets_read=0))
            assert created.inserted_primary_key is not None
            found = created.inserted_primary_key[0]
    return int(found)


def _store(connection: Connection, feed_id: int, changes: list[dict[str, Any]]) -> None:
    if not changes:
        return
    rows = [
        {"feed_id": feed_id, **{_COLUMNS.get(name, name): value for name, value in c.items()}}
        for c in changes
    ]
    dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(aggregates)
    kept = ("unit_name", "value", "numerator", "denominator", "reporting_units", "expected_units")
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["feed_id", "unit", "period", "kind", "code"],
            set_={name: statement.excluded[name] for name in kept},
        ),
        rows,
    )


def mirrored(into: str, source: str, follow: Follow) -> dict[tuple[str, str, str, str], Any]:
    """What the mirror holds for this source: (unit, period, kind, code) → value."""
    with _connected(into) as connection:
        feed_id = _feed(connection, source, follow)
        rows = connection.execute(
            select(
                aggregates.c.unit,
                aggregates.c.period,
                aggregates.c.kind,
                aggregates.c.code,
                aggregates.c.value,
            ).where(aggregates.c.feed_id == feed_id)
        )
        held = {(u, p, k, c): v for u, p, k, c, v in rows}
        connection.rollback()
        return held
