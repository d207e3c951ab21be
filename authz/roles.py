"""Roles, and the actions requests ask Casbin about: a kind of object and a verb."""

from __future__ import annotations

from enum import Enum, StrEnum


class Role(StrEnum):
    """The built-in roles. Administrators define more as data (authz.role_definitions)."""

    VIEWER = "viewer"
    REPORTER = "reporter"
    APPROVER = "approver"
    ADMIN = "admin"
    AGGREGATE_READER = "aggregate_reader"


class Action(Enum):
    """What a request wants to do, as Casbin's (object, act) pair."""

    READ_TREE = ("tree", "read")
    READ_VALUES = ("values", "read")
    WRITE_VALUES = ("values", "write")
    READ_AGGREGATES = ("aggregates", "read")
    READ_INDICATORS = ("indicators", "read")
    READ_TARGETS = ("targets", "read")
    WRITE_TARGETS = ("targets", "write")
    READ_ASSESSMENTS = ("assessments", "read")
    READ_AUDIT = ("audit", "read")
    APPROVE = ("approvals", "write")
    MANAGE_GRANTS = ("grants", "manage")
    MANAGE_TOKENS = ("tokens", "manage")
    WRITE_CATALOGUE = ("catalogue", "write")
    MANAGE_ROLES = ("roles", "manage")

    @property
    def obj(self) -> str:
        return self.value[0]

    @property
    def act(self) -> str:
        return self.value[1]

    @property
    def label(self) -> str:
        """As messages and the audit show it: `values:read`."""
        return f"{self.obj}:{self.act}"


ACTION_BY_PAIR = {action.value: action for action in Action}


# The default role policy, seeded by the migrations into casbin_rules: what each role may do
# at the jurisdiction where it is granted ("*": at any), and which roles include others.
DEFAULT_PERMISSIONS: dict[Role, tuple[Action, ...]] = {
    Role.AGGREGATE_READER: (Action.READ_TREE, Action.READ_AGGREGATES, Action.READ_INDICATORS),
    Role.VIEWER: (
        Action.READ_TREE,
        Action.READ_VALUES,
        Action.READ_AGGREGATES,
        Action.READ_INDICATORS,
        Action.READ_TARGETS,
        Action.READ_ASSESSMENTS,
        Action.READ_AUDIT,
    ),
    Role.REPORTER: (Action.WRITE_VALUES,),
    Role.APPROVER: (Action.APPROVE,),
    Role.ADMIN: (
        Action.MANAGE_GRANTS,
        Action.MANAGE_TOKENS,
        Action.WRITE_TARGETS,
        Action.WRITE_CATALOGUE,
        Action.MANAGE_ROLES,
    ),
}
DEFAULT_INHERITANCE: tuple[tuple[Role, Role], ...] = (
    (Role.REPORTER, Role.VIEWER),
    (Role.APPROVER, Role.REPORTER),
    (Role.ADMIN, Role.APPROVER),
)
