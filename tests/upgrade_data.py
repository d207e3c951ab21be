"""What a server's database holds at an earlier revision, written into that revision's tables.

Everything here is plain SQL on table clauses declared below, shaped as the migrations left
each table, so that nothing depends on today's models matching an old schema: the real
Ningxia tree (one village retired since), the default catalogue, subjects with grants and
tokens (live, revoked, expired), values of five months for six villages, two townships and
a county, a correction and a deletion through the API, and the audit of every change. The
tables derived from those (subtree sizes, the roll-up store) are filled as the application
of that revision kept them, by the brute-force reference below.

Where a later revision changes one of these tables, `populate` learns its new shape; until
then a new revision needs nothing here.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import itertools
import random
import tomllib
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Double,
    Integer,
    Numeric,
    String,
    TableClause,
    column,
    insert,
    inspect,
    select,
    table,
)

from quhua import migrate
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from tests.databases import NINGXIA

# Every revision, oldest first.
REVISIONS = [
    script.revision
    for script in reversed(
        list(ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions())
    )
]
# The first revision that holds values: upgrades are checked from here on.
FIRST_WITH_VALUES = "0004"
# Before this revision the store kept rows for villages too.
STORE_WITHOUT_VILLAGES = "0006"
NEVER_RETIRED = dt.date(9999, 12, 31)
SPANS = (1, 3, 12)
PERIOD_SPANS = {"month": 1, "quarter": 3, "year": 12}
LOADED = dt.date(2023, 6, 30)
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _t(name: str, *columns: tuple[str, Any]) -> TableClause:
    return table(name, *(column(key, kind) for key, kind in columns))


_AT = DateTime(timezone=True)
_AMOUNT = Numeric(20, 2, asdecimal=False)
JURISDICTIONS = _t(
    "jurisdictions",
    ("id", Integer()),
    ("code", String()),
    ("name", String()),
    ("level", String()),
    ("parent_id", Integer()),
    ("path", String()),
    ("valid_from", Date()),
    ("valid_to", Date()),
)
CATEGORIES = _t("categories", ("id", Integer()), ("code", String()), ("name", String()))
OPTIONS = _t(
    "category_options",
    ("category_id", Integer()),
    ("code", String()),
    ("name", String()),
    ("position", Integer()),
)
ELEMENTS = _t(
    "data_elements",
    ("id", Integer()),
    ("code", String()),
    ("name", String()),
    ("description", String()),
    ("value_type", String()),
    ("period_type", String()),
    ("time_aggregation", String()),
    ("reported_at", String()),
)
ELEMENT_CATEGORIES = _t(
    "element_categories",
    ("element_id", Integer()),
    ("category_id", Integer()),
    ("position", Integer()),
)
COMBOS = _t("option_combos", ("id", Integer()), ("element_id", Integer()), ("key", String()))
INDICATORS = _t(
    "indicators",
    ("code", String()),
    ("name", String()),
    ("description", String()),
    ("numerator", String()),
    ("denominator", String()),
    ("factor", Numeric(20, 6, asdecimal=False)),
    ("unit", String()),
    ("annualize", Boolean()),
)
SUBJECTS = _t(
    "subjects", ("id", Integer()), ("name", String()), ("kind", String()), ("created_at", _AT)
)
# From revision 0011: a name's key (NFKC, case-folded), and each policy change's source.
SUBJECTS_KEYED = _t(
    "subjects",
    ("id", Integer()),
    ("name", String()),
    ("name_key", String()),
    ("kind", String()),
    ("created_at", _AT),
)
GRANTS = _t(
    "grants",
    ("subject_id", Integer()),
    ("role", String()),
    ("jurisdiction_id", Integer()),
    ("granted_at", _AT),
)
TOKENS = _t(
    "tokens",
    ("id", Integer()),
    ("subject_id", Integer()),
    ("token_hash", String()),
    ("prefix", String()),
    ("label", String()),
    ("created_at", _AT),
    ("expires_at", _AT),
    ("revoked_at", _AT),
)
POLICY_AUDIT = _t(
    "policy_audit",
    ("at", _AT),
    ("actor", String()),
    ("action", String()),
    ("subject_id", Integer()),
    ("role", String()),
    ("jurisdiction_id", Integer()),
    ("token_id", Integer()),
    ("reason", String()),
)
POLICY_AUDIT_SOURCED = _t(
    "policy_audit",
    ("at", _AT),
    ("actor", String()),
    ("action", String()),
    ("subject_id", Integer()),
    ("role", String()),
    ("jurisdiction_id", Integer()),
    ("token_id", Integer()),
    ("reason", String()),
    ("source", String()),
)
VALUES = _t(
    "data_values",
    ("jurisdiction_id", Integer()),
    ("combo_id", Integer()),
    ("month_index", Integer()),
    ("value", _AMOUNT),
    ("updated_at", _AT),
)
_CHANGE = [
    ("jurisdiction_id", Integer()),
    ("combo_id", Integer()),
    ("month_index", Integer()),
    ("old_value", _AMOUNT),
    ("new_value", _AMOUNT),
]
_WHO = [
    ("at", _AT),
    ("actor_subject_id", Integer()),
    ("actor", String()),
    ("reason", String()),
    ("source", String()),
]
# The audit before revision 0008: who, when, why and where on every change.
CHANGES_BY_VALUE = _t("value_changes", *_CHANGE, *_WHO)
# From 0008: once per request or file, on its change set.
CHANGE_SETS = _t("change_sets", ("id", Integer()), *_WHO)
CHANGES_BY_SET = _t("value_changes", *_CHANGE, ("change_set_id", Integer()), ("line", Integer()))
SIZES = _t("subtree_sizes", ("unit_id", Integer()), ("level", String()), ("units", Integer()))
SIZES_BY_RETIREMENT = _t(
    "subtree_sizes",
    ("unit_id", Integer()),
    ("level", String()),
    ("until", Date()),
    ("units", Integer()),
)
ROLLUPS = _t(
    "rollups",
    ("unit_id", Integer()),
    ("span", Integer()),
    ("month_index", Integer()),
    ("combo_id", Integer()),
    ("total", Double()),
)
REPORTS = _t(
    "rollup_reports",
    ("unit_id", Integer()),
    ("span", Integer()),
    ("month_index", Integer()),
    ("element_id", Integer()),
    ("units", Integer()),
)


def month_index(period: str) -> int:
    """2024-03, 2024-Q1 or 2024 as its first month, year * 12 + month - 1."""
    year = int(period[:4])
    if len(period) == 4:
        return year * 12
    if "Q" in period:
        return year * 12 + (int(period[-1]) - 1) * 3
    return year * 12 + int(period[5:]) - 1


def period_name(index: int, span: int) -> str:
    year, month = divmod(index, 12)
    if span == 12:
        return str(year)
    if span == 3:
        return f"{year}-Q{month // 3 + 1}"
    return f"{year}-{month + 1:02d}"


def token_of(label: str) -> str:
    """A token in the shape the server accepts, the same on every run."""
    digest = hashlib.sha256(label.encode()).digest()
    return "qh_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class Change:
    """One audited change, as the audit trail shows it."""

    code: str
    element: str
    key: str
    period: str
    old: float | None
    new: float | None
    actor: str
    reason: str
    source: str
    line: int | None
    at: dt.datetime


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    code: str
    # Tokens by label: (expires, revoked).
    tokens: dict[str, tuple[dt.datetime | None, dt.datetime | None]]


PEOPLE = [
    Person("ningxia-admin", "admin", "64", {"admin": (NOW + dt.timedelta(days=90), None)}),
    Person("li", "reporter", "640104001", {"li": (None, None)}),
    Person("wang", "viewer", "6402", {"wang": (NOW + dt.timedelta(days=30), None)}),
    Person(
        "zhao",
        "viewer",
        "640104",
        {
            "zhao-revoked": (None, NOW - dt.timedelta(days=2)),
            "zhao-expired": (NOW - dt.timedelta(days=1), None),
        },
    ),
    # Two names that later revisions hold to be one (width and case): both keep working.
    Person("Zhou", "viewer", "6403", {"zhou-upper": (None, None)}),
    Person("ｚｈｏｕ", "viewer", "6404", {"zhou-wide": (None, None)}),
]
VILLAGES = [
    "640104001002",
    "640104001003",
    "640104001005",
    "640104002001",
    "640205001001",
    "640205001003",
]
# Retired by a later division load: it reported November and December only.
RETIRED = "640205001003"
RETIRED_ON = dt.date(2024, 1, 1)
MONTHS = ["2023-11", "2023-12", "2024-01", "2024-02", "2024-03"]
# (element, categories) reported monthly by villages.
MONTHLY = {
    "births": ("parity", "sex"),
    "population": ("sex",),
    "married_women": (),
    "contraceptive_users": ("method",),
    "deaths": (),
    "fees_collected": (),
}
CORRECTION = ("640104001002", "births", "parity=1;sex=male", "2024-01")
DELETION = ("640104001003", "deaths", "", "2024-02")
CLI = "cli:ops"


def _catalogue() -> dict[str, Any]:
    with shipped_data(DEFAULT_CATALOGUE).open("rb") as file:
        return tomllib.load(file)


CATALOGUE = _catalogue()


def combo_keys(element: str) -> list[str]:
    """Every cell of the element's breakdown: categories in alphabetical order."""
    categories = sorted(CATALOGUE["elements"][element].get("categories", []))
    choices = [[f"{c}={o}" for o in CATALOGUE["categories"][c]["options"]] for c in categories]
    return [";".join(cell) for cell in itertools.product(*choices)]


