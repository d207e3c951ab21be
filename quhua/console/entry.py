"""The data entry screen: one unit's values of one month as GraphQL gives them, laid out as
a form, and what a saved form changes.

The form holds each element the unit's level reports, for the month (and, in a quarter's
last month, the quarter's elements; in December, the year's): one input per option
combination, laid out as a table of the element's categories. Each input carries the value
the viewer saw; saving sends only what the viewer changed, each with the value seen as
`expected`, so that a change someone made meanwhile is refused (CONFLICT) instead of being
overwritten. A form's changes are all stored, or none (one request, one transaction).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from quhua.console.gateway import Answer, Gateway, Problem
from quhua.upload import Imported

# Changes of the month's span read for "who changed this last"; older ones show only the
# time the value was stored (values' updatedAt is always there).
TRAIL_CHANGES = 500
SEP = "|"
VALUE_FIELD = "v" + SEP
SEEN_FIELD = "s" + SEP
# Locked by an approval, unless a level above reopened the month for correction.
LOCKING_STATES = ("APPROVED_HERE", "APPROVED_ABOVE")
# The fields an error at a path under these may leave out, and the rest still shows: the
# audit (who changed, submitted or approved) needs audit:read, the figures do not.
OPTIONAL_PARTS = ("trail", "acts")

ENTRY = """
query ConsoleEntry($unit: String!, $month: String!, $span: String!, $changes: Int!) {
  unit: jurisdiction(code: $unit) {
    code name level ancestors { code name level }
    values(period: $span) { element disaggregation period value updatedAt }
  }
  trail: jurisdiction(code: $unit) {
    auditTrail(period: $span, first: $changes) { edges { node {
      at actor element disaggregation period oldValue newValue reason } } }
  }
  catalogue { elements { code name valueType periodType reportedAt
    categories { code name options { code name } } } }
  report(unit: $unit, period: $month) { state firstSubmittedAt deadline onTime }
  acts: report(unit: $unit, period: $month) {
    lastSubmitted { at actor reason } returned { at actor reason }
  }
  approval: approvalStatus(unit: $unit, period: $month) {
    state
    approvedHere { unit { code name } approved { at actor reason } }
    approvedAbove { unit { code name } approved { at actor reason } }
  }
}
"""

SAVE = """
mutation ConsoleSave($rows: [ValueInput!]!, $reason: String!) {
  submitValues(input: $rows, reason: $reason) {
    ok changed unchanged errors { index code message }
    violations { period rule { code name } leftValue rightValue }
  }
}
"""

DELETE = """
mutation ConsoleDelete($keys: [ValueKeyInput!]!, $reason: String!) {
  deleteValues(input: $keys, reason: $reason) {
    ok changed unchanged errors { index code message }
    violations { period rule { code name } leftValue rightValue }
  }
}
"""

SUBMIT_REPORT = """
mutation ConsoleSubmitReport($unit: String!, $period: String!, $comment: String!) {
  submitReport(unit: $unit, period: $period, comment: $comment) {
    resubmitted report { state onTime }
    violations { period rule { code name } leftValue rightValue }
  }
}
"""


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @property
    def period(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def span(self) -> str:
        """The period whose values the form shows: the month, its quarter in a quarter's
        last month (the quarter's elements are due then), its year in December."""
        if self.month == 12:
            return str(self.year)
        if self.month % 3 == 0:
            return f"{self.year}-Q{self.month // 3}"
        return self.period

    def period_of(self, period_type: str) -> str | None:
        """The period an element of this type is entered for in this month, if any."""
        if period_type == "MONTH":
            return self.period
        if period_type == "QUARTER" and self.month % 3 == 0:
            return f"{self.year}-Q{self.month // 3}"
        if period_type == "YEAR" and self.month == 12:
            return str(self.year)
        return None


@dataclass(slots=True)
class Cell:
    """One input: a value of an element, a period and an option combination."""

    key: str  # element|period|disaggregation
    element: str
    period: str
    disaggregation: str
    label: str  # the combination's option names, for screen readers
    step: str  # 1 for counts, 0.01 for yuan
    seen: str  # the value stored when the page was made ("" for none)
    typed: str  # what the input holds: the value seen, or what the viewer typed
    changed_at: str | None = None
    changed_by: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Block:
    """One element's inputs, as a table: a header per column, a header and cells per row."""

    code: str
    name: str
    period: str
    value_type: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]]


