"""The catalogue file (TOML): categories, data elements, indicators and the statistical year,
checked as a whole."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indicators.formulas import FormulaError, LinearForm, parse_formula
from indicators.models import TimeAggregation, ValueType
from indicators.periods import STATISTICAL_YEAR_STARTS, PeriodType
from indicators.quality.settings import QualitySettings, parse_quality
from indicators.validation.rules import RuleSpec, parse_rule
from tenancy.levels import Level

CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
OPTION = re.compile(r"^[a-z0-9][a-z0-9_]{0,39}$")
NAME_MAX = 100


@dataclass(frozen=True, slots=True)
class CategorySpec:
    code: str
    name: str
    options: dict[str, str]


@dataclass(frozen=True, slots=True)
class ElementSpec:
    code: str
    name: str
    description: str
    value_type: ValueType
    period_type: PeriodType
    time_aggregation: TimeAggregation
    categories: tuple[str, ...]
    reported_at: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    code: str
    name: str
    description: str
    numerator: LinearForm
    denominator: LinearForm
    factor: float
    unit: str
    annualize: bool


@dataclass(slots=True)
class CatalogueSpec:
    categories: dict[str, CategorySpec] = field(default_factory=dict)
    elements: dict[str, ElementSpec] = field(default_factory=dict)
    indicators: dict[str, IndicatorSpec] = field(default_factory=dict)
    # The month (1–12) the statistical year (`2024FP`) starts in: `[periods]
    # statistical_year_starts`, October when the file names none.
    statistical_year_starts: int = STATISTICAL_YEAR_STARTS
    # `[quality]`: outlier thresholds, plausible ranges, consistency checks.
    quality: QualitySettings = field(default_factory=QualitySettings)
    # `[validation_rules.CODE]`: checks between figures (indicators/validation/rules.py).
    rules: dict[str, RuleSpec] = field(default_factory=dict)

    def options_of(self) -> dict[str, dict[str, list[str]]]:
        """element → category → option codes: what formulas are checked against."""
        return {
            code: {c: list(self.categories[c].options) for c in element.categories}
            for code, element in self.elements.items()
        }


class CatalogueError(ValueError):
    """Every problem of a catalogue file, each with where it is."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def table(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.problem(where, "must be a table")
            return {}
        return value

    def keys(
        self, table: dict[str, Any], where: str, allowed: set[str], required: set[str]
    ) -> None:
        for key in sorted(set(table) - allowed):
            self.problem(
                f"{where}.{key}", f"unknown key; expected one of {', '.join(sorted(allowed))}"
            )
        for key in sorted(required - set(table)):
            self.problem(where, f"missing {key}")

    def text(
        self, table: dict[str, Any], key: str, where: str, *, default: str | None = None
    ) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not value.strip():
            if key in table or default is None:
                self.problem(f"{where}.{key}", "must be non-empty text")
            return value if isinstance(value, str) else ""
        if len(value) > NAME_MAX and key in ("name", "unit"):
            self.problem(f"{where}.{key}", f"at most {NAME_MAX} characters")
        return value.strip()

    def choice(self, table: dict[str, Any], key: str, where: str, kind: type[Any]) -> Any:
        value = table.get(key)
        try:
            return kind(value)
        except ValueError:
            allowed = " | ".join(member.value for member in kind)
            self.problem(f"{where}.{key}", f"{value!r} is not one of {allowed}")
            return None

    def code(self, code: str, where: str, pattern: re.Pattern[str] = CODE) -> bool:
        if not pattern.match(code):
            self.problem(where, f"{code!r} is not a code: lowercase letters, digits and _")
            return False
        return True


