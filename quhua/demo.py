"""The demonstration database: the real division tree of China, ready to query."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import Connection, Engine, exists, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from authz import administration, issuing, repository
from authz.models import AuditSource, SubjectKind
from authz.principal import Actor
from authz.roles import Action, Role
from authz.scope import operator_scope
from core.db.engine import SQLITE_WRITE
from core.db.session import RequestSession
from core.files.textfiles import TextSource
from indicators.audit import Author
from indicators.catalogue_file import read_catalogue
from indicators.catalogue_index import catalogue_index, catalogue_index_sync
from indicators.catalogue_store import store_catalogue
from indicators.models import DataValue
from indicators.periods import Period
from indicators.targets.models import Bound
from indicators.targets.store import TargetRow, write_targets
from indicators.value_import import ImportReport, import_values
from quhua import migrate
from quhua.synthetic import generate, write_csv
from tenancy.levels import Level
from tenancy.loading.load import load_divisions
from tenancy.loading.report import LoadReport
from tenancy.models import Jurisdiction
from tenancy.paths import child_path, within
from tenancy.scope import unscoped

NATIONAL_TREE = "divisions_2023.csv.xz"
DEFAULT_CATALOGUE = "catalogue.toml"
# The NBS 2023 codes describe the divisions as of this day.
TREE_AS_OF = dt.date(2023, 6, 30)


def shipped_data(name: str) -> Path:
    """A data file shipped inside the package."""
    return Path(str(resources.files("quhua") / "data" / name))


DEMO_PROVINCE = "64"
DEMO_YEARS = (2025, 2024, 2023)
# Newest first, a quarter a transaction: readers see each quarter as it commits, and a writer
# of the API waits at most one quarter's import for SQLite's write lock.
DEMO_QUARTERS = tuple(
    tuple(f"{year}-{month:02d}" for month in range(first, first + 3))
    for year in DEMO_YEARS
    for first in (10, 7, 4, 1)
)
DEMO_SEED = 2023


def _has_any(connection: Connection, months: Sequence[str]) -> bool:
    first, last = Period.parse(months[0]).month_index, Period.parse(months[-1]).month_index
    inside = DataValue.month_index.between(first, last)
    return bool(connection.execute(select(exists().where(inside))).scalar_one())


def seed_values(engine: Engine, months: Sequence[str]) -> ImportReport | None:
    """Fill synthetic monthly reports of these consecutive months for every village of
    Ningxia, unless the database holds values of them already.

    They go through the same import as any file (checked, audited as `quhua demo`), in one
    transaction: the roll-ups are fresh as soon as it commits.
    """
    with engine.connect() as connection:
        if _has_any(connection, months):
            return None
        root = connection.execute(
            select(Jurisdiction.path).where(Jurisdiction.code == DEMO_PROVINCE)
        ).scalar_one()
        codes = list(
            connection.execute(
                select(Jurisdiction.code)
                .where(Jurisdiction.level == Level.VILLAGE, within(Jurisdiction.path, root))
                .order_by(Jurisdiction.path)
            ).scalars()
        )
    year = Period.parse(months[0]).year
    rows = generate(codes, first_year=year, years=1, seed=DEMO_SEED, only=months)
    with (
        tempfile.TemporaryDirectory() as folder,
        engine.connect().execution_options(**{SQLITE_WRITE: True}) as connection,
        connection.begin(),
    ):
        path = Path(folder) / f"demo-values-{months[0]}.csv.gz"
        write_csv(rows, path)
        report = import_values(
            connection,
            TextSource(path),
            index=catalogue_index_sync(connection),
            actor="quhua demo",
            reason="synthetic demo data",
        )
        if not report.ok:
            raise RuntimeError(f"the demo values did not import: {report.errors[:3]}")
    return report


def prepare(
    engine: Engine, *, on_progress: Callable[[int, int], None] | None = None
) -> LoadReport | None:
    """Migrate, load (or update) the default catalogue, and the national tree unless present.

    Returns the load's report, or None when the database was ready.
    """
    with engine.begin() as connection:
        migrate.upgrade(connection)
        store_catalogue(connection, read_catalogue(shipped_data(DEFAULT_CATALOGUE)))
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


@dataclass(frozen=True, slots=True)
class DemoUser:
    subject: str
    kind: SubjectKind
    role: Role
    code: str
    what: str


# Ningxia (宁夏): its capital Yinchuan, the Xingqing district, a street office and a community.
DEMO_USERS = (
    DemoUser("ningxia-admin", SubjectKind.PERSON, Role.ADMIN, "64", "province admin"),
    DemoUser("yinchuan-viewer", SubjectKind.PERSON, Role.VIEWER, "6401", "city viewer"),
    DemoUser("xingqing-approver", SubjectKind.PERSON, Role.APPROVER, "640104", "county approver"),
    DemoUser(
        "fenghuang-reporter", SubjectKind.PERSON, Role.REPORTER, "640104001", "township reporter"
    ),
    DemoUser(
        "chongan-reporter", SubjectKind.PERSON, Role.REPORTER, "640104001002", "village reporter"
    ),
    DemoUser(
        "ningxia-stats-system",
        SubjectKind.SERVICE,
        Role.AGGREGATE_READER,
        "64",
        "provincial system (aggregates only)",
    ),
)
DEMO_LABEL = "demo"
DEMO_TOKEN_LIFETIME = dt.timedelta(days=30)


async def issue_demo_tokens(engine: AsyncEngine) -> list[tuple[DemoUser, str]]:
    """Grant the demo users their roles (once), give each a fresh token, and set the demo's
    targets of the counties.

    Tokens are kept only as hashes, so each run revokes the previous run's demo tokens and
    prints new ones.
    """
    actor = Actor(label="quhua demo", principal=None, source=AuditSource.SYSTEM)
    issued: list[tuple[DemoUser, str]] = []
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        db = RequestSession(session)
        for user in DEMO_USERS:
            subject = await administration.ensure_subject(db, user.subject, user.kind)
            unit = await repository.unit_by_code(db, user.code)
            assert unit is not None
            if await repository.find_grant(db, subject.id, user.role, unit.id) is None:
                await administration.grant_role(
                    db,
                    actor=actor,
                    name=user.subject,
                    role=user.role,
                    code=user.code,
                    reason="demo",
                )
            for token in await repository.tokens_of(db, subject.id):
                if token.label == DEMO_LABEL and token.revoked_at is None:
                    await issuing.revoke_token(
                        db,
                        actor=actor,
                        token_id=token.id,
                        reason="new demo run",
                    )
            new = await issuing.create_token(
                db,
                actor=actor,
                name=user.subject,
                expires_in=DEMO_TOKEN_LIFETIME,
                label=DEMO_LABEL,
            )
            issued.append((user, new.secret))
        await set_demo_targets(db)
        await db.commit()
    return issued


DEMO_TARGET_YEAR = "2024"
# The seed's yearly responsibility targets for every county of Ningxia, weighted as points
# out of 100: failing only the births ceiling still passes (98), failing a rate fails, and
# the family-planning rate vetoes the assessment.
DEMO_TARGETS = (
    ("births", Bound.AT_MOST, 2000.0, 2.0, False),
    ("birth_rate", Bound.AT_MOST, 9.5, 40.0, False),
    ("natural_growth_rate", Bound.AT_MOST, 4.5, 40.0, False),
    ("policy_rate", Bound.AT_LEAST, 95.0, 18.0, True),
)
# Two counties signed targets of their own (the synthetic data's rates lie above the seed's
# in most counties): with them the demo's 2024 shows every grade, 西夏区 commended, 永宁县
# passed (over its births ceiling alone), 红寺堡区 failed, the others vetoed.
DEMO_TARGETS_AGREED = {
    "640105": {"birth_rate": 10.5, "policy_rate": 94.0},
    "640121": {"births": 1500.0, "birth_rate": 10.0, "policy_rate": 94.0},
}


def demo_target_rows(counties: Sequence[str]) -> list[TargetRow]:
    """The demo's targets of the counties for DEMO_TARGET_YEAR."""
    return [
        TargetRow(
            jurisdiction=county,
            year=DEMO_TARGET_YEAR,
            indicator=code,
            bound=bound,
            value=DEMO_TARGETS_AGREED.get(county, {}).get(code, value),
            weight=weight,
            veto=veto,
        )
        for county in counties
        for code, bound, value, weight, veto in DEMO_TARGETS
    ]


async def set_demo_targets(db: RequestSession) -> None:
    """Set the demo's targets for the counties of Ningxia (unchanged ones stay as they are)."""
    counties = await db.scalars(
        unscoped(
            select(Jurisdiction.code)
            .where(
                Jurisdiction.level == Level.COUNTY,
                within(Jurisdiction.path, child_path(None, DEMO_PROVINCE)),
                Jurisdiction.valid_to.is_(None),
            )
            .order_by(Jurisdiction.code),
            why="the demo sets targets for the whole province",
        )
    )
    outcome = await write_targets(
        db,
        scope=await operator_scope(db, Action.WRITE_TARGETS),
        index=await catalogue_index(db),
        rows=demo_target_rows(list(counties)),
        author=Author(None, "quhua demo"),
        reason="the seed's yearly targets",
        source="demo",
        operator=True,
        max_rows=None,
    )
    if not outcome.ok:
        raise RuntimeError(f"the demo targets were refused: {outcome.problems[:3]}")
