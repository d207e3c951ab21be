"""Roles as data: defined, granted, changed and retired by administrators, through HTTP and
the CLI, each change bounded by what its author holds and kept in the policy audit."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.cli import quhua
from tests.conftest import client_for, data_of, graphql
from tests.databases import issue_token, ningxia_world
from tests.test_server import post, running_server, seconds_until

INSPECTOR_ACTIONS = ["READ_TREE", "READ_VALUES", "READ_AUDIT", "READ_AGGREGATES"]
DEFINE = """mutation($code: String!, $actions: [Action!]!, $includes: [String!], $at: String!) {
  defineRole(code: $code, nameZh: "督查员", nameEn: "Inspector", actions: $actions,
             includes: $includes, jurisdiction: $at, reason: "yearly inspection") {
    code nameZh nameEn builtin actions includes effectiveActions jurisdiction { code }
  }
}"""
UPDATE = """mutation($code: String!, $actions: [Action!]) {
  updateRole(code: $code, actions: $actions, reason: "narrowed") { code effectiveActions }
}"""
RETIRE = """mutation($code: String!) { retireRole(code: $code, reason: "done") { retiredAt } }"""
GRANT = """mutation($subject: String!, $role: String!, $code: String!) {
  grantRole(subject: $subject, role: $role, jurisdiction: $code, reason: "inspection") {
    role
  }
}"""
READS = """{ jurisdiction(code: "6401") {
  values(period: "2024-03") { value }
  auditTrail { totalCount }
} }"""
SUBMIT = """mutation { submitValues(reason: "try", input: [{jurisdiction: "640104001002",
  element: "births", period: "2024-03", value: 1, disaggregation: "sex=male;parity=1"}]) {
  ok errors { code message } } }"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """Ningxia with the default catalogue and its province administrator's token."""
    with ningxia_world(str(request.param), tmp_path_factory.mktemp("roles"), "roles-root") as world:
        yield world


def unique(name: str) -> str:
    return f"{name}_{uuid.uuid4().hex[:6]}"


