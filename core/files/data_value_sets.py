"""Reading DHIS2 dataValueSets JSON (id scheme code) one data value at a time.

`{"dataSet": …, "period": …, "orgUnit": …, "dataValues": [{"dataElement": …, "period": …,
"orgUnit": …, "categoryOptionCombo": …, "attributeOptionCombo": …, "value": …}, …]}`: the
top-level `period`, `orgUnit` and `attributeOptionCombo`, when they come before
`dataValues`, stand for rows that lack their own. `dataSet`, `completeDate`, `comment`,
`followup`, `storedBy`, `created` and `lastUpdated` (and any other key) are not stored.

The file is never held whole: the text is read in chunks and each data value decoded on
its own (the standard library's C decoder, from where it starts), so memory follows the
largest data value, never the file. A data value longer than MAX_ITEM_CHARS is refused
rather than buffered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

from core.files.value_records import ValueRecord, ValuesFileError

CHUNK_CHARS = 1 << 20
MAX_ITEM_CHARS = 1 << 16
# DHIS2's default category option combo: by code, and by the uid DHIS2 gives it everywhere.
DEFAULT_COMBOS = frozenset({"default", "HllvX50cXC0"})
_DEFAULTS = ("orgUnit", "period", "attributeOptionCombo")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Numbers keep the text they were written with: a value is read as a CSV's would be.
_DECODER = json.JSONDecoder(parse_float=str, parse_int=str, parse_constant=str)


class _Text:
    """The file's text, read on as a decoder needs more of it; positions for messages."""

    def __init__(self, text: TextIO) -> None:
        self._text = text
        self.buffer = ""
        self.at = 0
        self.ended = False
        # Lines in the text already dropped from the buffer.
        self._lines_before = 0

    def more(self) -> bool:
        """Read another chunk, dropping what was consumed; False at the end of the file."""
        if self.ended:
            return False
        try:
            chunk = self._text.read(CHUNK_CHARS)
        except UnicodeDecodeError as error:
            raise ValuesFileError(f"{self.where()}: not UTF-8 ({error.reason})") from None
        if not chunk:
            self.ended = True
            return False
        self._lines_before += self.buffer.count("\n", 0, self.at)
        self.buffer = self.buffer[self.at :] + chunk
        self.at = 0
        return True

    def skip_space(self) -> str:
        """The next character after whitespace ("" at the end of the file)."""
        while True:
            self.at = _WHITESPACE.match(self.buffer, self.at).end()  # type: ignore[union-attr]
            if self.at < len(self.buffer):
                return self.buffer[self.at]
            if not self.more():
                return ""

    def expect(self, characters: str, what: str) -> str:
        found = self.skip_space()
        if not found or found not in characters:
            shown = repr(found) if found else "the end of the file"
            raise ValuesFileError(f"{self.where()}: expected {what}, found {shown}")
        self.at += 1
        return found

    def value(self, what: str) -> Any:
        """The JSON value starting here, decoded whole (at most MAX_ITEM_CHARS long)."""
        self.skip_space()
        while True:
            try:
                decoded, end = _DECODER.raw_decode(self.buffer, self.at)
            except RecursionError:
                # Arrays in arrays thousands deep: no data value is, and the decoder recurses.
                raise ValuesFileError(f"{self.where()}: {what} is nested too deeply") from None
            except json.JSONDecodeError as error:
                # Incomplete, or wrong: read on until the value must have ended.
                if len(self.buffer) - self.at <= MAX_ITEM_CHARS and self.more():
                    continue
                if len(self.buffer) - self.at > MAX_ITEM_CHARS:
                    raise ValuesFileError(
                        f"{self.where()}: {what} is not valid JSON within "
                        f"{MAX_ITEM_CHARS} characters ({error.msg})"
                    ) from None
                raise ValuesFileError(f"{self.where(error.pos)}: {error.msg}") from None
            if end == len(self.buffer) and self.more():
                # A number cut by the chunk's end would read as a shorter one.
                continue
            if end - self.at > MAX_ITEM_CHARS:
                raise ValuesFileError(
                    f"{self.where()}: {what} is longer than {MAX_ITEM_CHARS} characters"
                )
            self.at = end
            return decoded

    def where(self, at: int | None = None) -> str:
        at = self.at if at is None else at
        line = self._lines_before + self.buffer.count("\n", 0, at) + 1
        column = at - (self.buffer.rfind("\n", 0, at) + 1) + 1
        return f"line {line} column {column}"


