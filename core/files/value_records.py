"""A row of a values file as every reader gives it, whatever the file's format."""

from __future__ import annotations

from typing import NamedTuple

from core.files.csvfile import CsvFileError


class ValuesFileError(CsvFileError):
    """A values file (dataValueSets JSON, ADX) cannot be read as a whole: not the format,
    not well-formed, hostile. The loaders report it as they report a CSV without its header,
    with nothing written."""


class ValueRecord(NamedTuple):
    # Where the row is: a CSV's or an ADX document's line, a dataValueSets file's index in
    # dataValues plus one (0 is kept for what concerns the whole file).
    position: int
    # jurisdiction, element, period, value, disaggregation, as written (the period in the
    # format's own spelling, the disaggregation as `category=option;…`); None when the row
    # cannot be read, and `problem` says why.
    fields: tuple[str, str, str, str, str] | None
    problem: str = ""
