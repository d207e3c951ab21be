"""Benchmark: what authorization costs per request, at 1,000 and at 620,573 grants.

    .venv/bin/python bench/authz.py [--backend sqlite|postgresql] [--runs 2000]

On the national tree, one caller (a county viewer) asks the same small GraphQL query again
and again, while the database holds 1,000 and then 620,573 grants of other subjects (one per
village of China). Printed: the authorization step alone (token to principal, principal to
scope; median and p99), the whole request with authorization and with it switched off (as a
ratio), and a server's start-up time and worker memory (`quhua serve`, as deployed).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from authz.authentication import Authenticator
from authz.models import Grant, Subject
from authz.principal import Principal
from authz.roles import Action
from authz.scope import scope_for
from core.db.bulk import append_rows
from core.db.engine import async_engine, sync_engine
from core.db.session import RequestSession
from quhua.app import create_app
from quhua.settings import Settings
from tenancy.models import Jurisdiction
from tests.databases import fresh_database, issue_token, load_tree, upgrade
from tests.processes import quhua_server

QUERY = '{ jurisdiction(code: "640104") { name level } }'
VILLAGES = 620_573


def add_grants(url: str, upto: int) -> int:
    """Give villages viewers until `upto` grants exist (one subject each); return the count."""
    engine = sync_engine(url)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        have = connection.execute(select(func.count()).select_from(Grant)).scalar_one()
        first = connection.execute(select(func.coalesce(func.max(Subject.id), 0))).scalar_one()
        villages = (
            connection.execute(
                select(Jurisdiction.id)
                .where(Jurisdiction.level == "village")
                .order_by(Jurisdiction.id)
                .offset(have)
                .limit(max(upto - have, 0))
            )
            .scalars()
            .all()
        )
        subjects: Table = Subject.__table__  # type: ignore[assignment]
        grants: Table = Grant.__table__  # type: ignore[assignment]
        append_rows(
            connection,
            subjects,
            (
                (first + i + 1, f"village-viewer-{first + i + 1}", "person", now)
                for i in range(len(villages))
            ),
        )
        gid = connection.execute(select(func.coalesce(func.max(Grant.id), 0))).scalar_one()
        append_rows(
            connection,
            grants,
            ((gid + i + 1, first + i + 1, "viewer", unit, now) for i, unit in enumerate(villages)),
        )
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT setval('subjects_id_seq', (SELECT max(id) FROM subjects))")
            )
            connection.execute(text("SELECT setval('grants_id_seq', (SELECT max(id) FROM grants))"))
        connection.exec_driver_sql("ANALYZE")
        total = connection.execute(select(func.count()).select_from(Grant)).scalar_one()
    engine.dispose()
    return int(total)


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[int(0.99 * (len(samples) - 1))]


async def authorization_step(url: str, token: str, runs: int) -> tuple[float, float, float]:
    """Median and p99 (ms) of token → principal → scope on a warm cache; and a cold one."""
    engine = async_engine(url)
    authenticator = Authenticator()
    header = f"Bearer {token}"
    sessions = async_sessionmaker(engine)
    async with sessions() as session:
        db = RequestSession(session)
        await authenticator.refresh(db)
        start = time.perf_counter()
        principal = await authenticator.authenticate(db, header)
        cold = (time.perf_counter() - start) * 1000
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            principal = await authenticator.authenticate(db, header)
            assert principal is not None
            principal.scopes.clear()
            scope_for(principal, Action.READ_TREE)
            samples.append((time.perf_counter() - start) * 1000)
    await engine.dispose()
    median, p99 = percentiles(samples)
    return median, p99, cold


class AuthorizationOff(Authenticator):
    """The baseline: every request is the same principal, with its scope already made."""

    def __init__(self, principal: Principal) -> None:
        super().__init__()
        self._fixed = principal

    async def authenticate(self, session: RequestSession, authorization: str | None) -> Principal:
        return self._fixed


async def requests(
    url: str, token: str, runs: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Whole GraphQL requests through ASGI: with authorization, and with it off (interleaved)."""
    settings = Settings(database_url=url)
    on_app = create_app(settings)
    off_app = create_app(settings)
    header = {"Authorization": f"Bearer {token}"}
    async with on_app.router.lifespan_context(on_app), off_app.router.lifespan_context(off_app):
        on = httpx.AsyncClient(transport=httpx.ASGITransport(app=on_app), base_url="http://b")
        off = httpx.AsyncClient(transport=httpx.ASGITransport(app=off_app), base_url="http://b")
        # Learn the principal once, then hand it to the app that does not authorize.
        await on.post("/graphql", json={"query": QUERY}, headers=header)
        view = next(r.app for r in off_app.routes if getattr(r, "path", "") == "/graphql")
        engine = async_engine(url)
        async with async_sessionmaker(engine)() as session:
            learner = Authenticator()
            principal = await learner.authenticate(RequestSession(session), header["Authorization"])
        await engine.dispose()
        assert principal is not None
        scope_for(principal, Action.READ_TREE)
        view._authenticator = AuthorizationOff(principal)

        async def timed(client: httpx.AsyncClient, headers: dict[str, str]) -> float:
            start = time.perf_counter()
            response = await client.post("/graphql", json={"query": QUERY}, headers=headers)
            elapsed = (time.perf_counter() - start) * 1000
            assert response.json() == {
                "data": {"jurisdiction": {"name": "兴庆区", "level": "COUNTY"}}
            }
            return elapsed

        with_auth, without = [], []
        for _ in range(50):
            await timed(on, header)
            await timed(off, {})
        for _ in range(runs):
            with_auth.append(await timed(on, header))
            without.append(await timed(off, {}))
        await on.aclose()
        await off.aclose()
    return percentiles(with_auth), percentiles(without)


