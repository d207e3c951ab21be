"""Property: whatever a caller asks, nothing outside their scope comes back or changes.

Queries and mutations are enumerated from the schema itself, so a new field is covered
without editing this file. Callers get random grants on the real Ningxia tree; requests use
aliases, fragments, nested parents, ancestors and children, cursors crafted by the caller,
and batches of operations. The server's answers are checked against tests/isolation_model.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from authz.models import Grant, Subject, SubjectKind, Token
from authz.roles import Action, Role
from authz.tokens import new_token, shown_prefix, token_hash
from core.db.engine import sync_engine
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from resolvers.pagination import id_cursor, path_cursor
from schema.root import schema
from tenancy.models import Jurisdiction
from tests.cli import quhua
from tests.conftest import client_for
from tests.databases import fresh_database, issue_token, load_tree, upgrade
from tests.isolation_answers import CYCLE, FINDINGS, walk
from tests.isolation_model import LEVELS, Caller, Tree
from tests.isolation_state import (
    cycle_changes,
    permissions_in,
    policy_changes,
    read_back,
    snapshot,
)
from tests.sso import Signer, sso_settings

TREE = Tree.ningxia()
CODES = sorted(TREE.parent)
BY_LEVEL = {level: [c for c in CODES if TREE.level[c] == level] for level in LEVELS}
ROLES = [role.value for role in Role]
# Codes callers may define roles under; the world starts with the first of them defined.
CUSTOM_ROLES = ["inspector", "auditor_b", "steward_c"]
SUBJECT_POOL = ["pool-a", "pool-b", "pool-c"]
SAFE_ERRORS = {
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "UNAUTHENTICATED",
    "ROLLED_BACK",
}
# Random examples of the property in the main suite, and in the scale step.
EXAMPLES = 100
THOROUGH_EXAMPLES = 300
# Fields the checks find by name: never aliased.
UNALIASED = {
    "code",
    "values",
    "auditTrail",
    "unit",
    "targets",
    "assessment",
    "jurisdiction",
    "jurisdictionCode",
}


def path_of(code: str) -> str:
    return "".join(f"{c}/" for c in [*reversed(TREE.ancestors(code)), code])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, TestClient]]:
    """A database of its own: mutations here may change any grant."""
    with fresh_database(str(request.param), tmp_path_factory.mktemp("isolation")) as url:
        upgrade(url)
        load_tree(url)
        loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url)
        assert loaded.exit_code == 0
        root = issue_token(url, "isolation-root", "admin", "64")
        with client_for(url, root) as client:
            seed_violations(client)
        defined = quhua(
            "role",
            "define",
            CUSTOM_ROLES[0],
            "--name-zh",
            "督查员",
            "--name-en",
            "Inspector",
            "--action",
            "READ_TREE",
            "--action",
            "READ_VALUES",
            "--action",
            "READ_AUDIT",
            "--at",
            "64",
            url=url,
        )
        assert defined.exit_code == 0, defined.stdout
        for index, name in enumerate(SUBJECT_POOL):
            issue_token(
                url, name, ["viewer", "reporter", "admin"][index], BY_LEVEL["county"][index]
            )
        jwks = tmp_path_factory.mktemp("isolation-sso") / "jwks.json"
        with client_for(url, **sso_settings(jwks, SIGNER)) as client:
            yield url, client


# A village in each of the first counties reports more policy births than births, and no
# population: violations of a HIGH and a LOW rule, for validationViolations and the grid.
SEEDED = [
    next(v for v in BY_LEVEL["village"] if v.startswith(county))
    for county in BY_LEVEL["county"][:4]
]
SEED = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "seed") { ok violations { rule { code } } } }"""


def seed_violations(client: TestClient) -> None:
    rows = [
        row
        for village in SEEDED
        for row in (
            {"jurisdiction": village, "element": "policy_births", "period": "2024-03", "value": 5},
            {
                "jurisdiction": village,
                "element": "births",
                "period": "2024-03",
                "disaggregation": "sex=male;parity=1",
                "value": 3,
            },
        )
    ]
    answer = client.post("/graphql", json={"query": SEED, "variables": {"rows": rows}}).json()
    assert answer["data"]["submitValues"]["ok"], answer
    assert len(answer["data"]["submitValues"]["violations"]) == 2 * len(SEEDED), answer


# Half the callers sign in with the identity provider's JWT instead of a token, chosen by
# their grants so that a failing example replays the same way.
SIGNER = Signer.ec("isolation")


