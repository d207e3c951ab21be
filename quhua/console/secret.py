"""The key that signs the console's session cookies."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from quhua.settings import Settings

SECRET_FILE = "console-secret"  # noqa: S105 - the file's name, not a secret
# 32 random bytes, hex: as strong as the HMAC-SHA256 that uses them.
_SECRET_BYTES = 32


def console_secret(settings: Settings) -> bytes:
    """QUHUA_CONSOLE_SECRET, or the key in data_dir/console-secret, created on first use.

    Workers sharing a data_dir share the file: it is written whole under a temporary name
    and linked into place, and a worker that loses the race reads the winner's key. Machines
    that share no data_dir must be given the same QUHUA_CONSOLE_SECRET.
    """
    if settings.console_secret is not None:
        given = settings.console_secret.get_secret_value()
        if len(given) < _SECRET_BYTES:
            raise ValueError(
                f"QUHUA_CONSOLE_SECRET must be at least {_SECRET_BYTES} characters long"
            )
        return given.encode()
    path = settings.data_dir / SECRET_FILE
    if not path.exists():
        _create(path)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < _SECRET_BYTES:
        raise ValueError(f"{path} holds no console secret: delete it to have one made")
    return key.encode()


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{SECRET_FILE}-")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(_SECRET_BYTES) + "\n")
        os.chmod(draft, 0o600)
        with contextlib.suppress(FileExistsError):
            # Another worker made it first: its key is the one every worker uses.
            os.link(draft, path)
    finally:
        os.unlink(draft)
