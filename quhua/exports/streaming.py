"""An export as bytes: checked and started before the first byte leaves, then page by page.

`ExportBody.open` runs every check and reads up to the first page that writes something,
so a bad argument, a refusal or an empty ADX export is an ordinary error answer (400, 403,
404) and never a broken file. After that, a failure ends the body with the format's error
record and no end marker.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import AsyncIterator, Sequence
from typing import Generic, Protocol, TypeVar

from core.errors import NotFound, QuhuaError
from indicators.catalogue_index import ElementInfo
from quhua.exports.aggregates import AggregateExport
from quhua.exports.formats import AdxWriter, DvsWriter, Writer, check_adx_categories
from quhua.exports.periods import dhis2_export_period

logger = logging.getLogger("quhua.exports")

R = TypeVar("R")
# Fast enough to keep up with the rows; most of what level 9 would save, gzip saves here.
GZIP_LEVEL = 5
FAILED = "INTERNAL"


class Export(Protocol[R]):
    kind: str

    @property
    def name_parts(self) -> tuple[str, str, str]: ...

    @property
    def options_shown(self) -> Sequence[ElementInfo]:
        """The elements whose options the rows name."""
        ...

    async def prepare(self) -> None: ...

    def row_count(self, page: Sequence[R]) -> int: ...

    def pages(self) -> AsyncIterator[Sequence[R]]: ...

    def cursor(self, row: R) -> str: ...


class ExportBody(Generic[R]):
    """One export written in one format."""

    def __init__(self, export: Export[R], writer: Writer[R]) -> None:
        self.export = export
        self.writer = writer
        self.rows = 0
        self.last: R | None = None
        self._pages: AsyncIterator[Sequence[R]] | None = None
        self._first = ""
        self._finished = False
        # The error record that ended the body, if one did.
        self.failure: str | None = None

    async def open(self) -> None:
        """Check everything, then read until the first text (or the end)."""
        await self.export.prepare()
        writer = self.writer
        if isinstance(writer, AdxWriter):
            check_adx_categories(self.export.options_shown)
        if isinstance(writer, DvsWriter) and isinstance(self.export, AggregateExport):
            for period in self.export.periods:
                dhis2_export_period(period)
        self._pages = self.export.pages()
        text = ""
        async for rows in self._pages:
            text = self._page(rows)
            if text:
                break
        else:
            self._finished = True
        if isinstance(writer, AdxWriter) and writer.written == 0:
            # The ADX schema wants one group at least: an empty document would be invalid.
            raise NotFound(
                "no values to export in ADX: no unit has a figure for what was asked (or "
                "none follows the cursor); ADX has no empty document"
            )
        self._first = writer.start() + text

    def _page(self, rows: Sequence[R]) -> str:
        if rows:
            self.rows += self.export.row_count(rows)
            self.last = rows[-1]
        return self.writer.page(rows)

    @property
    def last_cursor(self) -> str | None:
        """The cursor of the last row read (written, or left out as a row without value)."""
        return None if self.last is None else self.export.cursor(self.last)

    async def text(self) -> AsyncIterator[str]:
        """The document: its start and first page, the rest, then its end (or an error)."""
        assert self._pages is not None, "open() first"
        yield self._first
        if not self._finished:
            try:
                async for rows in self._pages:
                    text = self._page(rows)
                    if text:
                        yield text
            except QuhuaError as error:
                logger.warning("export %s stopped: %s", self.export.kind, error.message)
                self.failure = error.message
                yield self.writer.failure(error.code.value, error.message)
                return
            except Exception:
                logger.exception("export %s failed after %d rows", self.export.kind, self.rows)
                self.failure = "the export failed on the server; resume from the last cursor"
                yield self.writer.failure(FAILED, self.failure)
                return
        yield self.writer.end()

    def filename(self) -> str:
        under, first, last = (_safe(part) for part in self.export.name_parts)
        return f"quhua-{self.export.kind}-{under}-{first}-{last}.{self.writer.extension}"


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "_", part)


async def encoded(text: AsyncIterator[str], *, gzip: bool) -> AsyncIterator[bytes]:
    """UTF-8, gzip-compressed as it goes when asked: each chunk flushed, so that what was
    read leaves at once and a cut stream still decompresses up to the cut."""
    if not gzip:
        async for chunk in text:
            yield chunk.encode()
        return
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    async for chunk in text:
        data = compressor.compress(chunk.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
        if data:
            yield data
    yield compressor.flush()


def accepts_gzip(header: str | None) -> bool:
    """Whether Accept-Encoding lets the answer be gzip (q > 0, named or by `*`)."""
    if not header:
        return False
    named: float | None = None
    anything: float | None = None
    for part in header.split(","):
        name, _, parameters = part.partition(";")
        name = name.strip().lower()
        quality = 1.0
        for parameter in parameters.split(";"):
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name in {"gzip", "x-gzip"}:
            named = quality
        elif name == "*":
            anything = quality
    chosen = named if named is not None else anything
    return chosen is not None and chosen > 0