def signs_in_by_jwt(grants: list[tuple[str, str]]) -> bool:
    return zlib.crc32(repr(sorted(set(grants))).encode()) % 2 == 1


def make_caller(url: str, grants: list[tuple[str, str]]) -> tuple[str, str]:
    """A new subject with these grants and a token (or a JWT naming it), written straight
    to the database."""
    engine = sync_engine(url)
    secret = new_token()
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as session, session.begin():
        name = f"caller-{uuid.uuid4().hex[:10]}"
        subject = Subject(name=name, name_key=name, kind=SubjectKind.PERSON, created_at=now)
        session.add(subject)
        session.flush()
        units = dict(session.execute(select(Jurisdiction.code, Jurisdiction.id)).all())
        for role, code in set(grants):
            session.add(
                Grant(
                    subject_id=subject.id,
                    role=role,
                    jurisdiction_id=units[code],
                    granted_at=now,
                )
            )
        session.add(
            Token(
                subject_id=subject.id,
                token_hash=token_hash(secret),
                prefix=shown_prefix(secret),
                label="",
                created_at=now,
                expires_at=now + dt.timedelta(hours=1),
            )
        )
    engine.dispose()
    return name, SIGNER.sign(name) if signs_in_by_jwt(grants) else secret


# ---- strategies: arguments by name and type, selections by the schema ----------------------

codes = st.one_of(
    *(st.sampled_from(BY_LEVEL[level]) for level in LEVELS),
    st.sampled_from(["", "99", "6499", "64x", "0" * 12]),
)
cursors = st.one_of(
    st.none(),
    codes.filter(lambda c: c in TREE.parent).map(lambda c: path_cursor(path_of(c))),
    st.integers(0, 50).map(id_cursor),
    st.sampled_from(["", "x", "cDo5OS8=", "aTotMQ=="]),
)


def argument(name: str, graphql_type: Any) -> st.SearchStrategy[Any]:
    required = isinstance(graphql_type, GraphQLNonNull)
    named = graphql_type.of_type if required else graphql_type
    if isinstance(named, GraphQLList):
        values: st.SearchStrategy[Any] = st.lists(argument(name, named.of_type), max_size=3)
    elif isinstance(named, GraphQLInputObjectType):
        values = st.fixed_dictionaries(
            {
                key: argument(key, field.type)
                for key, field in named.fields.items()
                if isinstance(field.type, GraphQLNonNull)
            },
            optional={
                key: argument(key, field.type)
                for key, field in named.fields.items()
                if not isinstance(field.type, GraphQLNonNull)
            },
        )
    elif isinstance(named, GraphQLEnumType):
        values = st.sampled_from(sorted(named.values))
    elif name == "code":
        # A unit's code, or a role's (defineRole, updateRole, retireRole).
        values = st.one_of(codes, st.sampled_from([*CUSTOM_ROLES, "viewer", "admin"]))
    elif name in {"under", "jurisdiction", "unit"}:
        values = codes
    elif name in {"role", "includes"}:
        values = st.sampled_from([*ROLES, *CUSTOM_ROLES, "nope"])
    elif name == "after":
        values = cursors
    elif name == "subject":
        values = st.sampled_from([*SUBJECT_POOL, "isolation-root", "nobody"])
    elif name == "element":
        values = st.sampled_from(["births", "deaths", "population", "funding", "nope"])
    elif name == "period":
        values = st.sampled_from(["2024-03", "2024-Q1", "2024", "2024-13"])
    elif name == "disaggregation":
        values = st.sampled_from(["", "sex=male", "sex=female;parity=1", "sex=male;parity=3plus"])
    elif name in {"value", "expected"}:
        values = st.sampled_from([0, 1, 7, -1, 2.5])
    elif name in {"elements"}:
        values = st.sampled_from(["births", "deaths"])
    elif name == "year":
        values = st.sampled_from(["2024", "2024FP", "2023", "2024-03", "20x"])
    elif name == "rule":
        values = st.sampled_from(["policy_births_within_births", "births_with_population", "x"])
    elif name == "indicator":
        values = st.sampled_from(["births", "birth_rate", "policy_rate", "nope"])
    elif name == "by":
        values = st.sampled_from(["SCORE", "birth_rate", "births", "nope"])
    elif name == "search":
        values = st.sampled_from(["银川", "社区", "6401", "%", "_", "64010"])
    elif named.name in ("Int", "Float"):
        values = st.integers(-2, 40)
    elif named.name == "ID":
        values = st.integers(0, 60).map(str)
    elif named.name == "Boolean":
        values = st.booleans()
    else:
        values = st.text(max_size=8)
    return values if required else st.one_of(st.none(), values)


