"""Reading a division file row by row, with the checks a single row allows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from core.files.csvfile import CsvFileError, read_csv
from tenancy.levels import LEVEL_BY_CODE_LENGTH, Level

# The file as a whole cannot be read; kept under the name callers know.
DivisionFileError = CsvFileError

COLUMNS = ("code", "name", "level", "parent_code")
NAME_MAX_LENGTH = 100


@dataclass(frozen=True, slots=True)
class DivisionRow:
    line: int
    code: str
    name: str
    level: Level | None
    parent_code: str | None
    # The reasons this row is wrong on its own; empty when it is fine so far.
    problems: tuple[str, ...]


def _code_problem(code: str, what: str) -> str | None:
    if not code:
        return f"empty {what}"
    if not code.isascii() or not code.isdigit():
        return f"malformed {what} {code!r}: digits only"
    if len(code) not in LEVEL_BY_CODE_LENGTH:
        return f"malformed {what} {code!r}: a division code has 2, 4, 6, 9 or 12 digits"
    return None


def check_row(code: str, name: str, level_text: str, parent_code: str) -> list[str]:
    """Every reason a row is wrong on its own, without looking at other rows."""
    problems: list[str] = []
    code_problem = _code_problem(code, "code")
    if code_problem:
        problems.append(code_problem)
    if not name:
        problems.append("empty name")
    elif len(name) > NAME_MAX_LENGTH:
        problems.append(f"name longer than {NAME_MAX_LENGTH} characters")
    try:
        level: Level | None = Level(level_text)
    except ValueError:
        level = None
        problems.append(
            f"unknown level {level_text!r}: one of {', '.join(level.value for level in Level)}"
        )
    if level is None or code_problem:
        return problems
    if len(code) != level.code_length:
        problems.append(
            f"malformed code {code!r}: a {level.value} code has {level.code_length} digits"
        )
        return problems
    expected_parent = level.parent
    if expected_parent is None:
        if parent_code:
            problems.append(f"a province has no parent, but {parent_code!r} is given")
        return problems
    if not parent_code:
        problems.append(f"missing parent: a {level.value} needs a {expected_parent.value}")
        return problems
    parent_problem = _code_problem(parent_code, "parent code")
    if parent_problem:
        problems.append(parent_problem)
    elif len(parent_code) != expected_parent.code_length:
        parent_level = LEVEL_BY_CODE_LENGTH[len(parent_code)]
        problems.append(
            f"parent {parent_code} is a {parent_level.value}, not one level up: "
            f"a {level.value}'s parent is a {expected_parent.value}"
        )
    elif not code.startswith(parent_code):
        problems.append(f"code {code} is not prefixed by its parent's code {parent_code}")
    return problems


def read_rows(text: TextIO) -> Iterator[DivisionRow]:
    """Rows of a division CSV (`code,name,level,parent_code`), line numbers from 1 = header."""
    for row in read_csv(text, COLUMNS):
        if row.fields is None:
            problem = f"{row.width} fields where the header has {row.header_width}"
            yield DivisionRow(row.line, "", "", None, None, (problem,))
            continue
        code, name, level_text, parent_code = row.fields
        problems = check_row(code, name, level_text, parent_code)
        level = Level(level_text) if level_text in Level._value2member_map_ else None
        yield DivisionRow(row.line, code, name, level, parent_code or None, tuple(problems))
