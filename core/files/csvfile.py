"""Reading CSV files with a required header, row by row, with line numbers."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TextIO


class CsvFileError(ValueError):
    """The file as a whole cannot be read (no header, missing columns, not UTF-8)."""


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int
    # The required columns' values, stripped, in the order asked for; None if the row has
    # a different number of fields than the header.
    fields: tuple[str, ...] | None
    # How many fields the row has, and the header.
    width: int
    header_width: int


def read_csv(text: TextIO, columns: Sequence[str]) -> Iterator[CsvRow]:
    """Rows of a CSV whose header names the columns (in any order; others are ignored)."""
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFileError("the file is empty: expected a header line") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise CsvFileError(f"line 1: {error}") from error
    names = [column.strip().lower() for column in header]
    missing = [column for column in columns if column not in names]
    if missing:
        raise CsvFileError(
            f"line 1: the header lacks {', '.join(missing)}; expected {','.join(columns)}"
        )
    positions = [names.index(column) for column in columns]
    width = len(names)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as error:
            raise CsvFileError(f"line {reader.line_num}: {error}") from error
        if not fields:
            continue
        if len(fields) != width:
            yield CsvRow(reader.line_num, None, len(fields), width)
            continue
        yield CsvRow(reader.line_num, tuple(fields[p].strip() for p in positions), width, width)
