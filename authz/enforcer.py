"""Casbin, holding only the role policy: what each role may do, and at which jurisdictions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import casbin

from authz.roles import Action, Role

MODEL = Path(__file__).with_name("model.conf")
ANY = "*"


class RolePolicy:
    """Decisions on (role, jurisdiction code, action), asked of Casbin once and remembered.

    The policy is a few dozen rules, so decisions are few; the memo is dropped with the
    policy when the policy version moves.
    """

    def __init__(self, rules: Iterable[Sequence[str | None]]) -> None:
        self._enforcer = casbin.Enforcer(str(MODEL))
        permissions: list[list[str]] = []
        includes: list[list[str]] = []
        for ptype, *values in rules:
            kept = [value for value in values if value is not None]
            if ptype == "p":
                permissions.append(kept)
            elif ptype == "g":
                includes.append(kept)
        if permissions:
            self._enforcer.add_named_policies("p", permissions)
        if includes:
            self._enforcer.add_named_grouping_policies("g", includes)
        # Jurisdictions named by a rule of their own; any other code decides like "".
        self._domains = frozenset(rule[1] for rule in permissions if rule[1] != ANY)
        self._memo: dict[tuple[str, str, Action], bool] = {}

    def allows(self, role: Role | str, code: str, action: Action) -> bool:
        """Whether the role, held at the jurisdiction with this code, permits the action."""
        # Keyed by the code only where a rule names it, so the memo stays as small as the
        # policy however many jurisdictions callers hold grants at.
        domain = code if code in self._domains else ""
        key = (str(role), domain, action)
        decision = self._memo.get(key)
        if decision is None:
            decision = bool(self._enforcer.enforce(str(role), domain, action.obj, action.act))
            self._memo[key] = decision
        return decision

    def permissions(self, role: Role | str, code: str) -> frozenset[Action]:
        """Every action the role permits at the jurisdiction."""
        return frozenset(action for action in Action if self.allows(role, code, action))
