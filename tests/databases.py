"""Real databases for tests: a SQLite file, or a fresh PostgreSQL database."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.db.engine import sync_engine
from core.files.textfiles import TextSource
from quhua import migrate
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from tenancy.loading.load import load_divisions
from tests.cli import quhua

BACKENDS = ("sqlite", "postgresql")
NINGXIA = "divisions_2023_ningxia.csv"


def postgres_admin_url() -> str:
    url = os.environ.get("QUHUA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    if not url:
        pytest.skip("QUHUA_TEST_POSTGRES_URL is empty: PostgreSQL tests are off")
    return url


@contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database that is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'quhua-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    admin_url = postgres_admin_url()
    name = f"quhua_test_{uuid.uuid4().hex[:12]}"
    admin = sync_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def upgrade(url: str) -> None:
    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            migrate.upgrade(connection)
    finally:
        engine.dispose()


def load_tree(url: str, name: str = NINGXIA) -> None:
    """Load a shipped division file, failing the test on any bad row."""
    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            report = load_divisions(
                connection, TextSource(shipped_data(name)), valid_from=dt.date(2023, 6, 30)
            )
        assert report.ok, report.errors[:5]
    finally:
        engine.dispose()


def load_catalogue(url: str) -> None:
    """Load the shipped catalogue, as an operator would."""
    loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url)
    assert loaded.exit_code == 0, loaded.stdout


@contextmanager
def ningxia_world(backend: str, folder: Path, administrator: str) -> Iterator[tuple[str, str]]:
    """A database of its own with the Ningxia tree, the shipped catalogue, and the token of
    a province administrator with this name."""
    with fresh_database(backend, folder) as url:
        upgrade(url)
        load_tree(url)
        load_catalogue(url)
        yield url, issue_token(url, administrator, "admin", "64")


def retire(url: str, code: str, valid_from: str, folder: Path) -> None:
    """Load the Ningxia tree without the unit, retiring it as of valid_from."""
    tree = shipped_data(NINGXIA).read_text(encoding="utf-8").splitlines(keepends=True)
    smaller = folder / f"ningxia-without-{code}.csv"
    smaller.write_text("".join(line for line in tree if not line.startswith(code + ",")))
    loaded = quhua(
        "divisions", "load", str(smaller), "--retire-missing", "--valid-from", valid_from, url=url
    )
    assert loaded.exit_code == 0, loaded.stdout


def issue_token(url: str, subject: str, role: str, code: str) -> str:
    """Grant a role and issue a token, through the `quhua` command as an operator would."""
    granted = quhua("grant", "--subject", subject, "--role", role, "--jurisdiction", code, url=url)
    assert granted.exit_code == 0, granted.stderr
    issued = quhua("token", "create", "--subject", subject, "--expires", "1d", url=url)
    assert issued.exit_code == 0, issued.stderr
    return issued.stdout.strip()


@contextmanager
def cloned_database(template_url: str, tmp_path: Path) -> Iterator[str]:
    """A copy of a prepared database (a file copy, or CREATE DATABASE … TEMPLATE), dropped after.

    The template must have no open connections.
    """
    url = make_url(template_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        copy = tmp_path / f"quhua-{uuid.uuid4().hex[:8]}.sqlite3"
        shutil.copyfile(url.database, copy)
        yield f"sqlite:///{copy}"
        copy.unlink()
        return
    name = f"quhua_test_{uuid.uuid4().hex[:12]}"
    admin = sync_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
