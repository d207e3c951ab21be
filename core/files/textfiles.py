"""Opening plain, gzip and xz text files as one stream, with progress on the bytes read."""

from __future__ import annotations

import gzip
import io
import lzma
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, BinaryIO, TextIO


class TextSource:
    """A text file, compressed or not, that reports how far through it a reader is."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size
        self._raw: BinaryIO | None = None

    @property
    def bytes_read(self) -> int:
        """Bytes of the file on disk consumed so far (compressed bytes for .gz and .xz)."""
        return self._raw.tell() if self._raw is not None and not self._raw.closed else 0

    @contextmanager
    def open(self) -> Iterator[TextIO]:
        """Open the file as UTF-8 text for the csv module (newline='')."""
        with ExitStack() as stack:
            raw = stack.enter_context(self.path.open("rb"))
            self._raw = raw
            suffix = self.path.suffix.lower()
            stream: IO[bytes] | gzip.GzipFile = raw
            if suffix == ".xz":
                stream = stack.enter_context(lzma.open(raw))
            elif suffix == ".gz":
                stream = stack.enter_context(gzip.GzipFile(fileobj=raw))
            yield stack.enter_context(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""))
