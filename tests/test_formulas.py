"""Indicator formulas: linear forms parsed against the catalogue, errors with positions."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indicators.formulas import FormulaError, Term, parse_formula

CATALOGUE = {
    "births": {"sex": ["male", "female"], "parity": ["1", "2", "3plus"]},
    "deaths": {},
    "population": {"sex": ["male", "female"]},
}


def terms(source: str) -> dict[str, int]:
    return {str(term): coefficient for term, coefficient in parse_formula(source, CATALOGUE).terms}


def test_terms_options_and_coefficients() -> None:
    assert terms("births") == {"births": 1}
    assert terms("births - deaths") == {"births": 1, "deaths": -1}
    assert terms("births[sex=male]") == {"births[sex=male]": 1}
    assert terms("births[sex=male, parity=3plus]") == {"births[parity=3plus,sex=male]": 1}
    assert terms("2 * (births + deaths) - births[sex=male,parity=2]") == {
        "births": 2,
        "births[parity=2,sex=male]": -1,
        "deaths": 2,
    }
    assert terms("-births + 3 * (deaths - 2 * population)") == {
        "births": -1,
        "deaths": 3,
        "population": -6,
    }


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("birth", "unknown element 'birth' at column 1"),
        ("births[sex=boy]", "category sex has no option 'boy' at column 12"),
        ("births[age=1]", "births has no category 'age' at column 8"),
        ("deaths[sex=male]", "deaths has no category 'sex' at column 8"),
        ("births[sex=male,sex=female]", "category sex named twice at column 17"),
        ("births +", "expected a name, found the end at column 9"),
        ("(births", "expected ')', found the end at column 8"),
        ("births $ deaths", "unexpected character '$' at column 8"),
        ("2 births", "expected '*', found 'births' at column 3"),
        ("births - births", "the terms cancel out to nothing"),
        ("", "empty formula"),
        ("__import__('os')", 'unexpected character "\'" at column 12'),
    ],
)
def test_errors_say_what_and_where(source: str, message: str) -> None:
    with pytest.raises(FormulaError, match="^" + re.escape(message)):
        parse_formula(source, CATALOGUE)


@given(
    st.dictionaries(
        st.sampled_from(["births", "deaths", "population", "births[sex=female]"]),
        st.integers(-5, 5).filter(bool),
        min_size=1,
    )
)
def test_printing_a_form_and_parsing_it_again_gives_the_same_form(
    coefficients: dict[str, int],
) -> None:
    text = " ".join(
        f"{'+' if c > 0 else '-'} {abs(c)} * {name}" for name, c in coefficients.items()
    ).removeprefix("+ ")
    form = parse_formula(text, CATALOGUE)
    assert parse_formula(str(form), CATALOGUE) == form
    assert {str(term): c for term, c in form.terms} == {
        str(Term(*_split(name))): c for name, c in coefficients.items()
    }


def _split(name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    if "[" not in name:
        return name, ()
    element, inner = name.rstrip("]").split("[")
    category, option = inner.split("=")
    return element, ((category, option),)
