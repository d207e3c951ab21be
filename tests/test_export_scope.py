"""Who may export what: every caller, every root and level of the tiny tree, both
endpoints. An answer is a refusal (403, with nothing else) or rows that all lie in the
caller's scope for what they are; never another province's row.

The isolation property (tests/test_isolation.py) drives GraphQL only, so the export
endpoints have this exhaustive check of their own."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator

import pytest

from tests.conftest import client_for
from tests.export_world import TREE, export, export_world

UNITS = [line.split(",")[0] for line in TREE.splitlines()[1:]]
LEVELS = ["province", "city", "county", "township", "village"]
# What each caller's grants reach, by permission: subtrees by root code (codes nest).
REACH: dict[str, dict[str, tuple[str, ...]]] = {
    "admin": {"aggregates": ("64",), "values": ("64",)},
    "reader": {"aggregates": ("64",), "values": ()},
    "township": {"aggregates": ("640104001",), "values": ("640104001",)},
    "other": {"aggregates": ("65",), "values": ("65",)},
}
YEAR = {"from": "2024-01", "to": "2024-06"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    with export_world(str(request.param), tmp_path_factory.mktemp("scope")) as found:
        yield found


def within(code: str, roots: tuple[str, ...]) -> bool:
    return any(code.startswith(root) for root in roots)


def rows_of(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


@pytest.mark.parametrize("caller", sorted(REACH))
def test_aggregates_stay_in_scope(world: dict[str, str], caller: str) -> None:
    reach = REACH[caller]
    with client_for(world["url"], world[caller]) as client:
        for under in UNITS:
            for level in LEVELS:
                response = export(
                    client,
                    "/export/aggregates",
                    under=under,
                    level=level,
                    **YEAR,
                    indicators="birth_rate",
                    elements="births",
                    disaggregate="true",
                )
                where = (caller, under, level, response.text[:200])
                if not within(under, reach["aggregates"]):
                    assert response.status_code == 403, where
                    continue
                if LEVELS.index(level) < len(under) // 3:
                    assert response.status_code == 400, where
                    continue
                if level == "village" and not within(under, reach["values"]):
                    # A village's births are its own report: reading them is reading values.
                    assert response.status_code == 403, where
                    continue
                assert response.status_code == 200, where
                for row in rows_of(response.content):
                    assert row["jurisdiction"].startswith(under), (where, row)
                    assert within(row["jurisdiction"], reach["aggregates"]), (where, row)


@pytest.mark.parametrize("caller", sorted(REACH))
def test_values_stay_in_scope(world: dict[str, str], caller: str) -> None:
    reach = REACH[caller]
    with client_for(world["url"], world[caller]) as client:
        for under in UNITS:
            for name in ("csv", "ndjson"):
                response = export(
                    client, "/export/values", under=under, **YEAR, format=name, cursors="true"
                )
                where = (caller, under, name, response.text[:200])
                if not within(under, reach["values"]):
                    assert response.status_code == 403, where
                    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
                    continue
                assert response.status_code == 200, where
                codes = (
                    [row["jurisdiction"] for row in rows_of(response.content)[:-1]]
                    if name == "csv"
                    else [
                        line.split('"jurisdiction":"')[1].split('"')[0]
                        for line in response.text.splitlines()[:-1]
                    ]
                )
                assert all(code.startswith(under) for code in codes), where


def test_another_provinces_units_never_appear(world: dict[str, str]) -> None:
    with client_for(world["url"], world["other"]) as client:
        own = export(client, "/export/values", under="65", **{"from": "2024", "to": "2024"})
        assert own.status_code == 200
        assert [row["jurisdiction"] for row in rows_of(own.content)] == ["650102001001"]
    with client_for(world["url"], world["admin"]) as client:
        province = export(client, "/export/values", under="64", **{"from": "2024", "to": "2024"})
        assert all(row["jurisdiction"].startswith("64") for row in rows_of(province.content))
        # 65 is another tree: not found for a caller who cannot see it is 403, not 404.
        assert export(client, "/export/values", under="65", **YEAR).status_code == 403


def _crafted(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_crafted_cursors_are_refused_not_followed(world: dict[str, str]) -> None:
    with client_for(world["url"], world["admin"]) as client:
        first = export(client, "/export/values", under="64", **YEAR, format="ndjson")
        cursor = first.text.split('"cursor":"')[1].split('"')[0]
        print_ = base64.urlsafe_b64decode(cursor + "==").decode().split("|")[1]
        elsewhere = _crafted(f"v|{print_}|65/6501/650102/650102001/650102001001/|24290|1")
        for after, message in [
            (elsewhere, "does not lie under 64"),
            (_crafted(f"v|{print_}|64/|x|1"), "not a cursor issued for this export"),
            (_crafted(f"v|{print_}|../|24290|1"), "not a cursor issued for this export"),
            ("not-a-cursor", "not a cursor issued for this export"),
            (_crafted(f"a|{print_}|24290|64/|0|"), "not a cursor issued for this export"),
        ]:
            response = export(client, "/export/values", under="64", **YEAR, after=after)
            assert response.status_code == 400, after
            assert message in response.json()["errors"][0]["message"], response.text
        # A cursor of one export is refused by another.
        other = export(
            client, "/export/values", under="64", **{"from": "2023", "to": "2024"}, after=cursor
        )
        assert other.status_code == 400
        assert "other arguments" in other.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"level": "township", "from": "2024-01", "to": "2024-02"}, 400, "under: required"),
        ({"under": "64", "level": "planet", **YEAR, "elements": "births"}, 400, "level: 'planet'"),
        ({"under": "99", "level": "county", **YEAR, "elements": "births"}, 404, "under: no"),
        (
            {
                "under": "64",
                "level": "county",
                "from": "2024-13",
                "to": "2024-12",
                "elements": "births",
            },
            400,
            "from: '2024-13' is not a period",
        ),
        (
            {
                "under": "64",
                "level": "county",
                "from": "2024-05",
                "to": "2024-01",
                "elements": "births",
            },
            400,
            "from: 2024-05 comes after to: 2024-01",
        ),
        (
            {
                "under": "64",
                "level": "county",
                "from": "2000-01",
                "to": "2024-12",
                "elements": "births",
            },
            400,
            "at most 120 periods",
        ),
        ({"under": "64", "level": "county", **YEAR, "elements": "birth"}, 400, "elements: unknown"),
        ({"under": "64", "level": "county", **YEAR}, 400, "ask for at least one column"),
        (
            {
                "under": "64",
                "level": "county",
                **YEAR,
                "indicators": ",".join(f"i{n}" for n in range(201)),
            },
            400,
            "indicators: 201 codes; at most 200",
        ),
        (
            {"under": "64", "level": "county", **YEAR, "elements": "births,births"},
            400,
            "elements: 'births' given twice",
        ),
        (
            {"under": "64", "level": "county", **YEAR, "elements": "births", "format": "xls"},
            400,
            "format: 'xls'",
        ),
        (
            {
                "under": "64",
                "level": "county",
                **YEAR,
                "elements": "births",
                "format": "ndjson",
                "bom": "true",
            },
            400,
            "bom: a byte order mark is for csv only",
        ),
        (
            {
                "under": "64",
                "level": "county",
                **YEAR,
                "elements": "births",
                "disaggregate": "maybe",
            },
            400,
            "disaggregate: 'maybe'",
        ),
        (
            {"under": "64", "level": "county", **YEAR, "elements": "births", "period_type": "week"},
            400,
            "period_type: 'week'",
        ),
        (
            {
                "under": "64",
                "level": "county",
                **YEAR,
                "elements": "births",
                "approvedOnly": "true",
            },
            400,
            "'approvedOnly' is not a parameter",
        ),
        (
            {"under": "640104", "level": "city", **YEAR, "elements": "births"},
            400,
            "level: city lies above",
        ),
    ],
)
def test_bad_arguments_are_refused_naming_the_parameter(
    world: dict[str, str], params: dict[str, str], status: int, message: str
) -> None:
    with client_for(world["url"], world["admin"]) as client:
        response = export(client, "/export/aggregates", **params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert message in response.json()["errors"][0]["message"], response.text


def test_a_repeated_parameter_is_refused(world: dict[str, str]) -> None:
    with client_for(world["url"], world["admin"]) as client:
        response = client.get("/export/values?under=64&under=65&from=2024&to=2024")
    assert response.status_code == 400
    assert "under: given more than once" in response.text


def test_without_a_token_the_answer_is_unauthenticated(world: dict[str, str]) -> None:
    for token in (None, "qh_not-a-token"):
        with client_for(world["url"], token) as client:
            for path in ("/export/values", "/export/aggregates"):
                response = export(client, path, under="64", level="county", **YEAR)
                assert response.status_code == 401, response.text
                assert response.headers["www-authenticate"] == "Bearer"