def read_catalogue(path: Path) -> CatalogueSpec:
    """Parse and check a catalogue file; CatalogueError lists every problem at once."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CatalogueError([f"{path.name}: {error}"]) from error
    return parse_catalogue(raw)


def parse_catalogue(raw: dict[str, Any]) -> CatalogueSpec:
    reader = _Reader()
    spec = CatalogueSpec()
    reader.keys(
        raw,
        "catalogue",
        {"categories", "elements", "indicators", "periods", "quality", "validation_rules"},
        {"elements"},
    )
    spec.statistical_year_starts = _periods(reader, raw.get("periods", {}))
    for code, value in reader.table(raw.get("categories", {}), "categories").items():
        _category(reader, spec, code, value)
    for code, value in reader.table(raw.get("elements", {}), "elements").items():
        _element(reader, spec, code, value)
    options = spec.options_of()
    for code, value in reader.table(raw.get("indicators", {}), "indicators").items():
        _indicator(reader, spec, options, code, value)
    _quality(reader, spec, raw.get("quality", {}))
    for code, value in reader.table(raw.get("validation_rules", {}), "validation_rules").items():
        _rule(reader, spec, options, code, value)
    if reader.problems:
        raise CatalogueError(reader.problems)
    return spec


def _quality(reader: _Reader, spec: CatalogueSpec, value: Any) -> None:
    spec.quality = parse_quality(
        value, elements=spec.elements, indicators=spec.indicators, problems=reader.problems
    )


def _rule(
    reader: _Reader,
    spec: CatalogueSpec,
    options: dict[str, dict[str, list[str]]],
    code: str,
    value: Any,
) -> None:
    where = f"validation_rules.{code}"
    table = reader.table(value, where)
    rule, problems = parse_rule(code, table, options=options)
    reader.problems += problems
    if reader.code(code, where) and rule is not None:
        spec.rules[code] = rule


def _periods(reader: _Reader, value: Any) -> int:
    """The month the statistical year starts in."""
    table = reader.table(value, "periods")
    reader.keys(table, "periods", {"statistical_year_starts"}, set())
    starts = table.get("statistical_year_starts", STATISTICAL_YEAR_STARTS)
    if isinstance(starts, bool) or not isinstance(starts, int) or not 1 <= starts <= 12:
        reader.problem(
            "periods.statistical_year_starts", f"{starts!r} is not a month: write 1 to 12"
        )
        return STATISTICAL_YEAR_STARTS
    return starts


def _category(reader: _Reader, spec: CatalogueSpec, code: str, value: Any) -> None:
    where = f"categories.{code}"
    table = reader.table(value, where)
    reader.keys(table, where, {"name", "options"}, {"name", "options"})
    options = reader.table(table.get("options", {}), f"{where}.options")
    if not options and "options" in table:
        reader.problem(f"{where}.options", "needs at least one option")
    for option, label in options.items():
        reader.code(option, f"{where}.options.{option}", OPTION)
        if not isinstance(label, str) or not label.strip():
            reader.problem(f"{where}.options.{option}", "must be a non-empty name")
    if reader.code(code, where):
        spec.categories[code] = CategorySpec(
            code, reader.text(table, "name", where), {k: str(v) for k, v in options.items()}
        )


ELEMENT_KEYS = {
    "name",
    "description",
    "value_type",
    "period_type",
    "time_aggregation",
    "categories",
    "reported_at",
}


def _element(reader: _Reader, spec: CatalogueSpec, code: str, value: Any) -> None:
    where = f"elements.{code}"
    table = reader.table(value, where)
    reader.keys(
        table, where, ELEMENT_KEYS, ELEMENT_KEYS - {"description", "categories", "reported_at"}
    )
    categories = table.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        reader.problem(f"{where}.categories", "must be a list of category codes")
        categories = []
    for category in categories:
        if category not in spec.categories:
            reader.problem(f"{where}.categories", f"unknown category {category!r}")
    if len(set(categories)) != len(categories):
        reader.problem(f"{where}.categories", "names a category twice")
    levels = table.get("reported_at", ["village"])
    reported: list[Level] = []
    for level in levels if isinstance(levels, list) else [levels]:
        try:
            reported.append(Level(level))
        except ValueError:
            reader.problem(f"{where}.reported_at", f"{level!r} is not a level")
    element = ElementSpec(
        code=code,
        name=reader.text(table, "name", where),
        description=reader.text(table, "description", where, default=""),
        value_type=reader.choice(table, "value_type", where, ValueType),
        period_type=reader.choice(table, "period_type", where, PeriodType),
        time_aggregation=reader.choice(table, "time_aggregation", where, TimeAggregation),
        categories=tuple(c for c in categories if c in spec.categories),
        reported_at=tuple(sorted(set(reported), key=lambda level: -level.depth)),
    )
    if reader.code(code, where):
        spec.elements[code] = element


INDICATOR_KEYS = {"name", "description", "numerator", "denominator", "factor", "unit", "annualize"}


def _indicator(
    reader: _Reader,
    spec: CatalogueSpec,
    options: dict[str, dict[str, list[str]]],
    code: str,
    value: Any,
) -> None:
    where = f"indicators.{code}"
    table = reader.table(value, where)
    reader.keys(table, where, INDICATOR_KEYS, INDICATOR_KEYS - {"factor", "annualize"})
    forms: list[LinearForm | None] = []
    for side in ("numerator", "denominator"):
        source = table.get(side, "")
        try:
            forms.append(parse_formula(str(source), options))
        except FormulaError as error:
            reader.problem(f"{where}.{side}", f"{error} of {source!r}")
            forms.append(None)
    factor = table.get("factor", 1)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
        reader.problem(f"{where}.factor", "must be a positive number")
        factor = 1
    annualize = table.get("annualize", False)
    if not isinstance(annualize, bool):
        reader.problem(f"{where}.annualize", "must be true or false")
        annualize = False
    numerator, denominator = forms
    if reader.code(code, where) and numerator and denominator:
        spec.indicators[code] = IndicatorSpec(
            code=code,
            name=reader.text(table, "name", where),
            description=reader.text(table, "description", where),
            numerator=numerator,
            denominator=denominator,
            factor=float(factor),
            unit=reader.text(table, "unit", where),
            annualize=annualize,
        )