def code_of(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def define(client: TestClient, code: str, actions: list[str], **more: Any) -> dict[str, Any]:
    variables = {"code": code, "actions": actions, "includes": None, "at": "64", **more}
    return graphql(client, DEFINE, **variables)


def test_an_inspector_reads_values_and_audit_but_cannot_write_or_grant(
    world: tuple[str, str],
) -> None:
    url, root = world
    code = unique("inspector")
    holder = unique("insp")
    with client_for(url, root) as admin:
        role = data_of(admin, DEFINE, code=code, actions=INSPECTOR_ACTIONS, includes=None, at="64")
        assert role["defineRole"]["effectiveActions"] == sorted(INSPECTOR_ACTIONS)
        assert role["defineRole"]["jurisdiction"] == {"code": "64"}
        data_of(admin, GRANT, subject=holder, role=code, code="6401")
        token = data_of(
            admin, "mutation($s: String!) { createToken(subject: $s) { token } }", s=holder
        )["createToken"]["token"]
        listed = data_of(admin, "{ roles { code builtin } }")["roles"]
        assert {"code": code, "builtin": False} in listed
        assert {"code": "viewer", "builtin": True} in listed
    with client_for(url, token) as inspector:
        read = data_of(inspector, READS)["jurisdiction"]
        assert read["values"] == [] and read["auditTrail"]["totalCount"] == 0
        [grant] = data_of(inspector, "{ me { grants { role actions } } }")["me"]["grants"]
        assert grant == {"role": code, "actions": sorted(INSPECTOR_ACTIONS)}
        refused_write = data_of(inspector, SUBMIT)["submitValues"]
        assert refused_write["ok"] is False
        assert refused_write["errors"][0]["code"] == "FORBIDDEN"
        refused = graphql(inspector, GRANT, subject=unique("x"), role="viewer", code="640104")
        assert code_of(refused) == "FORBIDDEN"
        outside = graphql(
            inspector, '{ jurisdiction(code: "6402") { values(period: "2024-03") { value } } }'
        )
        assert outside["errors"]


def test_nobody_defines_or_widens_a_role_beyond_what_they_hold(world: tuple[str, str]) -> None:
    url, root = world
    steward = unique("steward")
    with client_for(url, root) as admin:
        data_of(
            admin,
            DEFINE,
            code=steward,
            actions=["READ_TREE", "MANAGE_ROLES"],
            includes=None,
            at="64",
        )
        data_of(admin, GRANT, subject=steward, role=steward, code="64")
        token = data_of(
            admin, "mutation($s: String!) { createToken(subject: $s) { token } }", s=steward
        )["createToken"]["token"]
        county_admin = issue_token(url, unique("county-admin"), "admin", "640104")
    with client_for(url, token) as limited:
        # Holds roles:manage at 64 but not values:read: cannot hand it out, even by inclusion.
        assert code_of(define(limited, unique("r"), ["READ_VALUES"])) == "FORBIDDEN"
        assert code_of(define(limited, unique("r"), [], includes=["viewer"])) == "FORBIDDEN"
        mine = unique("tree_only")
        assert "errors" not in define(limited, mine, ["READ_TREE"])
        widened = graphql(limited, UPDATE, code=mine, actions=["READ_TREE", "WRITE_VALUES"])
        assert code_of(widened) == "FORBIDDEN"
    with client_for(url, county_admin) as county:
        # Roles are defined at the top of a tree; a county is not one, nor is 64 theirs.
        assert code_of(define(county, unique("r"), ["READ_TREE"], at="640104")) in {
            "FORBIDDEN",
            "BAD_USER_INPUT",
        }
        assert code_of(define(county, unique("r"), ["READ_TREE"])) == "FORBIDDEN"
    with client_for(url, root) as admin:
        for builtin in ("viewer", "admin"):
            assert code_of(graphql(admin, UPDATE, code=builtin, actions=[])) == "FORBIDDEN"
            assert code_of(graphql(admin, RETIRE, code=builtin)) == "FORBIDDEN"
        looped = unique("loop")
        data_of(admin, DEFINE, code=looped, actions=["READ_TREE"], includes=None, at="64")
        outer = unique("outer")
        data_of(admin, DEFINE, code=outer, actions=[], includes=[looped], at="64")
        cycle = graphql(
            admin,
            "mutation($c: String!, $i: [String!]) { updateRole(code: $c, includes: $i, "
            'reason: "x") { code } }',
            c=looped,
            i=[outer],
        )
        assert code_of(cycle) == "BAD_USER_INPUT"
        assert code_of(define(admin, "Bad Code", ["READ_TREE"])) == "BAD_USER_INPUT"
        assert code_of(define(admin, looped, ["READ_TREE"])) == "CONFLICT"


def test_a_granted_role_is_not_retired_and_a_retired_one_is_not_granted(
    world: tuple[str, str],
) -> None:
    url, root = world
    code = unique("temp")
    holder = unique("holder")
    with client_for(url, root) as admin:
        data_of(admin, DEFINE, code=code, actions=["READ_TREE"], includes=None, at="64")
        data_of(admin, GRANT, subject=holder, role=code, code="6401")
        held = graphql(admin, RETIRE, code=code)
        assert code_of(held) == "CONFLICT" and "1 grant" in held["errors"][0]["message"]
        data_of(
            admin,
            "mutation($s: String!, $r: String!) { revokeRole(subject: $s, role: $r, "
            'jurisdiction: "6401", reason: "moved") { role } }',
            s=holder,
            r=code,
        )
        assert data_of(admin, RETIRE, code=code)["retireRole"]["retiredAt"]
        again = graphql(admin, GRANT, subject=holder, role=code, code="6401")
        assert code_of(again) == "NOT_FOUND"
        codes = [r["code"] for r in data_of(admin, "{ roles { code } }")["roles"]]
        assert code not in codes
        retired = data_of(admin, "{ roles(retired: true) { code retiredAt } }")["roles"]
        assert any(r["code"] == code and r["retiredAt"] for r in retired)
        audit = data_of(
            admin,
            "{ policyAudit(first: 5) { edges { node { action role source actor before after "
            "subject { name } } } } }",
        )["policyAudit"]["edges"]
        actions = [edge["node"]["action"] for edge in audit]
        assert actions[:3] == ["ROLE_RETIRE", "REVOKE", "GRANT"]
        retire = audit[0]["node"]
        assert retire["role"] == code and retire["source"] == "API" and retire["subject"] is None
        assert json.loads(retire["before"])["actions"] == ["tree:read"]
        assert json.loads(retire["after"])["retired"] is True


def test_a_role_defined_in_one_province_is_unknown_in_another(world: tuple[str, str]) -> None:
    """Ningxia's roles are granted only in Ningxia; elsewhere they answer as unknown."""
    url, root = world
    code = unique("local")
    with client_for(url, root) as admin:
        data_of(admin, DEFINE, code=code, actions=["READ_TREE"], includes=None, at="64")
    defined = quhua(
        "role",
        "define",
        "other_tree",
        "--name-zh",
        "外省",
        "--name-en",
        "Elsewhere",
        "--action",
        "READ_TREE",
        "--at",
        "64",
        url=url,
    )
    assert defined.exit_code == 0, defined.stdout
    listed = quhua("role", "list", url=url)
    assert code in listed.stdout and "other_tree" in listed.stdout
    retired = quhua("role", "retire", "other_tree", "--reason", "test", url=url)
    assert retired.exit_code == 0, retired.stdout
    refused = quhua("role", "retire", "viewer", url=url)
    assert refused.exit_code != 0 and "built in" in refused.stdout + refused.stderr


def test_shrinking_a_role_reaches_another_server_within_a_second(
    world: tuple[str, str],
) -> None:
    url, root = world
    code = unique("shrinking")
    holder = unique("reader")
    with client_for(url, root) as admin:
        data_of(admin, DEFINE, code=code, actions=INSPECTOR_ACTIONS, includes=None, at="64")
        data_of(admin, GRANT, subject=holder, role=code, code="6401")
    token = quhua("token", "create", "--subject", holder, "--expires", "1d", url=url).stdout.strip()
    with running_server(url) as second:
        assert "errors" not in post(second, token, READS).json()
        with client_for(url, root) as admin:
            data_of(admin, UPDATE, code=code, actions=["READ_TREE", "READ_AGGREGATES"])

        def refused() -> bool:
            errors = post(second, token, READS).json().get("errors", [])
            return bool(errors) and errors[0]["extensions"]["code"] == "FORBIDDEN"

        assert seconds_until(refused) < 1.0


def test_a_role_manager_takes_away_only_what_they_hold(world: tuple[str, str]) -> None:
    """Shrinking or retiring a role hands nothing out, but takes from its holders what the
    author may not grant either: refused, like a revocation would be."""
    url, root = world
    steward, held, spare = unique("steward"), unique("held"), unique("spare")
    with client_for(url, root) as admin:
        data_of(
            admin,
            DEFINE,
            code=steward,
            actions=["READ_TREE", "MANAGE_ROLES"],
            includes=None,
            at="64",
        )
        data_of(admin, DEFINE, code=held, actions=INSPECTOR_ACTIONS, includes=None, at="64")
        data_of(admin, DEFINE, code=spare, actions=["WRITE_VALUES"], includes=None, at="64")
        data_of(admin, GRANT, subject=unique("holder"), role=held, code="6401")
        data_of(admin, GRANT, subject=steward, role=steward, code="64")
        token = data_of(
            admin, "mutation($s: String!) { createToken(subject: $s) { token } }", s=steward
        )["createToken"]["token"]
    with client_for(url, token) as limited:
        assert code_of(graphql(limited, UPDATE, code=held, actions=["READ_TREE"])) == "FORBIDDEN"
        assert code_of(graphql(limited, RETIRE, code=spare)) == "FORBIDDEN"


def test_the_audit_keeps_the_role_as_it_was(world: tuple[str, str]) -> None:
    url, root = world
    code = unique("renamed")
    with client_for(url, root) as admin:
        data_of(admin, DEFINE, code=code, actions=["READ_TREE"], includes=None, at="64")
        data_of(
            admin,
            'mutation($c: String!) { updateRole(code: $c, nameZh: "新", nameEn: "New", '
            'actions: [READ_TREE, READ_VALUES], reason: "wider") { code } }',
            c=code,
        )
        [edge] = data_of(admin, "{ policyAudit(first: 1) { edges { node { before after } } } }")[
            "policyAudit"
        ]["edges"]
    before, after = json.loads(edge["node"]["before"]), json.loads(edge["node"]["after"])
    assert (before["nameZh"], before["actions"]) == ("督查员", ["tree:read"])
    assert (after["nameZh"], after["actions"]) == ("新", ["tree:read", "values:read"])


def test_roles_the_operator_defines_everywhere_are_in_the_audit(world: tuple[str, str]) -> None:
    url, root = world
    code = unique("everywhere")
    defined = quhua(
        "role",
        "define",
        code,
        "--name-zh",
        "全国",
        "--name-en",
        "Everywhere",
        "--action",
        "READ_TREE",
        url=url,
    )
    assert defined.exit_code == 0, defined.stdout
    with client_for(url, root) as admin:
        [edge] = data_of(
            admin,
            "{ policyAudit(first: 1) { edges { node { action role source jurisdiction "
            "{ code } } } } }",
        )["policyAudit"]["edges"]
    assert edge["node"] == {
        "action": "ROLE_DEFINE",
        "role": code,
        "source": "CLI",
        "jurisdiction": None,
    }


def test_inclusions_are_bounded(world: tuple[str, str]) -> None:
    url, root = world
    with client_for(url, root) as admin:
        many = define(admin, unique("many"), [], includes=[f"r{i}_x" for i in range(30)])
        assert code_of(many) == "BAD_USER_INPUT"
        repeated = define(admin, unique("twice"), [], includes=["viewer", "viewer"])
        assert repeated["data"]["defineRole"]["includes"] == ["viewer"]
        below = "viewer"
        for depth in range(9):
            code = unique(f"chain{depth}")
            answer = define(admin, code, [], includes=[below])
            if depth < 8:
                assert answer["data"]["defineRole"]["effectiveActions"], answer
                below = code
        assert code_of(answer) == "BAD_USER_INPUT"
