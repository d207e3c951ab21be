"""Running the `quhua` command in-process, as a user would type it."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from quhua.cli import app

runner = CliRunner()


def quhua(*args: str, url: str) -> Result:
    return runner.invoke(app, [*args, "--database-url", url], catch_exceptions=False)
