"""Access control through HTTP: tokens, scoped views of the tree, administration, audit."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from graphql import GraphQLEnumType, GraphQLList, GraphQLNonNull, Undefined
from sqlalchemy import update
from starlette.testclient import TestClient

from authz.models import Token
from core.db.engine import SQLITE_WRITE, sync_engine
from schema.root import schema
from tests.cli import quhua
from tests.conftest import TOKENS, client_for, data_of, graphql
from tests.databases import issue_token, load_tree


def seconds_until_refused(client: TestClient, *, limit: float = 5.0) -> float:
    """How long until the client's token is refused (401), asking every 20 ms."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        response = client.post("/graphql", json={"query": "{ me { subject { name } } }"})
        if response.status_code == 401:
            return time.monotonic() - start
        time.sleep(0.02)
    return limit


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


def as_subject(url: str, role: str, code: str) -> TestClient:
    return client_for(url, issue_token(url, unique(role), role, code))


def root_fields(type_name: str) -> list[str]:
    graphql_type = schema._schema.get_type(type_name)
    assert graphql_type is not None
    return sorted(graphql_type.fields)  # type: ignore[attr-defined]


def test_every_field_refuses_an_anonymous_caller(ningxia_url: str) -> None:
    """Enumerated from the schema: a new field is covered without touching this test."""
    with client_for(ningxia_url) as client:
        for operation, type_name in (("query", "Query"), ("mutation", "Mutation")):
            for field in root_fields(type_name):
                definition = schema._schema.get_type(type_name).fields[field]  # type: ignore[union-attr]
                args = ", ".join(
                    f"{name}: {_dummy(arg.type)}"
                    for name, arg in definition.args.items()
                    if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
                )
                selection = "" if _is_leaf(definition.type) else " { __typename }"
                call = f"{field}({args})" if args else field
                body = graphql(client, f"{operation} {{ {call}{selection} }}")
                codes = {error["extensions"]["code"] for error in body.get("errors", [])}
                assert codes == {"UNAUTHENTICATED"}, (field, body)


def _dummy(graphql_type: GraphQLNonNull[Any]) -> str:
    named = graphql_type.of_type
    if isinstance(named, GraphQLList):
        return "[]"
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values))
    return {"String": '"64"', "Int": "1", "ID": '"1"', "Boolean": "true"}[named.name]


def _is_leaf(graphql_type: object) -> bool:
    while hasattr(graphql_type, "of_type"):
        graphql_type = graphql_type.of_type
    return not hasattr(graphql_type, "fields")


def test_introspection_answers_anonymously(ningxia_url: str) -> None:
    with client_for(ningxia_url) as client:
        data = data_of(client, "{ __schema { queryType { name } } }")
    assert data == {"__schema": {"queryType": {"name": "Query"}}}


@pytest.mark.parametrize(
    "header",
    [
        "Bearer qh_" + "A" * 43,  # well formed, unknown
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
        "Bearer",
    ],
)
def test_bad_credentials_get_401_and_no_hint(ningxia_url: str, header: str) -> None:
    with client_for(ningxia_url) as client:
        response = client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Authorization": header},
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "errors": [
            {
                "message": "Invalid or expired credentials",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ]
    }


def test_expired_and_revoked_tokens_are_refused_alike(ningxia_url: str) -> None:
    subject = unique("viewer")
    token = issue_token(ningxia_url, subject, "viewer", "6401")
    query = {"query": '{ jurisdiction(code: "6401") { name } }'}
    with client_for(ningxia_url, token) as client:
        assert client.post("/graphql", json=query).status_code == 200
        engine = sync_engine(ningxia_url)
        with engine.begin() as connection:
            listed = quhua("token", "list", "--subject", subject, url=ningxia_url).stdout
            token_id = int(listed.split("\t")[0])
            connection.execute(
                update(Token).where(Token.id == token_id).values(expires_at=Token.created_at)
            )
        engine.dispose()
    # A new process (a new app) does not know the token yet: the database says it expired.
    with client_for(ningxia_url, token) as client:
        expired = client.post("/graphql", json=query)
    assert expired.status_code == 401


MINE = """{
  me { subject { name kind } grants { role jurisdiction { code name } } }
}"""


