"""Acts attributed to whoever did them: subject names that cannot pass for another, tokens
that never reach further than their issuer, audit entries naming actor, issuer and source,
and the last administrator kept under concurrent revocations."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from authz import administration
from authz.authentication import Authenticator
from authz.principal import Actor
from core.db.engine import async_engine
from core.db.session import RequestSession
from core.errors import QuhuaError
from tests.cli import quhua
from tests.conftest import client_for, data_of, graphql
from tests.databases import fresh_database, issue_token, load_tree, ningxia_world, upgrade

GRANT = """mutation($subject: String!, $role: String!, $code: String!) {
  grantRole(subject: $subject, role: $role, jurisdiction: $code, reason: "new staff") {
    subject { name } role
  }
}"""
ISSUE = """mutation($subject: String, $days: Int) {
  createToken(subject: $subject, expiresInDays: $days) {
    token info { id expiresAt issuedBy limited }
  }
}"""
OTHER_CITY = '{ jurisdiction(code: "6402") { values(period: "2024-03") { value } } }'
MINE = "{ me { tokenIssuedBy tokenLimited grants { role actions jurisdiction { code } } } }"
AUDIT = """{ policyAudit(first: 1) { edges { node {
  action actor issuer source actorToken subject { name } role } } } }"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("attribution")
    with ningxia_world(str(request.param), folder, "attribution-root") as world:
        yield world


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


def code_of(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


@pytest.mark.parametrize(
    "name",
    [
        "cli:root",
        "CLI:root",
        "ｃｌｉ:root",
        "system:start-up",
        "quhua demo",
        "Quhua Demo",
        "two\nlines",
        "\u202eevil",
        "zero\u200bwidth",
        "cli\u034f:root",
        "quhua demo\ufe0f",
        "alice\ufe0f",
        "x\U000e0100",
        "prov\u3164admin",
        "\u2800",
        "\u0301accent",
        "tab\there",
        "double  space",
        "",
        "   ",
        "x" * 101,
    ],
)
def test_names_that_read_like_another_are_refused(world: tuple[str, str], name: str) -> None:
    url, root = world
    with client_for(url, root) as admin:
        body = graphql(admin, GRANT, subject=name, role="viewer", code="6401")
    assert code_of(body) == "BAD_USER_INPUT", body
    assert len(body["errors"][0]["message"]) < 120


def test_width_and_case_do_not_make_a_new_subject(world: tuple[str, str]) -> None:
    url, root = world
    name = unique("zhang")
    with client_for(url, root) as admin:
        data_of(admin, GRANT, subject=name, role="viewer", code="6401")
        wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name.upper())
        again = graphql(admin, GRANT, subject=wide, role="viewer", code="6401")
        assert code_of(again) == "CONFLICT"
        granted = data_of(admin, GRANT, subject=wide, role="viewer", code="6402")
        assert granted["grantRole"]["subject"]["name"] == name
        listed = data_of(
            admin,
            "query($s: String!) { grants(subject: $s) { totalCount } }",
            s=name.upper(),
        )
        assert listed["grants"]["totalCount"] == 2


def test_a_token_issued_by_a_county_never_reaches_beyond_the_county(
    world: tuple[str, str],
) -> None:
    """Seen: a county administrator issued a token for someone later made a province
    viewer, and read other cities with it."""
    url, _ = world
    county_admin = unique("county-admin")
    person = unique("person")
    with client_for(url, issue_token(url, county_admin, "admin", "640104")) as county:
        data_of(county, GRANT, subject=person, role="reporter", code="640104001002")
        too_long = graphql(county, ISSUE, subject=person, days=30)
        assert code_of(too_long) == "BAD_USER_INPUT"
        issued = data_of(county, ISSUE, subject=person, days=None)["createToken"]
    info = issued["info"]
    assert info["issuedBy"] == county_admin and info["limited"] is True
    expires = dt.datetime.fromisoformat(info["expiresAt"])
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.UTC)
    assert expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7)
    granted = quhua(
        "grant", "--subject", person, "--role", "viewer", "--jurisdiction", "64", url=url
    )
    assert granted.exit_code == 0, granted.stdout
    with client_for(url, issued["token"]) as held:
        assert code_of(graphql(held, OTHER_CITY)) == "FORBIDDEN"
        me = data_of(held, MINE)["me"]
        assert me["tokenIssuedBy"] == county_admin and me["tokenLimited"] is True
        at = {g["jurisdiction"]["code"]: g["actions"] for g in me["grants"]}
        assert at["64"] == [] and "WRITE_VALUES" in at["640104001002"]
        # Whoever holds it cannot widen it by issuing a token of their own with it.
        own = data_of(held, ISSUE, subject=None, days=90)["createToken"]
        assert own["info"]["limited"] is True
    with client_for(url, own["token"]) as widened:
        assert code_of(graphql(widened, OTHER_CITY)) == "FORBIDDEN"
    from_cli = quhua("token", "create", "--subject", person, "--expires", "1d", url=url)
    with client_for(url, from_cli.stdout.strip()) as own_token:
        assert "errors" not in graphql(own_token, OTHER_CITY)
        assert data_of(own_token, MINE)["me"]["tokenLimited"] is False


