"""The one door: Scopes come only from authz, and requests never skip them."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.schema import CreateTable

from authz.roles import Action
from authz.scope import operator_scope
from core.db.engine import async_engine
from core.db.session import RequestSession
from tenancy.models import Jurisdiction
from tenancy.scope import Scope, ScopeRoot, unscoped
from tests.scoping import ScopeGuard

ROOT = Path(__file__).parent.parent
# Where the INSERTs of the guard's test put their rows: a table of no jurisdiction's.
PICKED = Table("picked", MetaData(), Column("code", String(12)), prefixes=["TEMPORARY"])


def test_a_scope_cannot_be_made_outside_the_door() -> None:
    with pytest.raises(TypeError, match=r"only by authz\.scope"):
        Scope(object(), "READ_TREE", [ScopeRoot(1, "64", "64/")])  # type: ignore[arg-type]


def test_only_authz_scope_mints_scopes() -> None:
    minters = []
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or path.parts[-2:] == ("tenancy", "scope.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and any(a.name == "_mint" for a in node.names):
                minters.append(str(path.relative_to(ROOT)))
    assert minters == ["authz/scope.py"]


def test_the_guard_catches_a_request_that_reads_a_scoped_table_without_a_scope(
    ningxia_url: str, every_request_is_scoped: ScopeGuard
) -> None:
    async def read(statement: object) -> None:
        engine = async_engine(ningxia_url)
        async with async_sessionmaker(engine)() as session:
            await RequestSession(session).execute(statement)  # type: ignore[arg-type]
        await engine.dispose()

    asyncio.run(read(unscoped(select(Jurisdiction.code), why="a test of the guard")))
    assert every_request_is_scoped.violations == []
    asyncio.run(read(select(Jurisdiction.code).where(Jurisdiction.code == "64")))
    assert len(every_request_is_scoped.violations) == 1
    every_request_is_scoped.violations.clear()


def test_the_guard_catches_an_insert_that_selects_from_a_scoped_table_without_a_scope(
    ningxia_url: str, every_request_is_scoped: ScopeGuard
) -> None:
    """New rows are the services' to check, but what an INSERT reads needs the door."""
    province = select(Jurisdiction.code).where(Jurisdiction.code == "64")
    caught: list[int] = []

    async def run() -> None:
        engine = async_engine(ningxia_url)
        async with async_sessionmaker(engine)() as session:
            db = RequestSession(session)
            await db.execute(CreateTable(PICKED))
            everywhere = await operator_scope(db, Action.READ_TREE)
            scoped = everywhere.within_scope(province, Jurisdiction.path)
            for statement in (
                insert(PICKED).values(code="64"),
                unscoped(insert(PICKED).from_select(["code"], province), why="a test"),
                insert(PICKED).from_select(["code"], scoped),
                insert(PICKED).from_select(["code"], province),
                insert(PICKED).values(code=province.scalar_subquery()),
            ):
                await db.execute(statement)
                caught.append(len(every_request_is_scoped.violations))
        await engine.dispose()

    asyncio.run(run())
    # Plain VALUES, an exempt and a scoped SELECT pass; a bare SELECT and a subquery do not.
    assert caught == [0, 0, 0, 1, 2]
    assert all("jurisdictions" in found for found in every_request_is_scoped.violations)
    every_request_is_scoped.violations.clear()