def test_me_tells_the_caller_who_they_are(ningxia_url: str) -> None:
    subject = unique("approver")
    with client_for(ningxia_url, issue_token(ningxia_url, subject, "approver", "640104")) as c:
        me = data_of(c, MINE)["me"]
    assert me["subject"] == {"name": subject, "kind": "PERSON"}
    assert me["grants"] == [
        {"role": "approver", "jurisdiction": {"code": "640104", "name": "兴庆区"}}
    ]


@pytest.fixture
def county_viewer(ningxia_url: str) -> Iterator[TestClient]:
    with as_subject(ningxia_url, "viewer", "640104") as client:
        yield client


def test_a_county_viewer_sees_its_subtree_and_the_names_above(county_viewer: TestClient) -> None:
    data = data_of(
        county_viewer,
        """{
          county: jurisdiction(code: "640104") {
            ancestors { code } children(first: 1) { totalCount } }
          city: jurisdiction(code: "6401") {
            name children { totalCount edges { node { code } } }
            descendantCount(level: COUNTY) }
          counties: jurisdictions(level: COUNTY) { totalCount edges { node { code } } }
          provinces: jurisdictions(level: PROVINCE) { edges { node { code } } }
          nobody: jurisdiction(code: "659999") { code }
        }""",
    )
    assert data["county"]["ancestors"] == [{"code": "64"}, {"code": "6401"}]
    assert data["county"]["children"]["totalCount"] == 16
    assert data["city"]["name"] == "银川市"
    assert data["city"]["children"] == {"totalCount": 1, "edges": [{"node": {"code": "640104"}}]}
    assert data["city"]["descendantCount"] == 1
    assert data["counties"] == {"totalCount": 1, "edges": [{"node": {"code": "640104"}}]}
    assert data["provinces"]["edges"] == [{"node": {"code": "64"}}]
    assert data["nobody"] is None


