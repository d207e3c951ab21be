"""A hot standby of a private cluster (tests/private_postgres.py): `pg_basebackup -R` of the
primary into a folder of its own, started on another port, streaming from the primary.

initdb's clusters allow it as they are: wal_level is replica, and pg_hba.conf lets
127.0.0.1 replicate with the authentication initdb was given (trust).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from core.db.engine import sync_engine
from tests.private_postgres import PrivatePostgres
from tests.processes import free_port


@contextmanager
def streaming_replica(primary: PrivatePostgres) -> Iterator[PrivatePostgres]:
    """A standby of the primary, started, replaying what the primary writes; removed after."""
    folder = Path(tempfile.mkdtemp(prefix="quhua-pg-replica-"))
    if primary.owner:
        shutil.chown(folder, user="postgres")
    replica = PrivatePostgres(primary.bin, folder, free_port(), primary.owner)
    try:
        subprocess.run(
            [
                *primary.owner,
                # initdb's own folder: PATH may hold links to a few of the tools only.
                str((primary.bin / "initdb").resolve().parent / "pg_basebackup"),
                *("-D", str(folder / "data")),
                *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
                # -R: standby.signal and primary_conninfo, so that it starts as a standby;
                # a fast checkpoint, not a spread one that makes the backup wait.
                *("-R", "-X", "stream", "--no-sync", "--checkpoint=fast"),
            ],
            check=True,
            capture_output=True,
        )
        replica.start()
        try:
            yield replica
        finally:
            replica.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sql(url: str, statement: str) -> object:
    """The first column of the first row of one statement, run on its own connection."""
    engine = sync_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            return connection.execute(text(statement)).scalar()
    finally:
        engine.dispose()


def wait_for_replay(
    primary: PrivatePostgres, replica: PrivatePostgres, seconds: float = 30
) -> None:
    """Until the replica has replayed everything the primary had written when this began."""
    written = sql(primary.url, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + seconds
    caught_up = f"SELECT pg_last_wal_replay_lsn() >= '{written}'::pg_lsn"
    while sql(replica.url, caught_up) is not True:
        assert time.monotonic() < deadline, f"the replica did not replay up to {written}"
        time.sleep(0.05)
