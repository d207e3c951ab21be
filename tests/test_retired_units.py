"""A retired unit's history stays correctable, and nobody keeps access through it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.cli import quhua
from tests.conftest import client_for, data_of, graphql
from tests.databases import issue_token, retire
from tests.test_access import GRANT, REVOKE, REVOKE_TOKEN, TOKEN, code_of

RETIRED = "640104001003"
SUBMIT = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "late certificate") {
    ok changed errors { index code message } } }"""
TRAIL = """query($code: String!) { jurisdiction(code: $code) {
  auditTrail { edges { node { period oldValue newValue reason } } } } }"""


def deaths(period: str, value: int) -> dict[str, object]:
    return {"jurisdiction": RETIRED, "element": "deaths", "period": period, "value": value}


@pytest.fixture
def retired(catalogue_url: str, tmp_path: Path) -> Iterator[tuple[str, TestClient]]:
    """Ningxia whose village 640104001003 reported March 2024 and was retired on 1 July,
    holding a viewer's grant from before; the township's reporter as the client."""
    url = catalogue_url
    issue_token(url, "village-viewer", "viewer", RETIRED)
    with client_for(url, issue_token(url, "li", "reporter", "640104001")) as reporter:
        # August was reported before the retirement was loaded, backdated to 1 July.
        stored = data_of(reporter, SUBMIT, rows=[deaths("2024-03", 1), deaths("2024-08", 1)])
        assert stored["submitValues"]["ok"]
        retire(url, RETIRED, "2024-07-01", tmp_path)
        yield url, reporter


def test_values_of_periods_it_existed_in_can_be_corrected(
    retired: tuple[str, TestClient],
) -> None:
    url, reporter = retired
    fixed = data_of(reporter, SUBMIT, rows=[deaths("2024-03", 2), deaths("2024-06", 1)])
    assert fixed["submitValues"] == {"ok": True, "changed": 2, "errors": []}
    trail = data_of(reporter, TRAIL, code=RETIRED)["jurisdiction"]["auditTrail"]["edges"]
    assert {
        "period": "2024-03",
        "oldValue": 1.0,
        "newValue": 2.0,
        "reason": "late certificate",
    } in [edge["node"] for edge in trail]
    late = data_of(reporter, SUBMIT, rows=[deaths("2024-07", 1)])["submitValues"]
    assert late["ok"] is False
    assert late["errors"][0]["message"] == (
        f"{RETIRED} was retired on 2024-07-01, before 2024-07 began"
    )
    assert quhua("rollups", "verify", url=url).exit_code == 0


def test_a_value_stranded_by_a_backdated_retirement_can_be_deleted(
    retired: tuple[str, TestClient],
) -> None:
    url, reporter = retired
    delete = """mutation($keys: [ValueKeyInput!]!) {
      deleteValues(input: $keys, reason: "the village was merged in July") { ok changed } }"""
    key = {"jurisdiction": RETIRED, "element": "deaths", "period": "2024-08"}
    deleted = data_of(reporter, delete, keys=[key])["deleteValues"]
    assert deleted == {"ok": True, "changed": 1}
    assert quhua("rollups", "verify", url=url).exit_code == 0


def test_an_import_corrects_its_history_and_refuses_later_periods(
    retired: tuple[str, TestClient], tmp_path: Path
) -> None:
    url, _ = retired
    header = "jurisdiction,element,period,value,disaggregation\n"
    history = tmp_path / "history.csv"
    history.write_text(header + f"{RETIRED},deaths,2024-03,3,\n", encoding="utf-8")
    imported = quhua("values", "import", str(history), url=url)
    assert imported.exit_code == 0, imported.output
    later = tmp_path / "later.csv"
    later.write_text(
        header + f"{RETIRED},deaths,2024-04,1,\n{RETIRED},deaths,2024-08,1,\n", encoding="utf-8"
    )
    refused = quhua("values", "import", str(later), url=url)
    assert refused.exit_code == 1
    assert (
        f"later.csv:3: jurisdiction {RETIRED} was retired on 2024-07-01, before the period "
        "from 2024-08" in refused.output
    )
    assert "later.csv:2" not in refused.output
    assert quhua("rollups", "verify", url=url).exit_code == 0


def test_a_grant_at_a_retired_unit_can_be_revoked(retired: tuple[str, TestClient]) -> None:
    url, _ = retired
    with client_for(url, issue_token(url, "county-admin", "admin", "640104")) as admin:
        assert code_of(graphql(admin, GRANT, subject="new", role="viewer", code=RETIRED)) == (
            "BAD_USER_INPUT"
        )
        revoked = data_of(admin, REVOKE, subject="village-viewer", role="viewer", code=RETIRED)
        assert revoked == {"revokeRole": {"role": "viewer"}}


def test_a_token_of_a_subject_left_without_grants_can_be_revoked(
    retired: tuple[str, TestClient],
) -> None:
    url, _ = retired
    with (
        client_for(url, issue_token(url, "county-admin", "admin", "640104")) as admin,
        client_for(url, issue_token(url, "other-admin", "admin", "640105")) as other,
    ):
        data_of(admin, GRANT, subject="zhou", role="reporter", code="640104001002")
        token = data_of(admin, TOKEN, subject="zhou")["createToken"]
        data_of(admin, REVOKE, subject="zhou", role="reporter", code="640104001002")
        # Another county's administrator has nothing to do with zhou's token: it answers as
        # a token that does not exist, naming nobody.
        outside = graphql(other, REVOKE_TOKEN, id=token["info"]["id"])
        assert code_of(outside) == "NOT_FOUND"
        assert "zhou" not in str(outside)
        revoked = data_of(admin, REVOKE_TOKEN, id=token["info"]["id"])
        assert revoked["revokeToken"]["revokedAt"] is not None


def test_granting_someone_a_role_does_not_let_one_revoke_their_other_tokens(
    retired: tuple[str, TestClient],
) -> None:
    url, _ = retired
    superior = issue_token(url, "city-admin", "admin", "6401")
    with (
        client_for(url, superior) as city_admin,
        client_for(url, issue_token(url, "county-admin", "admin", "640104")) as county_admin,
    ):
        mine = data_of(city_admin, '{ tokens(subject: "city-admin") { id } }')["tokens"]
        data_of(county_admin, GRANT, subject="city-admin", role="viewer", code="640104")
        data_of(county_admin, REVOKE, subject="city-admin", role="viewer", code="640104")
        refused = graphql(county_admin, REVOKE_TOKEN, id=mine[0]["id"])
        assert code_of(refused) == "NOT_FOUND"
        assert data_of(city_admin, "{ me { subject { name } } }")