@dataclass(slots=True)
class Sheet:
    month: Month
    unit: dict[str, Any] | None
    blocks: list[Block]
    report: dict[str, Any] | None
    acts: dict[str, Any] | None
    approval: dict[str, Any] | None
    changes: list[dict[str, Any]]
    problem: Problem | None
    # What a save or a submission said: how many values changed, the report submitted,
    # rules the values fail, refusals not tied to one input.
    saved: int | None = None
    submitted: dict[str, Any] | None = None
    violations: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    # A file uploaded: its name, the import's report and whether it was a dry run.
    imported: Imported | None = None

    @property
    def cells(self) -> list[Cell]:
        return [cell for block in self.blocks for _, row in block.rows for cell in row]

    @property
    def locked(self) -> bool:
        reopened = (self.report or {}).get("state") == "REOPENED"
        return (self.approval or {}).get("state") in LOCKING_STATES and not reopened

    @property
    def has_errors(self) -> bool:
        return bool(self.refusals) or any(cell.error for cell in self.cells)


@dataclass(frozen=True, slots=True)
class Edit:
    """What the viewer changed in one input."""

    cell: Cell
    value: float | None  # None: cleared (the stored value is to be deleted)
    expected: float | None  # the value the viewer saw (None: none)


@dataclass(slots=True)
class Outcome:
    """What storing a form's edits came to: all stored, or none and why."""

    changed: int = 0
    violations: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    refused: int = 0  # inputs refused, each with its error on its cell

    @property
    def ok(self) -> bool:
        return not self.refusals and not self.refused


async def sheet(gateway: Gateway, code: str, month: Month) -> Sheet:
    """The unit's form for the month, as GraphQL answers now."""
    answer = await gateway.run(
        ENTRY, unit=code, month=month.period, span=month.span, changes=TRAIL_CHANGES
    )
    data = answer.data
    unit = data.get("unit")
    elements = (data.get("catalogue") or {}).get("elements") or []
    stored = {
        _key(v["element"], v["period"], v["disaggregation"]): v
        for v in (unit or {}).get("values") or []
    }
    trail = ((data.get("trail") or {}).get("auditTrail") or {}).get("edges") or []
    changes = [edge["node"] for edge in trail]
    last_changer: dict[str, str] = {}
    for change in changes:  # newest first: the first one of a value is its last change
        last_changer.setdefault(
            _key(change["element"], change["period"], change["disaggregation"]), change["actor"]
        )
    blocks = []
    if unit is not None:
        for element in elements:
            period = month.period_of(element["periodType"])
            if period is None or unit["level"] not in element["reportedAt"]:
                continue
            blocks.append(_block(element, period, stored, last_changer))
    fatal = [p for p in answer.problems if not _optional(p)]
    periods = {block.period for block in blocks}
    return Sheet(
        month=month,
        unit=unit,
        blocks=blocks,
        report=data.get("report"),
        acts=data.get("acts"),
        approval=data.get("approval"),
        changes=[change for change in changes if change["period"] in periods],
        problem=fatal[0] if fatal else None,
    )


def read_edits(shown: Sheet, form: Mapping[str, Any], t: Callable[..., str]) -> list[Edit]:
    """The inputs whose value differs from the one the viewer saw. A value that is no
    number, or a cleared input whose value someone changed since the page was made, marks
    its cell with the error. Fields naming no input of the form are ignored."""
    edits = []
    for cell in shown.cells:
        typed = _text(form.get(VALUE_FIELD + cell.key))
        seen = _text(form.get(SEEN_FIELD + cell.key))
        if typed is None or seen is None:
            continue  # not on the form the viewer saw (the catalogue changed since)
        cell.typed = typed
        if typed == seen:
            continue
        expected = _number(seen) if seen else None
        if seen and expected is None:
            cell.error = t("not_a_number", text=seen)
        elif typed == "":
            if cell.seen != seen:
                cell.error = t("changed_meanwhile", value=cell.seen or "-")
            edits.append(Edit(cell, None, expected))
        elif (value := _number(typed)) is None:
            cell.error = t("not_a_number", text=typed)
        elif value != expected:
            edits.append(Edit(cell, value, expected))
    return edits


def corrects(edits: list[Edit]) -> bool:
    """Whether an edit changes or deletes a value the viewer saw stored (a correction:
    its reason is asked for)."""
    return any(edit.expected is not None for edit in edits)


async def save(gateway: Gateway, code: str, edits: list[Edit], reason: str) -> Outcome:
    """Store the edits, each refused one's error set on its cell; the caller keeps all of
    them or none (the request's transaction)."""
    outcome = Outcome()
    writes = [edit for edit in edits if edit.value is not None]
    clears = [edit for edit in edits if edit.value is None]
    if writes:
        rows = [
            {**_value_key(code, e.cell), "value": e.value, "expected": e.expected} for e in writes
        ]
        answer = await gateway.run(SAVE, rows=rows, reason=reason)
        _settle(outcome, answer, "submitValues", writes)
    if clears and outcome.ok:
        keys = [_value_key(code, edit.cell) for edit in clears]
        answer = await gateway.run(DELETE, keys=keys, reason=reason)
        _settle(outcome, answer, "deleteValues", clears)
    return outcome


