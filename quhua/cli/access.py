"""`quhua token`, `quhua grant`, `quhua revoke`: bootstrapping who may do what."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import async_sessionmaker

from authz import administration, issuing, repository
from authz.models import AuditSource, SubjectKind
from authz.principal import Actor
from core.db.engine import async_engine
from core.db.session import RequestSession
from core.errors import QuhuaError
from quhua.cli.common import DatabaseOption, fail, settings_for
from quhua.migrate import SchemaBehindError, ensure_current

T = TypeVar("T")

token_app = typer.Typer(no_args_is_help=True, help="Issue, list and revoke bearer tokens.")

SubjectOption = Annotated[str, typer.Option("--subject", help="Name of the person or service.")]
ReasonOption = Annotated[str, typer.Option(help="Why: kept in the policy audit.")]
_DURATION = re.compile(r"^(\d+)([dhm])$")


def operator() -> Actor:
    """The audit's name for whoever runs the command."""
    return Actor(label=f"cli:{getpass.getuser()}", principal=None, source=AuditSource.CLI)


def run(
    database_url: str | None,
    work: Callable[[RequestSession], Awaitable[T]],
    *,
    writes: bool = True,
) -> T:
    """Run work in one transaction, committed if it returns; errors become messages."""
    settings = settings_for(database_url)

    async def main() -> T:
        engine = async_engine(settings.url)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(ensure_current)
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                db = RequestSession(session)
                if writes:
                    # On SQLite, queue behind a running writer (a server marking tokens
                    # used) rather than fail when upgrading a read transaction.
                    await db.begin_writing()
                result = await work(db)
                await db.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except (QuhuaError, SchemaBehindError) as error:
        fail(str(error))


def parse_duration(text: str) -> dt.timedelta | None:
    """`90d`, `12h`, `30m`, or `never`."""
    if text == "never":
        return None
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise typer.BadParameter(f"{text!r}: give a duration like 90d, 12h or 30m, or never")
    amount, unit = int(match.group(1)), match.group(2)
    return dt.timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[unit]: amount})


@token_app.command("create")
def create_token(
    subject: SubjectOption,
    expires: Annotated[str, typer.Option(help="Lifetime: 90d, 12h, 30m or never.")] = "90d",
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    kind: Annotated[SubjectKind, typer.Option(help="For a new subject.")] = SubjectKind.PERSON,
    database_url: DatabaseOption = None,
) -> None:
    """Issue a token and print it once (the database keeps only its hash)."""
    lifetime = parse_duration(expires)

    async def work(db: RequestSession) -> issuing.IssuedToken:
        return await issuing.create_token(
            db,
            actor=operator(),
            name=subject,
            expires_in=lifetime,
            label=label,
            kind=kind,
        )

    issued = run(database_url, work)
    until = issued.token.expires_at.isoformat() if issued.token.expires_at else "never"
    typer.echo(issued.secret)
    typer.echo(f"token {issued.token.id} for {issued.subject.name}, expires {until}", err=True)


@token_app.command("revoke")
def revoke_token(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `quhua token list`).")],
    reason: ReasonOption = "",
    database_url: DatabaseOption = None,
) -> None:
    """Revoke a token; every server refuses it within a second."""

    async def work(db: RequestSession) -> None:
        await issuing.revoke_token(
            db,
            actor=operator(),
            token_id=token_id,
            reason=reason,
        )

    run(database_url, work)
    typer.echo(f"revoked token {token_id}")


@token_app.command("list")
def list_tokens(subject: SubjectOption, database_url: DatabaseOption = None) -> None:
    """A subject's tokens (never their secrets)."""

    async def work(db: RequestSession) -> list[str]:
        found = await repository.subject_by_name(db, subject)
        if found is None:
            fail(f"nobody is called {subject!r}")
        lines = []
        for token in await repository.tokens_of(db, found.id):
            state = "revoked" if token.revoked_at else "active"
            expires = token.expires_at.isoformat() if token.expires_at else "never"
            lines.append(f"{token.id}\t{token.prefix}…\t{state}\texpires {expires}\t{token.label}")
        return lines

    for line in run(database_url, work, writes=False):
        typer.echo(line)


def grant(
    subject: SubjectOption,
    role: Annotated[str, typer.Option(help="The role's code (see `quhua role list`).")],
    jurisdiction: Annotated[str, typer.Option(help="Code of the unit; covers its subtree.")],
    reason: ReasonOption = "",
    kind: Annotated[SubjectKind, typer.Option(help="For a new subject.")] = SubjectKind.PERSON,
    database_url: DatabaseOption = None,
) -> None:
    """Give a subject (created if new) a role at a jurisdiction."""

    async def work(db: RequestSession) -> None:
        await administration.grant_role(
            db,
            actor=operator(),
            name=subject,
            role=role,
            code=jurisdiction,
            reason=reason,
            kind=kind,
        )

    run(database_url, work)
    typer.echo(f"granted {role} at {jurisdiction} to {subject}")


def revoke(
    subject: SubjectOption,
    role: Annotated[str, typer.Option(help="The role's code.")],
    jurisdiction: Annotated[str, typer.Option(help="Code of the unit it was granted at.")],
    reason: ReasonOption = "",
    database_url: DatabaseOption = None,
) -> None:
    """Take a role back from a subject."""

    async def work(db: RequestSession) -> None:
        await administration.revoke_role(
            db,
            actor=operator(),
            name=subject,
            role=role,
            code=jurisdiction,
            reason=reason,
        )

    run(database_url, work)
    typer.echo(f"revoked {role} at {jurisdiction} from {subject}")
