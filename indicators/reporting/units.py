"""The unit and month an act of the monthly cycle names, checked against the caller."""

from __future__ import annotations

from core.db.session import RequestSession
from core.errors import BadUserInput, Forbidden, NotFound, shown
from indicators.catalogue_index import CatalogueIndex
from indicators.periods import PeriodError, PeriodType
from tenancy import repository
from tenancy.models import Jurisdiction
from tenancy.scope import Scope

TEXT_MAX_LENGTH = 1000


async def unit_argument(
    session: RequestSession, scope: Scope, code: str, *, what: str
) -> Jurisdiction:
    """The unit by code inside the scope: NOT_FOUND when no unit has the code, FORBIDDEN
    when it lies outside (the tree's codes are public)."""
    code = code.strip()
    found = (await repository.by_codes(session, scope, [code])).get(code)
    if found is not None and scope.contains(found.path):
        return found
    if found is not None or await repository.code_exists(session, code):
        raise Forbidden(f"unit: {code} is outside where you may {what}")
    raise NotFound(f"unit: no jurisdiction has code {shown(code)}")


def month_argument(index: CatalogueIndex, text: str) -> int:
    """The month index of a month written `2024-03`; reports are monthly."""
    try:
        period = index.period(text)
    except PeriodError as error:
        raise BadUserInput(f"period: {error}") from error
    if period.type is not PeriodType.MONTH:
        raise BadUserInput(f"period: reports and approvals are by month (2024-03), not {text}")
    return period.month_index


def optional_text(text: str, *, what: str) -> str:
    """A comment an act may carry (blank is fine), trimmed; refused when too long."""
    text = text.strip()
    if len(text) > TEXT_MAX_LENGTH:
        raise BadUserInput(f"{what}: at most {TEXT_MAX_LENGTH} characters")
    return text


def months_argument(index: CatalogueIndex, text: str) -> list[int]:
    """The month indexes of any period (a month, quarter, year or statistical year)."""
    try:
        period = index.period(text)
    except PeriodError as error:
        raise BadUserInput(f"period: {error}") from error
    return [month.month_index for month in period.months()]