def read_data_value_sets(text: TextIO) -> Iterator[ValueRecord]:
    """Each data value of the document in order, numbered by its index in dataValues plus
    one; ValuesFileError if the document is no dataValueSets JSON."""
    source = _Text(text)
    if source.skip_space() == "\ufeff":
        source.at += 1
    source.expect("{", "a JSON object (a DHIS2 dataValueSets document)")
    defaults: dict[str, str] = {}
    seen_values = False
    if source.skip_space() == "}":
        source.at += 1
        raise ValuesFileError("no dataValues: a DHIS2 dataValueSets document lists them")
    while True:
        key = source.value("a key")
        if not isinstance(key, str):
            raise ValuesFileError(f"{source.where()}: expected a key in double quotes")
        source.expect(":", "':' after a key")
        if key == "dataValues":
            if seen_values:
                raise ValuesFileError(f"{source.where()}: dataValues given twice")
            seen_values = True
            yield from _data_values(source, defaults)
        else:
            _top_level(source, key, defaults if not seen_values else None)
        if source.expect(",}", "',' or '}' after a top-level value") == "}":
            break
    if source.skip_space():
        raise ValuesFileError(f"{source.where()}: more after the document's end")
    if not seen_values:
        raise ValuesFileError("no dataValues: a DHIS2 dataValueSets document lists them")


def _top_level(source: _Text, key: str, defaults: dict[str, str] | None) -> None:
    """Read a top-level value; keep it among the defaults (when still open to them) if it
    is one of theirs. Defaults after dataValues come too late for its rows."""
    value = source.value(f"the top-level {key}")
    if key in _DEFAULTS and defaults is not None:
        if not isinstance(value, str):
            raise ValuesFileError(f"{source.where()}: the top-level {key} must be a string")
        defaults[key] = value.strip()


def _data_values(source: _Text, defaults: dict[str, str]) -> Iterator[ValueRecord]:
    source.expect("[", "the dataValues array")
    if source.skip_space() == "]":
        source.at += 1
        return
    index = 0
    while True:
        item = source.value(f"dataValues[{index}]")
        try:
            yield ValueRecord(index + 1, _fields(item, defaults))
        except _Refused as refused:
            yield ValueRecord(index + 1, None, str(refused))
        index += 1
        if source.expect(",]", f"',' or ']' after dataValues[{index - 1}]") == "]":
            return


class _Refused(Exception):
    """Why a data value cannot be read."""


def _text_of(item: dict[str, Any], key: str, defaults: dict[str, str]) -> str:
    found = item.get(key)
    if found is None:
        found = defaults.get(key)
    if found is not None and not isinstance(found, str):
        raise _Refused(f"{key} must be a string")
    if not found or not found.strip():
        fallback = " (nor a top-level one before dataValues)" if key in _DEFAULTS else ""
        raise _Refused(f"no {key}{fallback}")
    return found.strip()


def _fields(item: Any, defaults: dict[str, str]) -> tuple[str, str, str, str, str]:
    if not isinstance(item, dict):
        raise _Refused("a data value is a JSON object")
    if item.get("deleted") in (True, "true"):
        raise _Refused(
            "deleted: this import stores values and never deletes them "
            "(delete with the deleteValues mutation)"
        )
    unit = _text_of(item, "orgUnit", defaults)
    element = _text_of(item, "dataElement", defaults)
    period = _text_of(item, "period", defaults)
    attribute = item.get("attributeOptionCombo", defaults.get("attributeOptionCombo"))
    if attribute not in (None, "", *DEFAULT_COMBOS):
        raise _Refused(
            f"attributeOptionCombo {_shown(attribute)}: only the default is stored "
            "(Quhua has no attribute categories)"
        )
    combo = item.get("categoryOptionCombo")
    if combo is None or combo in DEFAULT_COMBOS:
        combo = ""
    elif not isinstance(combo, str):
        raise _Refused("categoryOptionCombo must be a string")
    value = item.get("value")
    if value is None:
        raise _Refused("no value")
    if not isinstance(value, str):
        # Numbers arrive as their text; what is left is true, false, a list or an object.
        raise _Refused(f"value {_shown(value)} is not a number")
    return unit, element, period, value.strip(), combo.strip()


def _shown(value: object, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"
