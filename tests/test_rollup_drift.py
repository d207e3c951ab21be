"""The store is kept by differences: after many corrections its counts are still exact, and
its amounts and averages within 1e-9 of a fresh measurement."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import text

from core.db.engine import sync_engine
from tests.cli import quhua
from tests.conftest import client_for, data_of
from tests.databases import issue_token

SUBMIT = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "correction") { ok } }"""
VILLAGES = ["640104001002", "640104001005", "640104001007", "640104001008", "640104001010"]
TOWNSHIP_TOTALS = """SELECT r.total FROM rollups r
  JOIN jurisdictions j ON j.id = r.unit_id
  JOIN option_combos c ON c.id = r.combo_id
  JOIN data_elements e ON e.id = c.element_id
  WHERE j.code = '640104001' AND e.code = :element AND r.span = 12"""


# Rounds of corrections: 50 in the main suite, 150 in CI's bounded scale step.
@pytest.mark.parametrize("rounds", [50, pytest.param(150, marks=pytest.mark.scale)])
def test_many_corrections_leave_counts_exact_and_amounts_within_1e_9(
    catalogue_url: str, rounds: int
) -> None:
    url = catalogue_url
    rng = random.Random(2024)
    with client_for(url, issue_token(url, "li", "reporter", "640104001")) as reporter:
        for _ in range(rounds):
            rows = []
            for village in rng.sample(VILLAGES, 3):
                month = f"2024-{rng.randint(1, 12):02d}"
                # Amounts with cents, large and small, that no binary fraction holds exactly.
                amount = round(rng.choice([rng.uniform(0, 1), rng.uniform(1e3, 1e8)]), 2)
                rows += [
                    {
                        "jurisdiction": village,
                        "element": "reward_paid",
                        "period": month,
                        "value": amount,
                    },
                    {
                        "jurisdiction": village,
                        "element": "population",
                        "period": month,
                        "value": rng.randint(1, 5000),
                        "disaggregation": "sex=female",
                    },
                    {
                        "jurisdiction": village,
                        "element": "deaths",
                        "period": month,
                        "value": rng.randint(0, 30),
                    },
                ]
            assert data_of(reporter, SUBMIT, rows=rows)["submitValues"]["ok"]
    verified = quhua("rollups", "verify", url=url)
    assert verified.exit_code == 0, verified.output
    # Counts summed are whole numbers in the store itself, not merely close to them.
    engine = sync_engine(url)
    try:
        with engine.connect() as connection:
            deaths = connection.execute(text(TOWNSHIP_TOTALS), {"element": "deaths"}).scalars()
            totals = list(deaths)
    finally:
        engine.dispose()
    assert totals
    assert all(total == int(total) for total in totals), totals
    # The tolerance is no wider than it says: an amount off by 1e-7 of itself is found.
    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE rollups SET total = total * (1 + 1e-7) WHERE combo_id IN (SELECT"
                    " c.id FROM option_combos c JOIN data_elements e ON e.id = c.element_id"
                    " WHERE e.code = 'reward_paid') AND total > 1000"
                )
            )
    finally:
        engine.dispose()
    assert quhua("rollups", "verify", "--element", "reward_paid", url=url).exit_code == 1