def test_the_audit_names_actor_issuer_source_and_token(world: tuple[str, str]) -> None:
    url, root = world
    deputy = unique("deputy")
    granted = quhua(
        "grant", "--subject", deputy, "--role", "admin", "--jurisdiction", "640105", url=url
    )
    assert granted.exit_code == 0
    with client_for(url, root) as admin:
        [entry] = data_of(admin, AUDIT)["policyAudit"]["edges"]
        assert entry["node"]["source"] == "CLI" and entry["node"]["actor"].startswith("cli:")
        issued = data_of(admin, ISSUE, subject=deputy, days=3)["createToken"]
    with client_for(url, issued["token"]) as acting:
        newcomer = unique("newcomer")
        data_of(acting, GRANT, subject=newcomer, role="viewer", code="640105")
        [entry] = data_of(acting, AUDIT)["policyAudit"]["edges"]
    assert entry["node"] == {
        "action": "GRANT",
        "actor": deputy,
        "issuer": "attribution-root",
        "source": "API",
        "actorToken": issued["info"]["id"],
        "subject": {"name": newcomer},
        "role": "viewer",
    }


async def _revoke_each_other(url: str, first: str, second: str) -> tuple[Any, Any]:
    """The first revokes the second and holds its transaction open while the second tries
    to revoke the first; then the first commits."""
    engine = async_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    authenticator = Authenticator()
    try:
        async with sessions() as one, sessions() as two:
            db1, db2 = RequestSession(one), RequestSession(two)
            actors = []
            for db, token in ((db1, first), (db2, second)):
                principal = await authenticator.authenticate(db, f"Bearer {token}")
                assert principal is not None
                actors.append(Actor.of(principal))
                await db.rollback()
            names = [actor.label for actor in actors]
            await db1.begin_writing()
            await db2.begin_writing()
            await administration.revoke_role(
                db1, actor=actors[0], name=names[1], role="admin", code="64", reason="a"
            )
            racing = asyncio.create_task(
                administration.revoke_role(
                    db2, actor=actors[1], name=names[0], role="admin", code="64", reason="b"
                )
            )
            await asyncio.sleep(0.5)
            waited = not racing.done()
            await db1.commit()
            try:
                await racing
                await db2.commit()
                outcome: Any = "revoked"
            except QuhuaError as error:
                outcome = error.code.value
                await db2.rollback()
            return waited, outcome
    finally:
        await engine.dispose()


def test_two_administrators_revoking_each_other_leave_one(tmp_path: Any) -> None:
    """On PostgreSQL: policy changes queue on the policy row, so the second revocation sees
    the first one's commit and refuses to remove the last administrator."""
    with fresh_database("postgresql", tmp_path) as url:
        upgrade(url)
        load_tree(url)
        first = issue_token(url, "admin-one", "admin", "64")
        second = issue_token(url, "admin-two", "admin", "64")
        waited, outcome = asyncio.run(_revoke_each_other(url, first, second))
        assert waited, "the second revocation did not wait for the first"
        assert outcome in {"CONFLICT", "FORBIDDEN", "UNAUTHENTICATED"}
        with client_for(url, first) as one:
            left = data_of(one, '{ grants(subject: "admin-one") { totalCount } }')
        assert left["grants"]["totalCount"] == 1


