"""A JSON list of operations is one transaction: all commit or none, and each answer says so."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from core.db.engine import sync_engine
from tests.conftest import TOKENS, client_for
from tests.test_values import OTHER_VILLAGE, READ, SUBMIT, VILLAGE, row, world

__all__ = ["world"]

GRANT = """mutation($subject: String!, $unit: String!) {
  grantRole(subject: $subject, role: "viewer", jurisdiction: $unit, reason: "new colleague") {
    subject { name } role
  }
}"""
GRANTS = """query($subject: String!) {
  grants(subject: $subject) { edges { node { role jurisdiction { code } } } }
}"""


def batch(client: TestClient, *operations: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    body = [{"query": query, "variables": variables} for query, variables in operations]
    response = client.post("/graphql", json=body)
    assert response.status_code == 200, response.text
    answers: list[dict[str, Any]] = response.json()
    return answers


def stored(client: TestClient, code: str) -> tuple[list[Any], int]:
    """A unit's stored values and how many audit entries it has."""
    answer = client.post(
        "/graphql", json={"query": READ, "variables": {"code": code, "period": "2024"}}
    ).json()
    unit = answer["data"]["jurisdiction"]
    return [v["value"] for v in unit["values"]], unit["auditTrail"]["totalCount"]


def test_every_write_of_a_batch_is_kept(world: tuple[str, TestClient]) -> None:
    _, reporter = world
    answers = batch(
        reporter,
        (SUBMIT, {"rows": [row(value=4)]}),
        (SUBMIT, {"rows": [row(jurisdiction=OTHER_VILLAGE, value=5)]}),
        (SUBMIT, {"rows": [row(jurisdiction=OTHER_VILLAGE, period="2024-04", value=6)]}),
    )
    assert [a["data"]["submitValues"]["changed"] for a in answers] == [1, 1, 1]
    assert all("errors" not in a for a in answers)
    assert stored(reporter, VILLAGE) == ([4], 1)
    assert stored(reporter, OTHER_VILLAGE) == ([5, 6], 2)


def test_grants_of_a_batch_are_all_kept(world: tuple[str, TestClient]) -> None:
    url, _ = world
    with client_for(url, TOKENS[url]) as admin:
        answers = batch(
            admin,
            (GRANT, {"subject": "wang", "unit": "640104"}),
            (GRANT, {"subject": "wang", "unit": "640105"}),
        )
        assert all("errors" not in a for a in answers), answers
        held = admin.post(
            "/graphql", json={"query": GRANTS, "variables": {"subject": "wang"}}
        ).json()
    units = sorted(e["node"]["jurisdiction"]["code"] for e in held["data"]["grants"]["edges"])
    assert units == ["640104", "640105"]


def test_a_failed_operation_undoes_the_batch_and_every_answer_says_so(
    world: tuple[str, TestClient],
) -> None:
    _, reporter = world
    answers = batch(
        reporter,
        (SUBMIT, {"rows": [row(value=4)]}),
        # Outside the reporter's township: refused row by row, so nothing may be kept.
        (SUBMIT, {"rows": [row(jurisdiction="640104002001", value=5)]}),
        (SUBMIT, {"rows": [row(jurisdiction=OTHER_VILLAGE, value=6)]}),
    )
    first, refused, third = answers
    assert refused["data"]["submitValues"]["ok"] is False
    assert refused["data"]["submitValues"]["errors"][0]["code"] == "FORBIDDEN"
    for answer in answers:
        codes = [e["extensions"]["code"] for e in answer["errors"]]
        assert codes[-1] == "ROLLED_BACK"
        assert "operation 2 of this batch" in answer["errors"][-1]["message"]
    assert first["data"] is None
    assert third["data"] is None
    assert stored(reporter, VILLAGE) == ([], 0)
    assert stored(reporter, OTHER_VILLAGE) == ([], 0)


def test_an_error_in_a_later_operation_undoes_an_earlier_one(
    world: tuple[str, TestClient],
) -> None:
    _, reporter = world
    answers = batch(
        reporter,
        (SUBMIT, {"rows": [row(value=4)]}),
        # A reporter may not grant: a GraphQL error, not a refused row.
        (GRANT, {"subject": "zhao", "unit": "640104001"}),
    )
    assert answers[0]["data"] is None
    assert [e["extensions"]["code"] for e in answers[0]["errors"]] == ["ROLLED_BACK"]
    assert [e["extensions"]["code"] for e in answers[1]["errors"]] == ["FORBIDDEN", "ROLLED_BACK"]
    assert stored(reporter, VILLAGE) == ([], 0)


def test_one_operation_with_a_refused_field_keeps_nothing(world: tuple[str, TestClient]) -> None:
    _, reporter = world
    query = """mutation($good: [ValueInput!]!, $bad: [ValueInput!]!) {
      good: submitValues(input: $good, reason: "r") { ok changed }
      bad: submitValues(input: $bad, reason: "r") { ok changed }
    }"""
    variables = {"good": [row(value=4)], "bad": [row(element="nope")]}
    answer = reporter.post("/graphql", json={"query": query, "variables": variables}).json()
    assert answer["data"]["bad"]["ok"] is False
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["ROLLED_BACK"]
    assert stored(reporter, VILLAGE) == ([], 0)


def test_a_single_refused_write_answers_as_before(world: tuple[str, TestClient]) -> None:
    _, reporter = world
    answer = reporter.post(
        "/graphql", json={"query": SUBMIT, "variables": {"rows": [row(element="nope")]}}
    ).json()
    assert "errors" not in answer
    assert answer["data"]["submitValues"]["ok"] is False


def test_a_later_operation_reads_what_an_earlier_one_wrote(world: tuple[str, TestClient]) -> None:
    _, reporter = world
    read = (READ, {"code": VILLAGE, "period": "2024"})
    before, written, after = batch(reporter, read, (SUBMIT, {"rows": [row(value=4)]}), read)
    assert before["data"]["jurisdiction"]["values"] == []
    assert written["data"]["submitValues"]["changed"] == 1
    assert [v["value"] for v in after["data"]["jurisdiction"]["values"]] == [4]


def test_a_refused_field_takes_the_data_of_its_siblings_along(
    world: tuple[str, TestClient],
) -> None:
    url, _ = world
    query = """mutation($bad: [ValueInput!]!) {
      createToken(subject: "li", expiresInDays: 1) { token }
      submitValues(input: $bad, reason: "r") { ok }
    }"""
    with client_for(url, TOKENS[url]) as admin:
        answer = admin.post(
            "/graphql", json={"query": query, "variables": {"bad": [row(element="nope")]}}
        ).json()
    # The token was never kept: showing it would hand out a secret that does not work.
    assert answer["data"] == {"createToken": None, "submitValues": {"ok": False}}
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["ROLLED_BACK"]


def test_a_commit_the_database_refuses_is_answered_not_a_500(
    world: tuple[str, TestClient],
) -> None:
    url, reporter = world
    if not url.startswith("postgresql"):
        pytest.skip("a constraint checked at commit needs PostgreSQL")
    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
                    " $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON data_values"
                    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )
    finally:
        engine.dispose()
    answers = batch(
        reporter,
        (SUBMIT, {"rows": [row(value=4)]}),
        (SUBMIT, {"rows": [row(jurisdiction=OTHER_VILLAGE, value=5)]}),
    )
    for answer in answers:
        assert answer["data"] is None
        assert [e["extensions"]["code"] for e in answer["errors"]] == ["ROLLED_BACK"]
        assert "the database refused the commit" in answer["errors"][0]["message"]
    assert stored(reporter, VILLAGE) == ([], 0)