@pytest.mark.parametrize(
    "query",
    [
        '{ jurisdiction(code: "640105") { code } }',
        '{ jurisdiction(code: "6402") { code } }',
        '{ jurisdictions(under: "640105") { totalCount } }',
        "{ grants { totalCount } }",
        "{ policyAudit { totalCount } }",
    ],
)
def test_outside_the_subtree_is_forbidden_not_empty(county_viewer: TestClient, query: str) -> None:
    body = graphql(county_viewer, query)
    if "grants" in query or "policyAudit" in query:
        # A viewer administers nothing: an empty scope, so empty listings.
        assert body["data"] is not None
        assert next(iter(body["data"].values()))["totalCount"] == 0
        return
    assert body["data"] is None or set(body["data"].values()) == {None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


GRANT = """mutation($subject: String!, $role: String!, $code: String!) {
  grantRole(subject: $subject, role: $role, jurisdiction: $code, reason: "new staff") {
    subject { name } role jurisdiction { code }
  }
}"""
REVOKE = """mutation($subject: String!, $role: String!, $code: String!) {
  revokeRole(subject: $subject, role: $role, jurisdiction: $code, reason: "left") { role }
}"""


@pytest.fixture
def fresh_ningxia(ningxia_tree_url: str) -> str:
    """A database of its own with the Ningxia tree and a province administrator."""
    TOKENS[ningxia_tree_url] = issue_token(ningxia_tree_url, "province-admin", "admin", "64")
    return ningxia_tree_url


def code_of(body: dict[str, object]) -> str:
    errors = body.get("errors")
    assert isinstance(errors, list)
    return str(errors[0]["extensions"]["code"])


def test_administrators_grant_only_inside_their_subtree(fresh_ningxia: str) -> None:
    with as_subject(fresh_ningxia, "admin", "6401") as city_admin:
        ok = data_of(city_admin, GRANT, subject="li", role="reporter", code="640104001")
        assert ok["grantRole"]["jurisdiction"] == {"code": "640104001"}
        outside = graphql(city_admin, GRANT, subject="li", role="reporter", code="6402")
        assert code_of(outside) == "FORBIDDEN"
        above = graphql(city_admin, GRANT, subject="li", role="admin", code="64")
        assert code_of(above) == "FORBIDDEN"
        again = graphql(city_admin, GRANT, subject="li", role="reporter", code="640104001")
        assert code_of(again) == "CONFLICT"
        audit = data_of(
            city_admin,
            "{ policyAudit { totalCount edges { node { action actor subject { name } role "
            "jurisdiction { code } reason } } } }",
        )["policyAudit"]
    # Newest first: this grant, then the CLI's token and grant for the city administrator.
    assert [edge["node"]["action"] for edge in audit["edges"]] == [
        "GRANT",
        "TOKEN_CREATE",
        "GRANT",
    ]
    assert audit["edges"][2]["node"]["actor"].startswith("cli:")
    entry = audit["edges"][0]["node"]
    assert entry["action"] == "GRANT"
    assert entry["subject"] == {"name": "li"}
    assert entry["jurisdiction"] == {"code": "640104001"}
    assert entry["reason"] == "new staff"


def test_nobody_grants_permissions_they_do_not_hold(fresh_ningxia: str) -> None:
    with as_subject(fresh_ningxia, "approver", "6401") as approver:
        body = graphql(approver, GRANT, subject="wang", role="viewer", code="640104")
    assert code_of(body) == "FORBIDDEN"  # no grants:manage at all
    quhua(
        "grant",
        "--subject",
        "mixed",
        "--role",
        "admin",
        "--jurisdiction",
        "640104001",
        url=fresh_ningxia,
    )
    quhua(
        "grant",
        "--subject",
        "mixed",
        "--role",
        "aggregate_reader",
        "--jurisdiction",
        "6401",
        url=fresh_ningxia,
    )
    token = quhua("token", "create", "--subject", "mixed", url=fresh_ningxia).stdout.strip()
    with client_for(fresh_ningxia, token) as mixed:
        inside = data_of(mixed, GRANT, subject="zhao", role="viewer", code="640104001002")
        assert inside["grantRole"]["role"] == "viewer"


def test_the_last_administrator_of_the_top_cannot_be_removed(fresh_ningxia: str) -> None:
    with client_for(fresh_ningxia, TOKENS[fresh_ningxia]) as admin:
        alone = graphql(admin, REVOKE, subject="province-admin", role="admin", code="64")
        assert code_of(alone) == "CONFLICT"
        data_of(admin, GRANT, subject="deputy", role="admin", code="64")
        data_of(admin, REVOKE, subject="deputy", role="admin", code="64")
        data_of(admin, GRANT, subject="county-admin", role="admin", code="640104")
        # Admins above remain: removing the county's only admin is allowed.
        data_of(admin, REVOKE, subject="county-admin", role="admin", code="640104")
    with as_subject(fresh_ningxia, "admin", "6401") as city_admin:
        above = graphql(city_admin, REVOKE, subject="province-admin", role="admin", code="64")
        assert code_of(above) == "FORBIDDEN"


TOKEN = """mutation($subject: String!) {
  createToken(subject: $subject, expiresInDays: 7, label: "laptop") {
    token subject { name } info { id prefix label expiresAt revokedAt }
  }
}"""
REVOKE_TOKEN = (
    """mutation($id: ID!) { revokeToken(id: $id, reason: "lost laptop") { revokedAt } }"""
)


def test_tokens_are_issued_and_revoked_within_the_subtree(fresh_ningxia: str) -> None:
    with as_subject(fresh_ningxia, "admin", "6401") as city_admin:
        data_of(city_admin, GRANT, subject="zhou", role="reporter", code="640104001002")
        created = data_of(city_admin, TOKEN, subject="zhou")["createToken"]
        token = created["token"]
        assert created["info"]["prefix"] == token[:10]
        with client_for(fresh_ningxia, token) as zhou:
            me = data_of(zhou, "{ me { subject { name } } }")
            assert me == {"me": {"subject": {"name": "zhou"}}}
            data_of(city_admin, REVOKE_TOKEN, id=created["info"]["id"])
            # zhou's client is another app, with its own cache, like another process.
            assert seconds_until_refused(zhou) < 1.0
        # Someone outside the subtree answers exactly as nobody at all.
        outsider = graphql(city_admin, TOKEN, subject="province-admin")
        nobody = graphql(city_admin, TOKEN, subject="nobody-at-all")
        assert code_of(outsider) == code_of(nobody) == "NOT_FOUND"
        assert outsider["errors"][0]["message"] == nobody["errors"][0]["message"].replace(
            "nobody-at-all", "province-admin"
        )
        listed = data_of(city_admin, '{ tokens(subject: "zhou") { label revokedAt } }')
        assert listed["tokens"][0]["label"] == "laptop"
        assert listed["tokens"][0]["revokedAt"] is not None


def test_a_fresh_database_refuses_everything_until_the_cli_grants(migrated_url: str) -> None:
    """No grant is there after migrating: a caller with a valid token is refused, until an
    operator grants a role with the `quhua` command; then the same caller, through the same
    running app, is answered."""
    load_tree(migrated_url)
    issued = quhua("token", "create", "--subject", "newcomer", "--expires", "1d", url=migrated_url)
    token = issued.stdout.strip()
    read = '{ province: jurisdiction(code: "64") { name } }'
    with client_for(migrated_url) as anonymous:
        assert code_of(graphql(anonymous, read)) == "UNAUTHENTICATED"
    with client_for(migrated_url, token) as newcomer:
        assert data_of(newcomer, MINE)["me"]["grants"] == []
        assert code_of(graphql(newcomer, read)) == "FORBIDDEN"
        grant = graphql(newcomer, GRANT, subject="newcomer", role="admin", code="64")
        assert code_of(grant) == "FORBIDDEN"
        granted = quhua(
            "grant",
            "--subject",
            "newcomer",
            "--role",
            "viewer",
            "--jurisdiction",
            "64",
            url=migrated_url,
        )
        assert granted.exit_code == 0, granted.stderr
        # The app hears of the grant within a poll period or two.
        deadline = time.monotonic() + 5
        while graphql(newcomer, read).get("errors"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert data_of(newcomer, read) == {"province": {"name": "宁夏回族自治区"}}


def test_concurrent_administrators_neither_fail_nor_double_grant(fresh_ningxia: str) -> None:
    """Two apps (two engines, as two processes would have) grant at once, many times."""
    token = TOKENS[fresh_ningxia]
    villages = ["640104001002", "640104001003", "640104001005", "640104001007"]
    with client_for(fresh_ningxia, token) as one, client_for(fresh_ningxia, token) as two:

        def grant(client: TestClient, subject: str, code: str) -> str:
            body = graphql(client, GRANT, subject=subject, role="reporter", code=code)
            return code_of(body) if body.get("errors") else "OK"

        with ThreadPoolExecutor(max_workers=8) as pool:
            # Different grants: all must succeed, whichever writer waits for the other.
            distinct = list(
                pool.map(
                    lambda job: grant(*job),
                    [
                        (c, f"worker-{i}", code)
                        for i, (c, code) in enumerate(
                            (client, code) for client in (one, two) for code in villages
                        )
                    ],
                )
            )
            assert distinct == ["OK"] * 8
            # The same grant from both apps at once: one wins, the other hears CONFLICT.
            same = sorted(
                pool.map(lambda c: grant(c, "contested", "640104001002"), [one, two, one, two])
            )
    assert same == ["CONFLICT", "CONFLICT", "CONFLICT", "OK"]


def test_a_token_records_when_it_was_last_used(fresh_ningxia: str) -> None:
    with as_subject(fresh_ningxia, "admin", "640104") as county_admin:
        data_of(county_admin, GRANT, subject="sun", role="viewer", code="640104001")
        created = data_of(county_admin, TOKEN, subject="sun")["createToken"]
        assert created["info"]["expiresAt"] is not None
        lookup = '{ tokens(subject: "sun") { lastUsedAt } }'
        assert data_of(county_admin, lookup)["tokens"] == [{"lastUsedAt": None}]
        with client_for(fresh_ningxia, created["token"]) as sun:
            data_of(sun, "{ me { subject { name } } }")
        # Written by the server's background round, within a poll period or two.
        deadline = time.monotonic() + 5
        while data_of(county_admin, lookup)["tokens"][0]["lastUsedAt"] is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_a_change_without_a_reason_is_refused(ningxia_client: TestClient) -> None:
    body = graphql(
        ningxia_client,
        'mutation { grantRole(subject: "x", role: "viewer", jurisdiction: "6401", reason: " ") '
        "{ role } }",
    )
    assert code_of(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["message"].startswith("reason")


def test_operator_commands_wait_for_a_busy_server(fresh_ningxia: str) -> None:
    """`quhua grant` and `quhua token create` while another process keeps writing.

    A server writes all the time (tokens' last use); an operator's command must queue behind
    it, not fail with "database is locked" when its read turns into a write.
    """
    engine = sync_engine(fresh_ningxia)
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            with engine.connect().execution_options(**{SQLITE_WRITE: True}) as connection:
                connection.execute(update(Token).values(last_used_at=None))
                time.sleep(0.002)
                connection.commit()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        for n in range(8):
            issue_token(fresh_ningxia, f"operator-{n}", "viewer", "640104")
    finally:
        stop.set()
        writer.join()
        engine.dispose()
