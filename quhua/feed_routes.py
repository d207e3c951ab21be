"""`GET /export/changes`: a page of the change feed over plain HTTP.

The endpoint runs the GraphQL field `changes` itself, in-process, with the caller's context
from the HTTP door (quhua.http_door): the same checks, scope and answer (`changes`,
`resets`, `endCursor`, `hasMore`), and a refusal as GraphQL's error body with its status.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.errors import BadUserInput, shown
from quhua.http_door import HttpDoor
from resolvers.context import Context
from schema.root import schema

PAGE = """query($under: String!, $level: Level!, $periodType: PeriodType!, $after: String,
  $first: Int, $elements: [String!], $indicators: [String!]) {
  changes(under: $under, level: $level, periodType: $periodType, after: $after, first: $first,
          elements: $elements, indicators: $indicators) {
    changes { unit unitName level period kind code value numerator denominator
              reportingUnits expectedUnits nullReason cursor }
    resets { sequence at reason }
    endCursor hasMore } }"""
_DIGITS = re.compile(r"[0-9]{1,6}")
PARAMETERS = ("under", "level", "period_type", "after", "first", "elements", "indicators")


def _one(params: QueryParams, name: str) -> str | None:
    given = params.getlist(name)
    if len(given) > 1:
        raise BadUserInput(f"{name}: given more than once")
    return given[0].strip() if given and given[0].strip() else None


def _codes(text: str | None) -> list[str] | None:
    return [code.strip() for code in text.split(",") if code.strip()] if text else None


def _variables(params: QueryParams) -> dict[str, Any]:
    for name in params:
        if name not in PARAMETERS:
            known = ", ".join(PARAMETERS)
            raise BadUserInput(f"{shown(name)} is not a parameter of the change feed ({known})")
    first = _one(params, "first")
    if first is not None and not _DIGITS.fullmatch(first):
        raise BadUserInput(f"first: {shown(first)} is not a whole number")
    return {
        "under": _one(params, "under"),
        "level": (_one(params, "level") or "").upper() or None,
        "periodType": (_one(params, "period_type") or "month").upper(),
        "after": _one(params, "after"),
        "first": int(first) if first is not None else None,
        "elements": _codes(_one(params, "elements")),
        "indicators": _codes(_one(params, "indicators")),
    }


async def export_changes(request: Request, context: Context) -> Response:
    result = await schema.execute(
        PAGE, variable_values=_variables(request.query_params), context_value=context
    )
    if result.errors:
        error = result.errors[0]
        if error.path is None:
            # Before the field ran: a variable of the wrong kind (an unknown level, no code).
            raise BadUserInput(error.message)
        # The field's: ours (a QuhuaError, with its status), or unexpected (a 500, logged).
        raise error.original_error or BadUserInput(error.message)
    assert result.data is not None
    return JSONResponse(result.data["changes"], headers={"Cache-Control": "no-store"})


def feed_routes(door: HttpDoor) -> list[Route]:
    return [Route("/export/changes", door(export_changes), methods=["GET"])]