SUBMIT = """mutation { submitValues(reason: "monthly report", input: [{
  jurisdiction: "640104001002", element: "births", period: "2024-03", value: 3,
  disaggregation: "sex=male;parity=1"}]) { ok } }"""
TRAIL = """{ jurisdiction(code: "640104001002") { auditTrail(first: 1) { edges { node {
  actor issuer actorToken source } } } } }"""


def test_the_value_audit_names_the_token_and_its_issuer(world: tuple[str, str]) -> None:
    url, _ = world
    county_admin = unique("county-admin")
    reporter = unique("reporter")
    with client_for(url, issue_token(url, county_admin, "admin", "640104")) as county:
        data_of(county, GRANT, subject=reporter, role="reporter", code="640104001002")
        issued = data_of(county, ISSUE, subject=reporter, days=2)["createToken"]
    with client_for(url, issued["token"]) as person:
        assert data_of(person, SUBMIT)["submitValues"]["ok"] is True
        [edge] = data_of(person, TRAIL)["jurisdiction"]["auditTrail"]["edges"]
    assert edge["node"] == {
        "actor": reporter,
        "issuer": county_admin,
        "actorToken": issued["info"]["id"],
        "source": "api",
    }


def test_someone_outside_the_subtree_is_answered_as_a_newcomer(world: tuple[str, str]) -> None:
    """Granting a role to a name someone elsewhere holds answers with the name as asked and
    the kind given, as for a new subject: nothing of the person elsewhere shows."""
    url, root = world
    elsewhere = unique("Yinchuan-Viewer")
    with client_for(url, root) as admin:
        data_of(admin, GRANT, subject=elsewhere, role="viewer", code="6401")
    with client_for(url, issue_token(url, unique("county"), "admin", "640205")) as county:
        asked = elsewhere.lower()
        outsider = data_of(county, GRANT, subject=asked, role="viewer", code="640205")
        newcomer = data_of(county, GRANT, subject=unique("newcomer"), role="viewer", code="640205")
        assert outsider["grantRole"]["subject"]["name"] == asked
        assert newcomer["grantRole"]["role"] == outsider["grantRole"]["role"]
        unknown = graphql(county, ISSUE, subject="NOBODY-HERE", days=1)
        hidden = graphql(county, ISSUE, subject=elsewhere.upper(), days=1)
        assert unknown["errors"][0]["message"].replace("NOBODY-HERE", "X") == hidden["errors"][0][
            "message"
        ].replace(elsewhere.upper(), "X")


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($r: Boolean) { roles(retired: $r) { code } }", {"r": None}),
        (
            'mutation { grantRole(subject: "a\\u0000b", role: "viewer", jurisdiction: "6401", '
            'reason: "x") { role } }',
            {},
        ),
        (
            'mutation($s: String!) { grantRole(subject: $s, role: "viewer", '
            'jurisdiction: "6401", reason: "x") { role } }',
            {"s": "a\u0000b"},
        ),
        ("mutation { createToken(expiresInDays: 2147483647) { token } }", {}),
        ('mutation { revokeToken(id: "2147483648", reason: "x") { revokedAt } }', {}),
        (
            'mutation { defineRole(code: "admin\\n", nameZh: "x", nameEn: "x", actions: [], '
            'jurisdiction: "64", reason: "x") { code } }',
            {},
        ),
        ('{ grants(under: "' + "6" * 3000 + '") { totalCount } }', {}),
    ],
)
def test_hostile_arguments_answer_a_clear_error(
    world: tuple[str, str], query: str, variables: dict[str, Any]
) -> None:
    url, root = world
    with client_for(url, root) as admin:
        response = admin.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code < 500
    body = response.json()
    [error] = [e for e in body["errors"] if e["extensions"]["code"] != "ROLLED_BACK"]
    assert error["extensions"]["code"] in {
        "BAD_USER_INPUT",
        "BAD_REQUEST",
        "GRAPHQL_VALIDATION_FAILED",
        "NOT_FOUND",
    }, body
    assert len(error["message"]) < 200
