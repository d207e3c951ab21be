"""The four formats of an export, written a page at a time (docs: README, "Exports").

- CSV: a header row, then one line per row (`\\n`, csv's minimal quoting). With
  `cursors=true` a last column `cursor` and, after the last row, the end marker `# end`.
  Without cursors the file is exactly what `quhua values import` reads, which would refuse
  any marker line: its end is the transport's (the chunked body's last chunk, gzip's
  trailer, the command's rename of a complete file).
- NDJSON: one object per line, the CSV's columns as keys and a `cursor`; then `{"end":true}`.
- DHIS2 dataValueSets JSON: `{"dataValues":[…]}`, one value per line; `cursors=true` adds
  a `cursor` to each. The closing `]}` is the end marker.
- ADX: one `group` per unit and period, one `dataValue` per value; `cursors=true` follows
  each with a processing instruction `<?cursor …?>` (which XML readers, and the schema,
  pass over). `</adx>` is the end marker.

DHIS2 and ADX carry numbers only: rows without a value (nullReason) are left out of them.
An error after the first bytes ends the body with an error record in the format's terms
(`# error: …`, `{"error":…}`, a JSON line after the open array, an XML comment after the
open element) and without the end marker, so that no reader takes it for complete.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar
from xml.sax.saxutils import quoteattr

from core.errors import BadUserInput, shown
from indicators.catalogue_index import ElementInfo
from indicators.exchange_periods import adx_id, dhis2_id
from indicators.periods import Period
from quhua.exports.aggregates import AggregateRow
from quhua.exports.periods import dhis2_export_period
from quhua.exports.values import ValueLine, ValueRow

FORMATS = ("csv", "ndjson", "dvs", "adx")
ADX_NAMESPACE = "urn:ihe:qrph:adx:2015"
ADX_DATA_SET = "QUHUA"
STORED_BY = "quhua"
AGGREGATE_COLUMNS = (
    "jurisdiction",
    "element",
    "period",
    "value",
    "disaggregation",
    "kind",
    "name",
    "numerator",
    "denominator",
    "reporting",
    "expected",
    "approval",
    "null_reason",
)
VALUE_COLUMNS = ("jurisdiction", "element", "period", "value", "disaggregation")
CSV_END = "# end\n"
NDJSON_END = '{"end":true}\n'
# Attribute names of an ADX dataValue other than its categories'.
_ADX_OWN = frozenset({"dataElement", "value"})
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*")
VALUE_PLACES = 2

R = TypeVar("R")
R_contra = TypeVar("R_contra", contravariant=True)
Cursor = Callable[[R], str]


def number_text(value: float, places: int | None = None) -> str:
    """As Quhua stores numbers: whole ones without `.0`, others as the shortest repr
    (rounded to `places` decimals first when given)."""
    if type(value) is int:  # SQLite hands whole numbers back as integers
        return str(value)
    if places is not None:
        value = round(value, places)
    if value.is_integer() and -1e16 < value < 1e16:
        return str(int(value))
    return repr(value)


def _json_number(value: float | None, places: int | None = None) -> int | float | None:
    if value is None or type(value) is int:
        return value
    if places is not None:
        value = round(value, places)
    if value.is_integer() and -1e16 < value < 1e16:
        return int(value)
    return value


def decimal_text(value: float, places: int | None = None) -> str:
    """The number as xs:decimal spells it: never with an exponent."""
    text = number_text(value, places)
    if "e" in text or "E" in text:
        return format(Decimal(text), "f")
    return text


def iso_utc(at: dt.datetime) -> str:
    """`2025-02-03T04:05:06.000Z` (a time without zone is UTC, as the store keeps it)."""
    at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def check_adx_categories(elements: Sequence[ElementInfo]) -> None:
    """BAD_USER_INPUT unless every category of the elements can be an ADX attribute name."""
    for element in elements:
        for category in element.categories:
            if category in _ADX_OWN or not _XML_NAME.fullmatch(category):
                raise BadUserInput(
                    f"format: adx: {element.code}'s category {shown(category)} cannot be an "
                    "ADX attribute name: export it as csv, ndjson or dvs"
                )


def _places(kind: str) -> int | None:
    # Elements are sums of stored values (two decimals); indicators are ratios.
    return VALUE_PLACES if kind == "element" else None


class Shapes(Protocol[R_contra]):
    """What each format needs of one kind of row."""

    header: tuple[str, ...]

    def csv_page(self, rows: Sequence[R_contra], cursor: Cursor[Any] | None) -> str: ...

    def json_text(self, row: R_contra, cursor: Cursor[Any] | None) -> str:
        """The row as one JSON object (NDJSON's line)."""
        ...

    def dvs_text(self, row: R_contra, cursor: Cursor[Any] | None) -> str | None:
        """The row as a dataValue's JSON object; None for a row without a value."""
        ...

    def adx_value(self, row: R_contra) -> tuple[tuple[str, str], str] | None: ...


def _csv_lines(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _options(key: str) -> str:
    """The combo key's options as ADX attributes: ` parity="1" sex="male"`."""
    if not key:
        return ""
    return "".join(
        f" {category}={quoteattr(option)}"
        for category, _, option in (part.partition("=") for part in key.split(";"))
    )


class AggregateShapes:
    header: tuple[str, ...] = AGGREGATE_COLUMNS

    def __init__(self, exported_at: dt.datetime) -> None:
        self.stamp = iso_utc(exported_at)

    def csv_page(self, rows: Sequence[AggregateRow], cursor: Cursor[Any] | None) -> str:
        lines = []
        # A page holds one period or two: each spelled once.
        periods: dict[Period, str] = {}
        for row in rows:
            places = _places(row.kind)
            period = periods.get(row.period)
            if period is None:
                period = periods[row.period] = str(row.period)
            fields = [
                row.code,
                row.element,
                period,
                "" if row.value is None else number_text(row.value, places),
                row.disaggregation,
                row.kind,
                row.name,
                "" if row.numerator is None else number_text(row.numerator, places),
                "" if row.denominator is None else number_text(row.denominator),
                str(row.reporting),
                str(row.expected),
                row.approval,
                row.null_reason or "",
            ]
            if cursor is not None:
                fields.append(cursor(row))
            lines.append(fields)
        return _csv_lines(lines)

    def json_text(self, row: AggregateRow, cursor: Cursor[Any] | None) -> str:
        places = _places(row.kind)
        found: dict[str, object] = {
            "jurisdiction": row.code,
            "element": row.element,
            "period": str(row.period),
            "value": _json_number(row.value, places),
            "disaggregation": row.disaggregation,
            "kind": row.kind,
            "name": row.name,
            "numerator": _json_number(row.numerator, places),
            "denominator": _json_number(row.denominator),
            "reporting": row.reporting,
            "expected": row.expected,
            "approval": row.approval or None,
            "null_reason": row.null_reason,
        }
        if cursor is not None:
            found["cursor"] = cursor(row)
        return _dumps(found)

    def dvs_text(self, row: AggregateRow, cursor: Cursor[Any] | None) -> str | None:
        if row.value is None:
            return None
        found = {
            "dataElement": row.element,
            "period": dhis2_export_period(row.period),
            "orgUnit": row.code,
            "categoryOptionCombo": row.disaggregation or "default",
            "attributeOptionCombo": "default",
            "value": number_text(row.value, _places(row.kind)),
            # Figures are computed as they are read: as of the export.
            "lastUpdated": self.stamp,
            "storedBy": STORED_BY,
        }
        if cursor is not None:
            found["cursor"] = cursor(row)
        return _dumps(found)

    def adx_value(self, row: AggregateRow) -> tuple[tuple[str, str], str] | None:
        if row.value is None:
            return None
        value = decimal_text(row.value, _places(row.kind))
        element = quoteattr(row.element)
        text = f"<dataValue dataElement={element} value={quoteattr(value)}"
        return (row.code, adx_id(row.period)), text + _options(row.disaggregation) + "/>"


class ValueShapes:
    header: tuple[str, ...] = VALUE_COLUMNS

    def __init__(self) -> None:
        self._stamps: dict[dt.datetime, str] = {}
        # Values repeat (counts of a few people): each one's text is worked out once.
        self._numbers: dict[float, str] = {}
        self._authors: dict[str | None, str] = {}
        self._options: dict[str, str] = {}

    def csv_page(self, rows: Sequence[ValueRow], cursor: Cursor[Any] | None) -> str:
        # Unit codes are digits, element codes, options and periods letters, digits, `_`,
        # `-`, `=` and `;` (the tree's and the catalogue's rules): no field needs quoting.
        number = self._number
        parts: list[str] = []
        add = parts.append
        for row in rows:
            line = f"{row.code},{row.element},{row.period},{number(row.value)},{row.disaggregation}"
            add(line if cursor is None else f"{line},{cursor(row)}")
        return "\n".join(parts) + "\n" if parts else ""

    def _number(self, value: float) -> str:
        text = self._numbers.get(value)
        if text is None:
            if len(self._numbers) > 10_000:
                self._numbers.clear()
            text = self._numbers[value] = number_text(value, VALUE_PLACES)
        return text

    # The fields below are codes, periods, keys, numbers and cursors, which JSON and XML
    # take as they are (the tree's and the catalogue's rules; cursors are url-safe base64):
    # the text is written whole instead of through an encoder. Only who stored a value is
    # free text, and it is encoded.

    def json_text(self, row: ValueRow, cursor: Cursor[Any] | None) -> str:
        text = (
            f'{{"jurisdiction":"{row.code}","element":"{row.element}",'
            f'"period":"{row.period}","value":{self._number(row.value)},'
            f'"disaggregation":"{row.disaggregation}"'
        )
        return text + (f',"cursor":"{cursor(row)}"}}' if cursor is not None else "}")

    def _stamp(self, at: dt.datetime) -> str:
        found = self._stamps.get(at)
        if found is None:
            if len(self._stamps) > 1000:
                self._stamps.clear()
            found = self._stamps[at] = iso_utc(at)
        return found

    def _author(self, name: str | None) -> str:
        found = self._authors.get(name)
        if found is None:
            if len(self._authors) > 1000:
                self._authors.clear()
            found = self._authors[name] = _dumps(name or STORED_BY)
        return found

    def dvs_text(self, row: ValueRow, cursor: Cursor[Any] | None) -> str:
        stamp = self._stamp(row.updated_at) if row.updated_at else ""
        text = (
            f'{{"dataElement":"{row.element}","period":"{_dhis2_of_label(row.period)}",'
            f'"orgUnit":"{row.code}","categoryOptionCombo":"{row.disaggregation or "default"}",'
            f'"attributeOptionCombo":"default","value":"{self._number(row.value)}",'
            f'"lastUpdated":"{stamp}","storedBy":{self._author(row.stored_by)}'
        )
        return text + (f',"cursor":"{cursor(row)}"}}' if cursor is not None else "}")

    def adx_value(self, row: ValueRow) -> tuple[tuple[str, str], str]:
        value = decimal_text(row.value, VALUE_PLACES)
        options = self._options.get(row.disaggregation)
        if options is None:
            options = self._options[row.disaggregation] = _options(row.disaggregation)
        text = f'<dataValue dataElement="{row.element}" value="{value}"{options}/>'
        return (row.code, _adx_of_label(row.period)), text


class ValueLineShapes:
    """Values whose CSV lines the database wrote (CSV without cursors only)."""

    header: tuple[str, ...] = VALUE_COLUMNS

    def csv_page(self, rows: Sequence[ValueLine], cursor: Cursor[Any] | None) -> str:
        assert cursor is None, "lines carry no cursors"
        return "\n".join([row.line for row in rows]) + "\n" if rows else ""

    def json_text(self, row: ValueLine, cursor: Cursor[Any] | None) -> str:
        raise TypeError("lines are CSV only")

    def dvs_text(self, row: ValueLine, cursor: Cursor[Any] | None) -> str | None:
        raise TypeError("lines are CSV only")

    def adx_value(self, row: ValueLine) -> tuple[tuple[str, str], str] | None:
        raise TypeError("lines are CSV only")


# A stored value's period is a month, a quarter or a calendar year (2024-03, 2024-Q1, 2024):
# a few labels per export, each spelt once.
@functools.cache
def _dhis2_of_label(label: str) -> str:
    return dhis2_id(Period.parse(label))


@functools.cache
def _adx_of_label(label: str) -> str:
    return adx_id(Period.parse(label))


class Writer(Generic[R]):
    """One format's text for one export: its start, its pages, its end or its error."""

    extension = ""
    media_type = ""

    def __init__(self, shapes: Shapes[R], cursor: Cursor[R] | None) -> None:
        self.shapes = shapes
        self.cursor = cursor

    def start(self) -> str:
        return ""

    def page(self, rows: Sequence[R]) -> str:
        raise NotImplementedError

    def end(self) -> str:
        return ""

    def failure(self, code: str, message: str) -> str:
        raise NotImplementedError


class CsvWriter(Writer[R]):
    extension = "csv"
    media_type = "text/csv; charset=utf-8"

    def __init__(self, shapes: Shapes[R], cursor: Cursor[R] | None, *, bom: bool) -> None:
        super().__init__(shapes, cursor)
        self.bom = bom

    def start(self) -> str:
        header = self.shapes.header + (("cursor",) if self.cursor is not None else ())
        return ("\ufeff" if self.bom else "") + ",".join(header) + "\n"

    def page(self, rows: Sequence[R]) -> str:
        return self.shapes.csv_page(rows, self.cursor)

    def end(self) -> str:
        return CSV_END if self.cursor is not None else ""

    def failure(self, code: str, message: str) -> str:
        return f"# error: {code}: {_one_line(message)}\n"


class NdjsonWriter(Writer[R]):
    extension = "ndjson"
    media_type = "application/x-ndjson; charset=utf-8"

    def page(self, rows: Sequence[R]) -> str:
        assert self.cursor is not None
        shape, cursor = self.shapes.json_text, self.cursor
        lines = [shape(row, cursor) for row in rows]
        return "\n".join(lines) + "\n" if lines else ""

    def end(self) -> str:
        return NDJSON_END

    def failure(self, code: str, message: str) -> str:
        return _json_error(code, message) + "\n"


class DvsWriter(Writer[R]):
    extension = "json"
    media_type = "application/json; charset=utf-8"

    def __init__(self, shapes: Shapes[R], cursor: Cursor[R] | None) -> None:
        super().__init__(shapes, cursor)
        self.written = 0

    def start(self) -> str:
        return '{"dataValues":['

    def page(self, rows: Sequence[R]) -> str:
        shape, cursor = self.shapes.dvs_text, self.cursor
        found = [text for row in rows if (text := shape(row, cursor)) is not None]
        if not found:
            return ""
        lead = "\n" if self.written == 0 else ",\n"
        self.written += len(found)
        return lead + ",\n".join(found)

    def end(self) -> str:
        return "\n]}\n"

    def failure(self, code: str, message: str) -> str:
        return "\n" + _json_error(code, message) + "\n"


class AdxWriter(Writer[R]):
    extension = "xml"
    media_type = "application/adx+xml; charset=utf-8"

    def __init__(
        self, shapes: Shapes[R], cursor: Cursor[R] | None, *, exported_at: dt.datetime
    ) -> None:
        super().__init__(shapes, cursor)
        self.exported = exported_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.group: tuple[str, str] | None = None
        self.written = 0

    def start(self) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<adx xmlns="{ADX_NAMESPACE}" exported="{self.exported}">\n'
        )

    def page(self, rows: Sequence[R]) -> str:
        parts: list[str] = []
        add = parts.append
        shape, cursor = self.shapes.adx_value, self.cursor
        for row in rows:
            found = shape(row)
            if found is None:
                continue
            group, text = found
            if group != self.group:
                if self.group is not None:
                    add("</group>\n")
                unit, period = group
                add(
                    f"<group orgUnit={quoteattr(unit)} period={quoteattr(period)} "
                    f'dataSet="{ADX_DATA_SET}">\n'
                )
                self.group = group
            add(text + "\n")
            if cursor is not None:
                add(f"<?cursor {cursor(row)}?>\n")
            self.written += 1
        return "".join(parts)

    def end(self) -> str:
        return ("</group>\n" if self.group is not None else "") + "</adx>\n"

    def failure(self, code: str, message: str) -> str:
        text = _one_line(message).replace("--", "- -")
        return f"<!-- error: {code}: {text} -->\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json_error(code: str, message: str) -> str:
    return json.dumps(
        {"error": {"code": code, "message": message}}, ensure_ascii=False, separators=(",", ":")
    )


def writer_for(
    name: str,
    shapes: Shapes[R],
    cursor: Cursor[R],
    *,
    cursors: bool,
    bom: bool,
    exported_at: dt.datetime,
) -> Writer[R]:
    """The writer of a format; NDJSON always carries cursors, the others when asked."""
    if bom and name != "csv":
        raise BadUserInput(f"bom: a byte order mark is for csv only, not {name}")
    chosen = cursor if cursors else None
    if name == "csv":
        return CsvWriter(shapes, chosen, bom=bom)
    if name == "ndjson":
        return NdjsonWriter(shapes, cursor)
    if name == "dvs":
        return DvsWriter(shapes, chosen)
    if name == "adx":
        return AdxWriter(shapes, chosen, exported_at=exported_at)
    raise BadUserInput(f"format: {shown(name)} is not a format (one of: {', '.join(FORMATS)})")