def named_type(graphql_type: Any) -> Any:
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
    return graphql_type


@st.composite
def selection(draw: st.DrawFn, object_type: GraphQLObjectType, depth: int) -> str:
    """Fields of an object type; Jurisdiction always selects code, so it can be checked."""
    fields: list[str] = []
    must = {"code"} if object_type.name == "Jurisdiction" else set()
    if object_type.name in FINDINGS or object_type.name in CYCLE:
        must = {"unit"}
    # Violations and a grid's counts are checked against the units they name.
    must |= {
        "ValidationViolation": {"jurisdiction"},
        "RollupGrid": {"codes"},
        "AggregateChange": {"unit", "kind", "code"},
    }.get(object_type.name, set())
    candidates = sorted(object_type.fields)
    chosen = set(draw(st.lists(st.sampled_from(candidates), max_size=4, unique=True))) | must
    for field_name in sorted(chosen):
        field: GraphQLField = object_type.fields[field_name]
        target = named_type(field.type)
        if field_name == "descendantCount":
            level = draw(st.sampled_from([None, *(level.upper() for level in LEVELS)]))
            fields.append(
                f"dc_{level}: descendantCount(level: {level})"
                if level
                else "dc_ALL: descendantCount"
            )
            continue
        args = []
        for arg_name, arg in field.args.items():
            value = draw(argument(arg_name, arg.type))
            if value is not None:
                args.append(f"{arg_name}: {literal(value, arg.type)}")
        call = f"{field_name}({', '.join(args)})" if args else field_name
        if isinstance(target, GraphQLScalarType | GraphQLEnumType):
            fields.append(call)
        elif depth > 0:
            inner = draw(selection(target, depth - 1))
            alias = draw(st.sampled_from(["", f"a{len(fields)}: "]))
            if field_name in UNALIASED:
                alias = ""
            wrapped = draw(st.sampled_from([inner, f"... on {target.name} {{ {inner} }}"]))
            fields.append(f"{alias}{call} {{ {wrapped} }}")
    # The checks tell objects apart by their type name.
    fields.append("__typename")
    return " ".join(fields)


def literal(value: Any, graphql_type: Any) -> str:
    inner = graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type
    if isinstance(inner, GraphQLList):
        return "[" + ", ".join(literal(item, inner.of_type) for item in value) + "]"
    if isinstance(inner, GraphQLInputObjectType):
        fields = ", ".join(
            f"{key}: {literal(item, inner.fields[key].type)}"
            for key, item in value.items()
            if item is not None
        )
        return "{" + fields + "}"
    named = named_type(graphql_type)
    if isinstance(named, GraphQLEnumType):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and named.name in ("Int", "Float"):
        return str(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@st.composite
def operation(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["query", "query", "mutation"]))
    root = schema._schema.query_type if kind == "query" else schema._schema.mutation_type
    assert root is not None
    chosen = draw(st.lists(st.sampled_from(sorted(root.fields)), min_size=1, max_size=3))
    parts = []
    for index, field_name in enumerate(chosen):
        field = root.fields[field_name]
        args = []
        for arg_name, arg in field.args.items():
            value = draw(argument(arg_name, arg.type))
            if value is not None:
                args.append(f"{arg_name}: {literal(value, arg.type)}")
        call = f"r{index}: {field_name}({', '.join(args)})" if args else f"r{index}: {field_name}"
        target = named_type(field.type)
        if isinstance(target, GraphQLObjectType):
            call += " { " + draw(selection(target, 3)) + " }"
        parts.append(call)
    return f"{kind} {{ {' '.join(parts)} }}"


grant_lists = st.lists(
    st.tuples(st.sampled_from([*ROLES, CUSTOM_ROLES[0]]), codes.filter(lambda c: c in TREE.parent)),
    min_size=1,
    max_size=3,
)


# ---- the checks -------------------------------------------------------------------------------


MINE = "{ me { grants { actions jurisdiction { code } } } }"


