"""The synthetic reports are deterministic, consistent and believable."""

from __future__ import annotations

import csv
from collections import defaultdict

from quhua.demo import shipped_data
from quhua.synthetic import generate
from tests.databases import NINGXIA

with shipped_data(NINGXIA).open(encoding="utf-8") as _file:
    VILLAGES = [r["code"] for r in csv.DictReader(_file) if r["level"] == "village"][:400]


def rows() -> list[tuple[str, str, str, str, str]]:
    return list(generate(VILLAGES, first_year=2024, years=1, seed=11))


def test_the_same_seed_gives_the_same_reports() -> None:
    assert rows() == rows()
    assert rows() != list(generate(VILLAGES, first_year=2024, years=1, seed=12))


def test_reports_are_consistent_and_believable() -> None:
    cells: dict[tuple[str, str, str], dict[str, float]] = defaultdict(dict)
    for code, element, period, value, disaggregation in rows():
        cells[code, period, element][disaggregation] = float(value)
    boys = girls = births = population = 0.0
    reported = set()
    funding = 0.0
    for (code, period, element), values in cells.items():
        if element == "funding":
            assert len(code) == 9 and "Q" in period
            funding += values[""]
            continue
        reported.add((code, period))
        assert all(v >= 0 for v in values.values())
        if element == "births":
            assert len(values) == 6
            boys += sum(v for k, v in values.items() if "sex=male" in k)
            girls += sum(v for k, v in values.items() if "sex=female" in k)
            total = sum(values.values())
            births += total
            policy = cells[code, period, "policy_births"][""]
            assert policy <= total or total > 50  # an outlier births figure
        if element == "population":
            population += sum(values.values())
        if element == "contraceptive_users":
            married = cells[code, period, "married_women"][""]
            assert sum(values.values()) <= married
        if element == "fees_collected":
            assert values[""] <= cells[code, period, "fees_assessed"][""]
    assert 105 <= 100 * boys / girls <= 118
    # Population is a monthly stock: a year's rate divides by the average month.
    assert 6 <= 1000 * births / (population / 12) <= 14
    # Townships spend 6 to 16 yuan a resident a year.
    assert 6 <= funding / (population / 12) <= 16
    # Some villages missed some months.
    assert 0.9 < len(reported) / (len(VILLAGES) * 12) < 1
