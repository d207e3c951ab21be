"""Which GraphQL requests may run on a read replica, and whether one failed there.

Only a request whose every operation is a query reads from a replica: a batch holding a
mutation is one transaction on the primary, its queries included.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, OperationType, get_operation_ast
from sqlalchemy.exc import DBAPIError
from strawberry.extensions import ParserCache
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from schema.limits import CACHE_SIZE, MAX_TOKENS

# The schema's own parser cache (ParserCache instances of one size share it, keyed by the
# arguments the schema passes), so a document parsed here is not parsed again when it runs.
_parse = ParserCache(maxsize=CACHE_SIZE).cached_parse_document


def reads_only(request_data: GraphQLRequestData | list[GraphQLRequestData]) -> bool:
    """Whether every operation of the request is a query (not one that fails to parse)."""
    operations = request_data if isinstance(request_data, list) else [request_data]
    return all(_is_query(data) for data in operations)


def _is_query(data: GraphQLRequestData) -> bool:
    if data.query is None:
        return False
    try:
        document = _parse(data.query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return False
    operation = get_operation_ast(document, data.operation_name)
    return operation is not None and operation.operation is OperationType.QUERY


def database_failure(result: Any) -> DBAPIError | None:
    """The first database error in the answers of a request, if any."""
    results = result if isinstance(result, list) else [result]
    for answer in results:
        if not isinstance(answer, ExecutionResult):
            continue
        for error in answer.errors or []:
            if isinstance(error.original_error, DBAPIError):
                return error.original_error
    return None
