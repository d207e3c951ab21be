"""The catalogue's data-quality settings: outlier thresholds, plausible ranges of indicators and
consistency checks of an element against a reference element.

Written in the catalogue file under `[quality]`, checked with the rest of the file, stored by
every catalogue load as one JSON document (`indicators.quality.models.QualitySettingsRow`)
and read back by each request that needs them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import asdict, dataclass, field, fields
from typing import Any

CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True, slots=True)
class OutlierSettings:
    """Thresholds as in WHO's data quality review (moderate: |z| > 2 or modified z > 3.5;
    extreme: |z| > 3 or modified z > 5) and how much history a score needs."""

    moderate_z: float = 2.0
    extreme_z: float = 3.0
    moderate_modified_z: float = 3.5
    extreme_modified_z: float = 5.0
    # Earlier periods of the same type that make a unit's history (24 months for a month).
    history: int = 24
    # Fewer reported periods in the history than this: the value is not scored.
    minimum_history: int = 6
    # The same month (or quarter) of this many earlier years, for the seasonal methods.
    seasonal_years: int = 5
    seasonal_minimum_history: int = 3


@dataclass(frozen=True, slots=True)
class PlausibleRange:
    """An indicator's values outside [minimum, maximum] are implausible; a bound left out
    does not apply. Below minimum_denominator the figure is too small to judge (a village's
    sex ratio at birth over three births)."""

    indicator: str
    minimum: float | None
    maximum: float | None
    minimum_denominator: float = 0.0


@dataclass(frozen=True, slots=True)
class ConsistencyCheck:
    """An element against a reference element: flagged where the reported figure lies below
    (under-reporting) or above the reference by more than `gap`, a share of the reference."""

    code: str
    name: str
    element: str
    reference: str
    gap: float


@dataclass(frozen=True, slots=True)
class QualitySettings:
    outliers: OutlierSettings = field(default_factory=OutlierSettings)
    plausible_ranges: tuple[PlausibleRange, ...] = ()
    consistency: tuple[ConsistencyCheck, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "outliers": asdict(self.outliers),
            "plausible_ranges": [asdict(r) for r in self.plausible_ranges],
            "consistency": [asdict(c) for c in self.consistency],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QualitySettings:
        """Settings as stored; a key the stored document lacks takes its default."""
        known = {f.name for f in fields(OutlierSettings)}
        return cls(
            outliers=OutlierSettings(
                **{k: v for k, v in data.get("outliers", {}).items() if k in known}
            ),
            plausible_ranges=tuple(PlausibleRange(**r) for r in data.get("plausible_ranges", [])),
            consistency=tuple(ConsistencyCheck(**c) for c in data.get("consistency", [])),
        )

    def plausible_range(self, indicator: str) -> PlausibleRange | None:
        return next((r for r in self.plausible_ranges if r.indicator == indicator), None)

    def check(self, code: str) -> ConsistencyCheck | None:
        return next((c for c in self.consistency if c.code == code), None)


_OUTLIER_COUNTS = {"history", "minimum_history", "seasonal_years", "seasonal_minimum_history"}
_RANGE_KEYS = {"min", "max", "minimum_denominator"}
_CHECK_KEYS = {"name", "element", "reference", "gap"}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _unknown(
    table: dict[str, Any], where: str, allowed: Collection[str], problems: list[str]
) -> None:
    for key in sorted(set(table) - set(allowed)):
        problems.append(f"{where}.{key}: unknown key; expected one of {', '.join(sorted(allowed))}")


def _table(value: Any, where: str, problems: list[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.append(f"{where}: must be a table")
        return {}
    return value


def parse_quality(
    value: Any, *, elements: Collection[str], indicators: Collection[str], problems: list[str]
) -> QualitySettings:
    """The `[quality]` table of a catalogue file, checked against its elements and
    indicators; each problem is appended to problems with where it is."""
    table = _table(value, "quality", problems)
    _unknown(table, "quality", {"outliers", "plausible_ranges", "consistency"}, problems)
    return QualitySettings(
        outliers=_outliers(
            _table(table.get("outliers", {}), "quality.outliers", problems), problems
        ),
        plausible_ranges=tuple(
            found
            for code, entry in _table(
                table.get("plausible_ranges", {}), "quality.plausible_ranges", problems
            ).items()
            if (found := _range(code, entry, indicators, problems)) is not None
        ),
        consistency=tuple(
            check
            for code, entry in _table(
                table.get("consistency", {}), "quality.consistency", problems
            ).items()
            if (check := _check(code, entry, elements, problems)) is not None
        ),
    )


def _outliers(table: dict[str, Any], problems: list[str]) -> OutlierSettings:
    defaults = OutlierSettings()
    names = [f.name for f in fields(OutlierSettings)]
    _unknown(table, "quality.outliers", names, problems)
    chosen: dict[str, Any] = {}
    for name in names:
        given = table.get(name, getattr(defaults, name))
        where = f"quality.outliers.{name}"
        if name in _OUTLIER_COUNTS:
            if isinstance(given, bool) or not isinstance(given, int) or not 1 <= given <= 120:
                problems.append(f"{where}: {given!r} is not a count of periods: write 1 to 120")
                continue
            chosen[name] = given
        else:
            number = _number(given)
            if number is None or number <= 0:
                problems.append(f"{where}: {given!r} is not a positive number")
                continue
            chosen[name] = number
    found = OutlierSettings(**chosen)
    if found.extreme_z < found.moderate_z:
        problems.append("quality.outliers.extreme_z: must be at least moderate_z")
    if found.extreme_modified_z < found.moderate_modified_z:
        problems.append("quality.outliers.extreme_modified_z: must be at least moderate_modified_z")
    for needs, has in (
        ("minimum_history", "history"),
        ("seasonal_minimum_history", "seasonal_years"),
    ):
        if getattr(found, needs) > getattr(found, has):
            problems.append(f"quality.outliers.{needs}: more than {has} can ever hold")
    return found


def _range(
    code: str, value: Any, indicators: Collection[str], problems: list[str]
) -> PlausibleRange | None:
    where = f"quality.plausible_ranges.{code}"
    table = _table(value, where, problems)
    _unknown(table, where, _RANGE_KEYS, problems)
    bounds: dict[str, float | None] = {}
    for key in ("min", "max", "minimum_denominator"):
        bounds[key] = _number(table.get(key))
        if key in table and bounds[key] is None:
            problems.append(f"{where}.{key}: {table[key]!r} is not a number")
    if code not in indicators:
        problems.append(f"{where}: no indicator has code {code!r}")
        return None
    low, high = bounds["min"], bounds["max"]
    if low is None and high is None:
        problems.append(f"{where}: give min, max or both")
        return None
    if low is not None and high is not None and low > high:
        problems.append(f"{where}: min {low:g} lies above max {high:g}")
        return None
    return PlausibleRange(code, low, high, bounds["minimum_denominator"] or 0.0)


def _check(
    code: str, value: Any, elements: Collection[str], problems: list[str]
) -> ConsistencyCheck | None:
    where = f"quality.consistency.{code}"
    table = _table(value, where, problems)
    _unknown(table, where, _CHECK_KEYS, problems)
    if not CODE.match(code):
        problems.append(f"{where}: {code!r} is not a code: lowercase letters, digits and _")
        return None
    named: dict[str, str] = {}
    for key in ("element", "reference"):
        given = table.get(key)
        if not isinstance(given, str) or given not in elements:
            problems.append(f"{where}.{key}: {given!r} is not an element of the catalogue")
            return None
        named[key] = given
    if named["element"] == named["reference"]:
        problems.append(f"{where}: an element checked against itself")
        return None
    gap = _number(table.get("gap"))
    if gap is None or not 0 <= gap < 1:
        problems.append(
            f"{where}.gap: {table.get('gap')!r} is not a share of the reference: 0 to 1"
        )
        return None
    name = table.get("name", code)
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}.name: must be non-empty text")
        return None
    return ConsistencyCheck(code, name.strip(), named["element"], named["reference"], gap)