def reach_after_grants(
    url: str, client: TestClient, caller: Caller, name: str, bodies: list[dict[str, Any]]
) -> list[str]:
    """A token the caller issued for someone else, once that person is made a province
    administrator, still does nothing the caller could not do."""
    problems: list[str] = []
    for body in bodies:
        for answer in (body.get("data") or {}).values():
            if not isinstance(answer, dict) or not isinstance(answer.get("token"), str):
                continue
            who = holder_of(url, answer["token"])
            if who is None or who == name:
                continue
            with granted_for_a_moment(url, who, "admin", "64"):
                me = client.post(
                    "/graphql",
                    json={"query": MINE},
                    headers={"Authorization": f"Bearer {answer['token']}"},
                ).json()
            for grant in me["data"]["me"]["grants"]:
                code = grant["jurisdiction"]["code"]
                labels = {Action[action].label for action in grant["actions"]}
                if not labels <= caller.holds_at(code):
                    problems.append(f"{who}'s token, issued by the caller, does {labels} at {code}")
    return problems


def holder_of(url: str, secret: str) -> str | None:
    """Whose token this is, from the database (asking the server would cache the holder's
    grants before the test changes them)."""
    engine = sync_engine(url)
    with engine.connect() as connection:
        who = connection.execute(
            select(Subject.name)
            .join(Token, Token.subject_id == Subject.id)
            .where(Token.token_hash == token_hash(secret))
        ).scalar()
    engine.dispose()
    return who


@contextmanager
def granted_for_a_moment(url: str, who: str, role: str, code: str) -> Iterator[None]:
    """A grant written straight to the database, and removed again."""
    engine = sync_engine(url)
    with Session(engine) as session, session.begin():
        subject_id = session.execute(select(Subject.id).where(Subject.name == who)).scalar_one()
        unit_id = session.execute(
            select(Jurisdiction.id).where(Jurisdiction.code == code)
        ).scalar_one()
        held = select(Grant.id).where(
            Grant.subject_id == subject_id, Grant.role == role, Grant.jurisdiction_id == unit_id
        )
        if session.execute(held).first() is not None:
            engine.dispose()
            yield
            return
        grant = Grant(
            subject_id=subject_id,
            role=role,
            jurisdiction_id=unit_id,
            granted_at=dt.datetime.now(dt.UTC),
        )
        session.add(grant)
        session.flush()
        grant_id = grant.id
    try:
        yield
    finally:
        with Session(engine) as session, session.begin():
            session.execute(delete(Grant).where(Grant.id == grant_id))
        engine.dispose()