def _reported() -> dict[tuple[str, str, str, str], float]:
    """(unit, element, combo key, period) → value, as first imported, file by file."""
    rng = random.Random(2023)
    values: dict[tuple[str, str, str, str], float] = {}
    for month in MONTHS:
        for code in VILLAGES:
            if code == RETIRED and month >= "2024":
                continue
            # A village that sent nothing for February.
            if code == "640104001005" and month == "2024-02":
                continue
            for element in MONTHLY:
                # A stock left out in March: its quarter's latest value is February's.
                if code == "640104002001" and month == "2024-03" and element == "married_women":
                    continue
                for key in combo_keys(element):
                    if element == "population":
                        value = float(rng.randint(400, 900))
                    elif element == "fees_collected":
                        value = rng.randint(0, 500_000) / 100
                    elif element in ("married_women", "contraceptive_users"):
                        value = float(rng.randint(50, 300))
                    else:
                        value = float(rng.randint(0, 3))
                    values[(code, element, key, month)] = value
    for code, quarter, amount in [
        ("640104001", "2023-Q4", 125_000.5),
        ("640205001", "2023-Q4", 98_000.25),
        ("640104001", "2024-Q1", 131_500.75),
        ("640104", "2024-Q1", 1_200_000.0),
    ]:
        values[(code, "funding", "", quarter)] = amount
    values[("640104", "census_population", "sex=female", "2020")] = 372_011.0
    values[("640104", "census_population", "sex=male", "2020")] = 388_102.0
    return values


