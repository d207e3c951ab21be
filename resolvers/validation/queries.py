"""Reading stored validation violations: parse arguments, check access, ask the domain."""

from __future__ import annotations

from authz.roles import Action
from core.errors import BadUserInput, NotFound, shown
from indicators.validation import listing
from indicators.validation.refresh import Violation
from indicators.validation.rules import Importance, RuleInfo
from resolvers.context import Context
from resolvers.jurisdictions.queries import visible_unit
from resolvers.pagination import Page, decode_id_cursor, id_cursor, make_page, page_size
from resolvers.periods import period_argument
from tenancy.models import Jurisdiction

# Violations are checks of raw values: reading them needs what reading the values needs.
ACTION = Action.READ_VALUES


def chosen_rules(
    rules: list[RuleInfo], *, importance: Importance | None, rule: str | None
) -> list[RuleInfo]:
    """The rules asked for; BAD_USER_INPUT naming an unknown rule."""
    if rule is not None:
        code = rule.strip()
        if code not in {r.code for r in rules}:
            known = ", ".join(r.code for r in rules) or "none"
            raise BadUserInput(f"rule: no validation rule has code {shown(rule)} (known: {known})")
        rules = [r for r in rules if r.code == code]
    if importance is not None:
        rules = [r for r in rules if r.importance is importance]
    return rules


async def validation_violations(
    context: Context,
    *,
    under: str,
    period: str,
    importance: Importance | None,
    rule: str | None,
    include_resolved: bool,
    first: int | None,
    after: str | None,
) -> Page[tuple[Violation, Jurisdiction]]:
    """The violations stored for the subtree whose period lies inside the asked one."""
    root = await visible_unit(context, under, argument="under")
    if root is None:
        raise NotFound(f"under: no jurisdiction has code {shown(under)}")
    context.require(ACTION, root)
    index = await context.catalogue()
    asked = period_argument(index, period)
    limit = page_size(first)
    after_id = decode_id_cursor(after)
    rules = await listing.stored_rules(context.session, index)
    rules = chosen_rules(rules, importance=importance, rule=rule)
    scope = context.scope(ACTION)
    found = await listing.violations(
        context.session,
        scope,
        root_path=root.path,
        period=asked,
        rules=rules,
        include_resolved=include_resolved,
        after_id=after_id,
        limit=limit + 1,
    )

    async def total() -> int:
        return await listing.violations_count(
            context.session,
            scope,
            root_path=root.path,
            period=asked,
            rules=rules,
            include_resolved=include_resolved,
        )

    return make_page(
        found, limit=limit, cursor_of=lambda row: id_cursor(row[0].id), after=after_id, total=total
    )