def _scope_property(examples: int) -> Callable[..., None]:
    """The property with `examples` random examples, and every explicit one."""

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(grants=grant_lists, documents=st.lists(operation(), min_size=1, max_size=3))
    # A field refused beside fields waiting for the same loader key: cancelling the refused
    # branch once cancelled the shared key, and the request ended with CancelledError.
    @example(
        grants=[("viewer", "6401"), ("aggregate_reader", "640202")],
        documents=[
            "query { r0: me { grants { grantedAt jurisdiction { ancestors { code __typename }"
            " auditTrail { __typename } code __typename } __typename } __typename } }"
        ],
    )
    # A county administrator sets targets for its own county (refused: the province grades
    # it), then for a township of it, and ranks the county's townships.
    @example(
        grants=[("admin", "640104")],
        documents=[
            'mutation { r0: setTargets(input: [{jurisdiction: "640104", year: "2024FP", '
            'indicator: "birth_rate", bound: AT_LEAST, value: 1}], reason: "x") { ok __typename } }'
        ],
    )
    @example(
        grants=[("admin", "640104")],
        documents=[
            'mutation { r0: setTargets(input: [{jurisdiction: "640104001", year: "2024", '
            'indicator: "births", bound: AT_MOST, value: 7, veto: true}], reason: "x") '
            "{ ok changed __typename } }",
            'query { r0: ranking(under: "640104", level: TOWNSHIP, year: "2024") { edges { node { '
            'rank jurisdiction { code assessment(year: "2024") { grade } __typename } __typename } '
            "__typename } __typename } }",
        ],
    )
    # A county's viewer lists the violations of the province (refused) and of its county, and
    # counts them in a grid of the county's townships.
    @example(
        grants=[("viewer", BY_LEVEL["county"][0])],
        documents=[
            'query { r0: validationViolations(under: "64", period: "2024") { totalCount } }',
            f'query {{ r0: validationViolations(under: "{BY_LEVEL["county"][0]}", period: "2024") '
            "{ edges { node { jurisdiction { code __typename } rule { code } __typename } } } "
            f'r1: rollup(under: "{BY_LEVEL["county"][0]}", level: VILLAGE, period: "2024-03", '
            'elements: ["births"]) { codes violations __typename } }',
        ],
    )
    # An aggregate reader may read a grid's figures, never its violations.
    @example(
        grants=[("aggregate_reader", BY_LEVEL["county"][0])],
        documents=[
            f'query {{ r0: rollup(under: "{BY_LEVEL["county"][0]}", level: TOWNSHIP, '
            'period: "2024-03", elements: ["births"]) { codes violations __typename } }',
        ],
    )
    # A county administrator issues a token for someone in the county, who is then made a
    # province administrator; and a province administrator defines a role.
    @example(
        grants=[("admin", BY_LEVEL["county"][0])],
        documents=['mutation { r0: createToken(subject: "pool-a") { token __typename } }'],
    )
    @example(
        grants=[("admin", "64"), ("viewer", "6401")],
        documents=[
            'mutation { r0: defineRole(code: "auditor_b", nameZh: "审计", nameEn: "Auditor", '
            'actions: [READ_TREE, READ_AUDIT], includes: ["viewer"], jurisdiction: "64", '
            'reason: "audit") { code } }'
        ],
    )
    # A township approver approves its month and sends back a village of another township; a
    # village reporter submits its report and reads its township's status.
    @example(
        grants=[("approver", BY_LEVEL["township"][0])],
        documents=[
            f'mutation {{ r0: approve(unit: "{BY_LEVEL["township"][0]}", period: "2024-03") '
            "{ state unit { code __typename } __typename } "
            f'r1: returnForCorrection(unit: "{BY_LEVEL["village"][-1]}", period: "2024-03", '
            'reason: "x") { state __typename } }'
        ],
    )
    @example(
        grants=[("reporter", BY_LEVEL["village"][0])],
        documents=[
            f'mutation {{ r0: submitReport(unit: "{BY_LEVEL["village"][0]}", period: "2024-03") '
            "{ report { state unit { code __typename } __typename } __typename } }",
            f'query {{ r0: reportingStatus(under: "{BY_LEVEL["township"][0]}", period: "2024", '
            "level: VILLAGE) { unit { code __typename } missingUnits { edges { node { unit "
            "{ code __typename } __typename } } } __typename } }",
        ],
    )
    # An aggregate reader of a county follows the feed of the province (refused), of its
    # county's townships and villages (refused: those are reported values), and indicators.
    @example(
        grants=[("aggregate_reader", BY_LEVEL["county"][0])],
        documents=[
            'query { r0: changes(under: "64", level: COUNTY) { changes { unit kind code '
            "__typename } __typename } }",
            f'query {{ r0: changes(under: "{BY_LEVEL["county"][0]}", level: TOWNSHIP) {{ changes '
            "{ unit kind code value __typename } endCursor __typename } "
            f'r1: changes(under: "{BY_LEVEL["county"][0]}", level: VILLAGE) {{ changes '
            "{ unit kind code __typename } __typename } "
            f'r2: changes(under: "{BY_LEVEL["county"][0]}", level: COUNTY, '
            'indicators: ["birth_rate"]) { changes { unit kind code __typename } __typename } '
            "r3: feedHead }",
        ],
    )
    def check(
        world: tuple[str, TestClient], grants: list[tuple[str, str]], documents: list[str]
    ) -> None:
        url, client = world
        name, token = make_caller(url, grants)
        before = snapshot(url)
        caller = Caller(grants=grants, tree=TREE, permissions=permissions_in(before))
        payload: Any = (
            [{"query": d} for d in documents] if len(documents) > 1 else {"query": documents[0]}
        )
        response = client.post(
            "/graphql", json=payload, headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code == 400:
            # No GraphQL request (a NUL in a string, say): refused whole, nothing changed.
            assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
            assert snapshot(url) == before
            return
        assert response.status_code == 200, response.text
        bodies = response.json() if isinstance(response.json(), list) else [response.json()]
        problems: list[str] = []
        for body in bodies:
            for error in body.get("errors") or []:
                code = error.get("extensions", {}).get("code")
                if code not in SAFE_ERRORS and code != "GRAPHQL_VALIDATION_FAILED":
                    problems.append(f"error {code}: {error['message']}")
            walk(body.get("data"), caller, problems)
        after = snapshot(url)
        problems += read_back(documents, bodies, before, after)
        problems += policy_changes(caller, name, before, after)
        problems += cycle_changes(caller, before, after)
        problems += reach_after_grants(url, client, caller, name, bodies)
        assert problems == [], (documents, problems)

    return check


test_no_answer_or_change_leaves_the_callers_scope = _scope_property(EXAMPLES)
# Three times the random examples, in CI's bounded scale step.
test_no_answer_or_change_leaves_the_callers_scope_thoroughly = pytest.mark.scale(
    _scope_property(THOROUGH_EXAMPLES)
)