def _settle(outcome: Outcome, answer: Answer, payload: str, batch: list[Edit]) -> None:
    result = answer.data.get(payload)
    outcome.refusals += [problem.message for problem in answer.problems]
    if result is None:
        return
    for error in result["errors"]:
        batch[error["index"]].cell.error = f"{error['code']}: {error['message']}"
    if not result["ok"]:
        outcome.refused += max(1, len(result["errors"]))
        return
    outcome.changed += result["changed"]
    outcome.violations += result["violations"]


async def submit_report(
    gateway: Gateway, code: str, month: Month, comment: str
) -> tuple[dict[str, Any] | None, list[str]]:
    answer = await gateway.run(SUBMIT_REPORT, unit=code, period=month.period, comment=comment)
    return answer.data.get("submitReport"), [p.message for p in answer.problems]


def _block(
    element: dict[str, Any],
    period: str,
    stored: dict[str, dict[str, Any]],
    last_changer: dict[str, str],
) -> Block:
    step = "1" if element["valueType"] == "INTEGER" else "0.01"
    columns, layout = _layout(element)

    def cell(disaggregation: str, label: str) -> Cell:
        key = _key(element["code"], period, disaggregation)
        found = stored.get(key)
        seen = "" if found is None else _shown(found["value"])
        return Cell(
            key=key,
            element=element["code"],
            period=period,
            disaggregation=disaggregation,
            label=label,
            step=step,
            seen=seen,
            typed=seen,
            changed_at=None if found is None else found["updatedAt"],
            changed_by=last_changer.get(key) if found is not None else None,
        )

    return Block(
        code=element["code"],
        name=element["name"],
        period=period,
        value_type=element["valueType"],
        columns=columns,
        rows=[(header, [cell(d, label) for d, label in row]) for header, row in layout],
    )


Layout = list[tuple[str, list[tuple[str, str]]]]


def _layout(element: dict[str, Any]) -> tuple[list[str], Layout]:
    """Columns and rows of an element's inputs, each input's disaggregation and label: no
    category, one input; one, its options across; two, the one with more options down
    and the other across; more, one row per combination."""
    categories = sorted(element["categories"], key=lambda c: c["code"])
    if not categories:
        return [], [("", [("", element["name"])])]
    if len(categories) == 1:
        [only] = categories
        options = only["options"]
        cells = [(_combo({only["code"]: o["code"]}), o["name"]) for o in options]
        return [o["name"] for o in options], [(only["name"], cells)]
    if len(categories) == 2:
        down, across = sorted(categories, key=lambda c: -len(c["options"]))
        rows = [
            (
                o["name"],
                [
                    (
                        _combo({down["code"]: o["code"], across["code"]: a["code"]}),
                        f"{o['name']} {a['name']}",
                    )
                    for a in across["options"]
                ],
            )
            for o in down["options"]
        ]
        return [a["name"] for a in across["options"]], rows
    combos = itertools.product(*(c["options"] for c in categories))
    rows = []
    for chosen in combos:
        names = " ".join(o["name"] for o in chosen)
        disaggregation = _combo(
            {c["code"]: o["code"] for c, o in zip(categories, chosen, strict=True)}
        )
        rows.append((names, [(disaggregation, names)]))
    return [element["name"]], rows


def _combo(chosen: dict[str, str]) -> str:
    """A disaggregation as GraphQL gives it: each category=option, by category code."""
    return ";".join(f"{category}={option}" for category, option in sorted(chosen.items()))


def _key(element: str, period: str, disaggregation: str) -> str:
    return SEP.join((element, period, disaggregation))


def _value_key(code: str, cell: Cell) -> dict[str, Any]:
    return {
        "jurisdiction": code,
        "element": cell.element,
        "period": cell.period,
        "disaggregation": cell.disaggregation,
    }


def _optional(problem: Problem) -> bool:
    """An error only in what the page can do without (the audit's parts)."""
    return bool(problem.path) and (problem.path[0] in OPTIONAL_PARTS or len(problem.path) > 2)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) else None


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _shown(value: float) -> str:
    """A stored value as its input holds it: 3, not 3.0; 12.5 as 12.5."""
    return str(int(value)) if value == int(value) else repr(value)
