"""Periods: the three spellings, nothing else, and how they nest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indicators.periods import Period, PeriodError, PeriodType


def test_the_three_spellings() -> None:
    assert Period.parse("2024") == Period(2024, 1, PeriodType.YEAR)
    assert Period.parse("2024-Q3") == Period(2024, 7, PeriodType.QUARTER)
    assert Period.parse("2024-03") == Period(2024, 3, PeriodType.MONTH)
    assert [str(m) for m in Period.parse("2024-Q2").months()] == ["2024-04", "2024-05", "2024-06"]
    assert len(Period.parse("2023").months()) == 12


@pytest.mark.parametrize(
    "text", ["", "24", "2024-13", "2024-00", "2024-Q5", "2024Q1", "2024-3", "2024-03-01", "x"]
)
def test_anything_else_is_refused_with_the_allowed_forms(text: str) -> None:
    with pytest.raises(PeriodError, match="write a year"):
        Period.parse(text)


def test_years_out_of_range_are_refused() -> None:
    with pytest.raises(PeriodError, match="the year must lie"):
        Period.parse("1800")


periods = st.builds(
    lambda year, month, kind: Period.parse(
        {
            "year": f"{year}",
            "quarter": f"{year}-Q{(month - 1) // 3 + 1}",
            "month": f"{year}-{month:02d}",
        }[kind]
    ),
    st.integers(2000, 2100),
    st.integers(1, 12),
    st.sampled_from(["year", "quarter", "month"]),
)


@given(periods)
def test_a_period_prints_as_it_parses(period: Period) -> None:
    assert Period.parse(str(period)) == period


@given(periods, periods)
def test_containment_agrees_with_months(outer: Period, inner: Period) -> None:
    months = {m.month_index for m in outer.months()}
    assert outer.contains(inner) == ({m.month_index for m in inner.months()} <= months)


@given(periods)
def test_the_following_period_starts_where_this_one_ends(period: Period) -> None:
    after = period.following()
    assert after.type is period.type
    assert after.month_index == period.months()[-1].month_index + 1
