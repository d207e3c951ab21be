"""An independent model of who may see what, for checking the server against.

It knows the role policy as the issue states it, not as Casbin stores it, and walks the tree
with plain Python over the CSV of Ningxia: nothing here shares code with authz.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from quhua.demo import shipped_data
from tests.databases import NINGXIA

LEVELS = ("province", "city", "county", "township", "village")
READ_TREE = {"viewer", "reporter", "approver", "admin", "aggregate_reader"}
PERMISSIONS = {
    "aggregate_reader": {"tree:read", "aggregates:read", "indicators:read"},
    "viewer": {
        "tree:read",
        "values:read",
        "aggregates:read",
        "indicators:read",
        "targets:read",
        "assessments:read",
        "audit:read",
    },
}
PERMISSIONS["reporter"] = PERMISSIONS["viewer"] | {"values:write"}
PERMISSIONS["approver"] = PERMISSIONS["reporter"] | {"approvals:write"}
PERMISSIONS["admin"] = PERMISSIONS["approver"] | {
    "grants:manage",
    "tokens:manage",
    "targets:write",
    "catalogue:write",
    "roles:manage",
}


Rule = tuple[str, str, str, str | None, str | None]  # role, ptype, v1, v2, v3


def role_permissions(rules: set[Rule], role: str, depth: int = 0) -> set[str]:
    """What a role permits: built-in roles as stated above, defined ones by their rules
    (`p` rows permit, `g` rows include), followed by hand."""
    if role in PERMISSIONS:
        return PERMISSIONS[role]
    held = {f"{v2}:{v3}" for r, ptype, _, v2, v3 in rules if r == role and ptype == "p"}
    if depth < 10:
        for r, ptype, included, _, _ in rules:
            if r == role and ptype == "g":
                held |= role_permissions(rules, included, depth + 1)
    return held


@dataclass(frozen=True)
class Tree:
    parent: dict[str, str | None]
    level: dict[str, str]

    @classmethod
    def ningxia(cls) -> Tree:
        with shipped_data(NINGXIA).open(encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        return cls(
            parent={r["code"]: r["parent_code"] or None for r in rows},
            level={r["code"]: r["level"] for r in rows},
        )

    def ancestors(self, code: str) -> list[str]:
        found = []
        up = self.parent[code]
        while up is not None:
            found.append(up)
            up = self.parent[up]
        return found

    def is_within(self, code: str, root: str) -> bool:
        return code == root or root in self.ancestors(code)


@dataclass
class Caller:
    grants: list[tuple[str, str]]  # (role, code)
    tree: Tree
    # What each role permits; the built-in policy unless the test read defined roles too.
    permissions: dict[str, set[str]] = field(default_factory=lambda: PERMISSIONS)
    _visible: set[str] | None = field(default=None, repr=False)

    def roots(self, permission: str) -> list[str]:
        return [code for role, code in self.grants if permission in self.permissions[role]]

    def in_scope(self, code: str, permission: str) -> bool:
        return any(self.tree.is_within(code, root) for root in self.roots(permission))

    def visible(self) -> set[str]:
        if self._visible is None:
            roots = self.roots("tree:read")
            seen = {c for c in self.tree.parent if any(self.tree.is_within(c, r) for r in roots)}
            for root in roots:
                seen.update(self.tree.ancestors(root))
            self._visible = seen
        return self._visible

    def strictly_below(self, code: str, permission: str) -> bool:
        """Whether the unit lies below (never at) one of the units granting the permission."""
        return any(
            code != root and self.tree.is_within(code, root) for root in self.roots(permission)
        )

    def holds_at(self, code: str) -> set[str]:
        held: set[str] = set()
        for role, root in self.grants:
            if self.tree.is_within(code, root):
                held |= self.permissions[role]
        return held
