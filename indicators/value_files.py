"""Value files as the import reads them: their formats, how each spells its fields and
periods in messages, and their rows as records.

CSV has the columns `jurisdiction,element,period,value,disaggregation`; DHIS2
dataValueSets JSON and ADX give the same five fields per data value
(core/files/data_value_sets.py, core/files/adx.py) with their own spellings of periods
(indicators/exchange_periods.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath
from typing import TextIO

from core.files.adx import read_adx
from core.files.csvfile import read_csv
from core.files.data_value_sets import read_data_value_sets
from core.files.value_records import ValueRecord
from indicators.catalogue_index import CatalogueIndex
from indicators.exchange_periods import adx_period, dhis2_period
from indicators.periods import Period

COLUMNS = ("jurisdiction", "element", "period", "value", "disaggregation")


class ValueFormat(StrEnum):
    # Named as the exports name them (`format=dvs`).
    CSV = "csv"
    # DHIS2 dataValueSets JSON, id scheme code.
    DATA_VALUE_SETS = "dvs"
    ADX = "adx"

    @classmethod
    def named(cls, name: str) -> ValueFormat:
        """The format of that name (`json` too, for dataValueSets); ValueError otherwise."""
        text = name.strip().lower()
        if text == "json":
            return cls.DATA_VALUE_SETS
        try:
            return cls(text)
        except ValueError:
            raise ValueError(f"format {name!r}: one of csv, dvs (or json), adx") from None

    @classmethod
    def of_file(cls, name: str) -> ValueFormat:
        """The format a file's name says (`.json`, `.json.gz`, `.xml`, `.adx`, …); CSV
        for any other name, as files were read before there were other formats."""
        suffixes = [suffix.lower() for suffix in PurePath(name).suffixes]
        if suffixes and suffixes[-1] in (".gz", ".xz"):
            suffixes.pop()
        last = suffixes[-1] if suffixes else ""
        if last == ".json":
            return cls.DATA_VALUE_SETS
        if last in (".xml", ".adx"):
            return cls.ADX
        return cls.CSV


@dataclass(frozen=True, slots=True)
class Spelling:
    """How a format names the fields and the periods, for its rows' messages."""

    # Prefixes of messages about a field (empty for CSV, whose messages predate them).
    unit: str
    element: str
    period: str
    disaggregation: str
    value: str
    # What the positions count: "line", or "dataValue" (an index in dataValues).
    positions: str
    # The audit's number of a row at a position (an index in dataValues from 0).
    audit_offset: int


SPELLINGS = {
    ValueFormat.CSV: Spelling("", "", "", "", "", "line", 0),
    ValueFormat.DATA_VALUE_SETS: Spelling(
        "orgUnit: ",
        "dataElement: ",
        "period: ",
        "categoryOptionCombo: ",
        "value: ",
        "dataValue",
        1,
    ),
    ValueFormat.ADX: Spelling(
        "orgUnit: ", "dataElement: ", "period: ", "categories: ", "value: ", "line", 0
    ),
}


def records(text: TextIO, value_format: ValueFormat) -> Iterator[ValueRecord]:
    """The rows of an opened file, by its format."""
    if value_format is ValueFormat.DATA_VALUE_SETS:
        return read_data_value_sets(text)
    if value_format is ValueFormat.ADX:
        return read_adx(text.buffer)
    return _csv_records(text)


def _csv_records(text: TextIO) -> Iterator[ValueRecord]:
    for row in read_csv(text, COLUMNS):
        if row.fields is None:
            problem = f"{row.width} fields where the header has {row.header_width}"
            yield ValueRecord(row.line, None, problem)
        else:
            yield ValueRecord(row.line, row.fields)  # type: ignore[arg-type]


def period_reader(value_format: ValueFormat, index: CatalogueIndex) -> Callable[[str], Period]:
    starts = index.statistical_year_starts
    if value_format is ValueFormat.DATA_VALUE_SETS:
        return lambda text: dhis2_period(text, statistical_year_starts=starts)
    if value_format is ValueFormat.ADX:
        return lambda text: adx_period(text, statistical_year_starts=starts)
    # Without the statistical year's start, Period refuses `2024FP` with its own message.
    return Period.parse