def server_start(url: str, token: str) -> tuple[float, float]:
    """Seconds from `quhua serve` to its first authorized answer, and the worker's RSS (MiB)."""
    start = time.perf_counter()
    with (
        tempfile.TemporaryDirectory() as folder,
        quhua_server("serve", folder=Path(folder), env={"QUHUA_DATABASE_URL": url}) as server,
    ):
        response = httpx.post(
            f"{server.base}/graphql",
            json={"query": QUERY},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200
        seconds = time.perf_counter() - start
        status = Path(f"/proc/{server.process.pid}/status").read_text()
        rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        return seconds, rss / 1024


def measure(url: str, token: str, grants: int, runs: int) -> None:
    step_median, step_p99, cold = asyncio.run(authorization_step(url, token, runs))
    (on_median, on_p99), (off_median, off_p99) = asyncio.run(requests(url, token, runs))
    seconds, rss = server_start(url, token)
    print(f"\n{grants:,} grants in the database")
    print(f"  authorization step, warm cache: median {step_median:.4f} ms, p99 {step_p99:.4f} ms")
    print(f"  authorization step, first request of a token: {cold:.2f} ms")
    print(f"  request with authorization:    median {on_median:.3f} ms, p99 {on_p99:.3f} ms")
    print(f"  request without authorization: median {off_median:.3f} ms, p99 {off_p99:.3f} ms")
    print(f"  ratio (median): {on_median / off_median:.3f}")
    print(f"  quhua serve: first authorized answer after {seconds:.2f} s, worker RSS {rss:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, fresh_database(args.backend, Path(folder)) as url:
        print(f"backend: {args.backend}; loading the national tree…")
        upgrade(url)
        load_tree(url, "divisions_2023.csv.xz")
        token = issue_token(url, "bench-county-viewer", "viewer", "640104")
        for target in (1_000, VILLAGES):
            grants = add_grants(url, target)
            measure(url, token, grants, args.runs)


if __name__ == "__main__":
    main()