def _file_month(period: str) -> str:
    """The month whose file carried a value: a quarter's in its last month's, a year's in
    the first file."""
    if len(period) == 4:
        return MONTHS[0]
    if "Q" in period:
        year, quarter = period.split("-Q")
        return f"{year}-{int(quarter) * 3:02d}"
    return period


def _history() -> tuple[dict[tuple[str, str, str, str], float], list[Change]]:
    """What is stored at the end, and every change that got it there, oldest first."""
    first = _reported()
    changes: list[Change] = []
    for month in MONTHS:
        year, number = int(month[:4]), int(month[5:])
        at = dt.datetime(year + number // 12, number % 12 + 1, 5, 9, 30, tzinfo=dt.UTC)
        in_file = [(cell, value) for cell, value in first.items() if _file_month(cell[3]) == month]
        for line, ((code, element, key, period), value) in enumerate(in_file, start=2):
            source = f"import values-{month}.csv"
            changes.append(
                Change(
                    code, element, key, period, None, value, CLI, "monthly report", source, line, at
                )
            )
    stored = dict(first)
    api = dt.datetime(2024, 4, 10, 14, 0, tzinfo=dt.UTC)
    old = stored[CORRECTION]
    stored[CORRECTION] = old + 1
    changes.append(Change(*CORRECTION, old, old + 1, "li", "late certificates", "api", None, api))
    gone = stored.pop(DELETION)
    changes.append(Change(*DELETION, gone, None, "li", "late certificates", "api", None, api))
    return stored, changes


STORED, CHANGES = _history()


def _tree_rows() -> list[dict[str, Any]]:
    """The shipped Ningxia file as rows of the jurisdictions table, parents first."""
    with shipped_data(NINGXIA).open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    rows.sort(key=lambda row: (len(row["code"]), row["code"]))
    paths: dict[str, str] = {}
    out = []
    for row in rows:
        parent = row["parent_code"] or None
        paths[row["code"]] = (paths[parent] if parent else "") + row["code"] + "/"
        out.append(
            {
                "code": row["code"],
                "name": row["name"],
                "level": row["level"],
                "parent": parent,
                "path": paths[row["code"]],
                "valid_from": LOADED,
                "valid_to": RETIRED_ON if row["code"] == RETIRED else None,
            }
        )
    return out


def _ids(connection: Connection, clause: TableClause, key: str) -> dict[str, int]:
    return {k: i for k, i in connection.execute(select(clause.c[key], clause.c.id))}


def _columns(connection: Connection, name: str) -> set[str]:
    inspector = inspect(connection)
    if not inspector.has_table(name):
        return set()
    return {c["name"] for c in inspector.get_columns(name)}


def _load_tree(connection: Connection) -> dict[str, int]:
    rows = _tree_rows()
    ids: dict[str, int] = {}
    for _, level_rows in itertools.groupby(rows, key=lambda row: len(row["code"])):
        batch = list(level_rows)
        connection.execute(
            insert(JURISDICTIONS),
            [
                {k: v for k, v in row.items() if k != "parent"}
                | {"parent_id": ids[row["parent"]] if row["parent"] else None}
                for row in batch
            ],
        )
        ids = _ids(connection, JURISDICTIONS, "code")
    return ids


def _load_catalogue(connection: Connection) -> dict[tuple[str, str], int]:
    """The shipped catalogue; returns combo ids by (element, key)."""
    categories = CATALOGUE["categories"]
    connection.execute(
        insert(CATEGORIES), [{"code": code, "name": c["name"]} for code, c in categories.items()]
    )
    category_ids = _ids(connection, CATEGORIES, "code")
    connection.execute(
        insert(OPTIONS),
        [
            {"category_id": category_ids[code], "code": option, "name": name, "position": position}
            for code, c in categories.items()
            for position, (option, name) in enumerate(c["options"].items())
        ],
    )
    elements = CATALOGUE["elements"]
    connection.execute(
        insert(ELEMENTS),
        [
            {
                "code": code,
                "name": e["name"],
                "description": e["description"],
                "value_type": e["value_type"],
                "period_type": e["period_type"],
                "time_aggregation": e["time_aggregation"],
                "reported_at": ",".join(e.get("reported_at", ["village"])),
            }
            for code, e in elements.items()
        ],
    )
    element_ids = _ids(connection, ELEMENTS, "code")
    links = [
        {"element_id": element_ids[code], "category_id": category_ids[c], "position": position}
        for code, e in elements.items()
        for position, c in enumerate(e.get("categories", []))
    ]
    connection.execute(insert(ELEMENT_CATEGORIES), links)
    connection.execute(
        insert(COMBOS),
        [
            {"element_id": element_ids[code], "key": key}
            for code in elements
            for key in combo_keys(code)
        ],
    )
    connection.execute(
        insert(INDICATORS),
        [
            {
                "code": code,
                "name": i["name"],
                "description": i["description"],
                "numerator": i["numerator"],
                "denominator": i["denominator"],
                "factor": float(i["factor"]),
                "unit": i["unit"],
                "annualize": bool(i.get("annualize", False)),
            }
            for code, i in CATALOGUE["indicators"].items()
        ],
    )
    codes = {i: code for code, i in element_ids.items()}
    return {
        (codes[element_id], key): combo_id
        for combo_id, element_id, key in connection.execute(
            select(COMBOS.c.id, COMBOS.c.element_id, COMBOS.c.key)
        )
    }


def _load_access(connection: Connection, units: dict[str, int]) -> None:
    created = NOW - dt.timedelta(days=200)
    keyed = "name_key" in _columns(connection, "subjects")
    people: list[dict[str, Any]] = [
        {"name": p.name, "kind": "person", "created_at": created} for p in PEOPLE
    ]
    if keyed:
        taken: set[str] = set()
        for number, (person, row) in enumerate(zip(PEOPLE, people, strict=True)):
            key = unicodedata.normalize("NFKC", person.name).strip().casefold()
            row["name_key"] = key if key not in taken else f"{key}\x01{number}"
            taken.add(key)
    connection.execute(insert(SUBJECTS_KEYED if keyed else SUBJECTS), people)
    subjects = _ids(connection, SUBJECTS, "name")
    audit: list[dict[str, Any]] = []
    for person in PEOPLE:
        subject, unit = subjects[person.name], units[person.code]
        grant = {"subject_id": subject, "role": person.role, "jurisdiction_id": unit}
        connection.execute(insert(GRANTS), [grant | {"granted_at": created}])
        audit.append(grant | {"action": "grant", "token_id": None})
        for label, (expires, revoked) in person.tokens.items():
            token = token_of(label)
            row = {
                "subject_id": subject,
                "token_hash": hashlib.sha256(token.encode("ascii")).hexdigest(),
                "prefix": token[:10],
                "label": label,
                "created_at": created,
                "expires_at": expires,
                "revoked_at": revoked,
            }
            connection.execute(insert(TOKENS), [row])
            token_id = connection.execute(
                select(TOKENS.c.id).where(TOKENS.c.label == label)
            ).scalar_one()
            audit.append(
                {"subject_id": subject, "role": None, "jurisdiction_id": None}
                | {"action": "token_create", "token_id": token_id}
            )
    sourced = "source" in _columns(connection, "policy_audit")
    connection.execute(
        insert(POLICY_AUDIT_SOURCED if sourced else POLICY_AUDIT),
        [
            row
            | {"at": created, "actor": CLI, "reason": "set up"}
            | ({"source": "cli"} if sourced else {})
            for row in audit
        ],
    )


def _load_values(
    connection: Connection, units: dict[str, int], combos: dict[tuple[str, str], int]
) -> list[tuple[int, int, int, float]]:
    """The stored values and their audit, in the audit's shape of this revision."""
    last: dict[tuple[str, str, str, str], dt.datetime] = {}
    for change in CHANGES:
        last[(change.code, change.element, change.key, change.period)] = change.at
    stored = [
        (units[code], combos[(element, key)], month_index(period), value)
        for (code, element, key, period), value in STORED.items()
    ]
    connection.execute(
        insert(VALUES),
        [
            {"jurisdiction_id": u, "combo_id": c, "month_index": m, "value": v, "updated_at": at}
            for (u, c, m, v), at in zip(stored, (last[cell] for cell in STORED), strict=True)
        ],
    )
    subjects = _ids(connection, SUBJECTS, "name")

    def cell(change: Change) -> dict[str, Any]:
        return {
            "jurisdiction_id": units[change.code],
            "combo_id": combos[(change.element, change.key)],
            "month_index": month_index(change.period),
            "old_value": change.old,
            "new_value": change.new,
        }

    def who(change: Change) -> dict[str, Any]:
        return {
            "at": change.at,
            "actor_subject_id": subjects.get(change.actor),
            "actor": change.actor,
            "reason": change.reason,
            "source": change.source,
        }

    if "change_set_id" not in _columns(connection, "value_changes"):
        connection.execute(
            insert(CHANGES_BY_VALUE),
            [
                cell(c)
                | who(c)
                | {"source": c.source + (f":{c.line}" if c.line is not None else "")}
                for c in CHANGES
            ],
        )
        return stored
    for _, group in itertools.groupby(CHANGES, key=lambda c: (c.at, c.source)):
        changes = list(group)
        set_id = connection.execute(
            insert(CHANGE_SETS).values(who(changes[0])).returning(CHANGE_SETS.c.id)
        ).scalar_one()
        connection.execute(
            insert(CHANGES_BY_SET),
            [cell(c) | {"change_set_id": set_id, "line": c.line} for c in changes],
        )
    return stored


@dataclass(frozen=True)
class Tree:
    parents: dict[int, int | None]
    levels: dict[int, str]
    codes: dict[int, str]
    retired: dict[int, dt.date | None]


def read_tree(connection: Connection) -> Tree:
    j = JURISDICTIONS.c
    rows = list(connection.execute(select(j.id, j.parent_id, j.level, j.code, j.valid_to)))
    return Tree(
        parents={r.id: r.parent_id for r in rows},
        levels={r.id: r.level for r in rows},
        codes={r.id: r.code for r in rows},
        retired={r.id: r.valid_to for r in rows},
    )


def reference_store(
    tree: Tree,
    combos: dict[int, tuple[int, int, str]],
    values: Iterable[tuple[int, int, int, float]],
    *,
    villages: bool,
) -> tuple[dict[tuple[int, int, int, int], float], dict[tuple[int, int, int, int], int]]:
    """Brute force from the values: each unit's subtree (itself included), per combo and
    bucket, sums its units' values combined over the bucket by the element's time
    aggregation (rollups); and counts the units that reported the element there
    (rollup_reports). `combos` maps a combo to (element id, months per period, aggregation)."""
    held: dict[tuple[int, int, int, int], list[tuple[int, float]]] = defaultdict(list)
    for unit, combo, month, value in values:
        for span in SPANS:
            if span >= combos[combo][1]:
                held[(unit, combo, span, month - month % span)].append((month, value))
    totals: dict[tuple[int, int, int, int], float] = defaultdict(float)
    reporters: dict[tuple[int, int, int, int], set[int]] = defaultdict(set)
    for (unit, combo, span, start), cells in held.items():
        element, _, aggregation = combos[combo]
        amounts = [value for _, value in cells]
        if aggregation == "sum":
            contribution = sum(amounts)
        elif aggregation == "average":
            contribution = sum(amounts) / len(amounts)
        else:
            contribution = max(cells)[1]
        above: int | None = unit
        while above is not None:
            if villages or tree.levels[above] != "village":
                totals[(above, span, start, combo)] += contribution
                reporters[(above, span, start, element)].add(unit)
            above = tree.parents[above]
    return (
        {key: total for key, total in totals.items() if total != 0},
        {key: len(units) for key, units in reporters.items()},
    )


def reference_sizes(tree: Tree, *, by_retirement: bool) -> Counter[tuple[int, str, dt.date]]:
    """Units strictly below each unit, per level and retirement day (current ones only and
    NEVER_RETIRED for all, when not by retirement); ancestors by their codes' prefixes."""
    ids = {code: i for i, code in tree.codes.items()}
    sizes: Counter[tuple[int, str, dt.date]] = Counter()
    for unit, code in tree.codes.items():
        retired = tree.retired[unit]
        if not by_retirement and retired is not None:
            continue
        for prefix in (2, 4, 6, 9):
            if prefix < len(code) and code[:prefix] in ids:
                until = retired or NEVER_RETIRED
                sizes[(ids[code[:prefix]], tree.levels[unit], until)] += 1
    return sizes


def combo_shapes(connection: Connection) -> dict[int, tuple[int, int, str]]:
    """Each combo's element, its months per period and its time aggregation."""
    c, e = COMBOS.c, ELEMENTS.c
    rows = connection.execute(
        select(c.id, c.element_id, e.period_type, e.time_aggregation).join_from(
            COMBOS, ELEMENTS, e.id == c.element_id
        )
    )
    return {r.id: (r.element_id, PERIOD_SPANS[r.period_type], r.time_aggregation) for r in rows}


def _load_derived(
    connection: Connection, revision: str, values: Sequence[tuple[int, int, int, float]]
) -> None:
    """Subtree sizes and the store, as the application of this revision kept them."""
    sizes = _columns(connection, "subtree_sizes")
    if not sizes:
        return
    tree = read_tree(connection)
    by_retirement = "until" in sizes
    counted = reference_sizes(tree, by_retirement=by_retirement)
    rows = [
        {"unit_id": u, "level": level, "units": n} | ({"until": until} if by_retirement else {})
        for (u, level, until), n in counted.items()
    ]
    connection.execute(insert(SIZES_BY_RETIREMENT if by_retirement else SIZES), rows)
    villages = REVISIONS.index(revision) < REVISIONS.index(STORE_WITHOUT_VILLAGES)
    totals, reports = reference_store(tree, combo_shapes(connection), values, villages=villages)
    keys = ("unit_id", "span", "month_index")
    connection.execute(
        insert(ROLLUPS),
        [
            dict(zip((*keys, "combo_id"), key, strict=True)) | {"total": t}
            for key, t in totals.items()
        ],
    )
    connection.execute(
        insert(REPORTS),
        [
            dict(zip((*keys, "element_id"), key, strict=True)) | {"units": n}
            for key, n in reports.items()
        ],
    )


def populate(connection: Connection, revision: str) -> None:
    """Fill a database that stands empty at `revision` with what its server would hold."""
    units = _load_tree(connection)
    combos = _load_catalogue(connection)
    _load_access(connection, units)
    values = _load_values(connection, units, combos)
    _load_derived(connection, revision, values)
