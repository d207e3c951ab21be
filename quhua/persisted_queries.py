"""Automatic persisted queries (the Apollo protocol, version 1) and allow-list mode.

A client sends `extensions.persistedQuery = {"version": 1, "sha256Hash": …}`, first
without the query: the server answers PersistedQueryNotFound (404, code
PERSISTED_QUERY_NOT_FOUND, never cached) when it does not hold the hash, and the client
sends the query again with the hash, which the server checks and remembers. GET works the
same way, so a CDN can cache queries by their short URL.

In allow-list mode the registered operations (quhua/allow_list.py) are the only store: a
hash or a document not among them is refused, and nothing a caller sends is remembered.
An unlisted introspection query runs there only if introspection is on.

The messages PersistedQueryNotFound and the codes are what Apollo Client, urql and Apollo
Router match; the statuses follow Apollo Router (404 not found, 403 not in the list).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from graphql import FieldNode, GraphQLError, OperationDefinitionNode
from starlette.responses import JSONResponse
from strawberry.extensions import ParserCache
from strawberry.http import GraphQLRequestData

from core.errors import ErrorCode
from quhua.allow_list import document_hash, is_hash, load_allow_list
from quhua.request_checks import echo
from quhua.settings import Settings
from schema.limits import CACHE_SIZE, MAX_TOKENS
from schema.root import schema

NOT_FOUND = "PersistedQueryNotFound"
VERSION = 1
# A miss must not be cached: the same URL answers once the client has sent the query.
_NOT_CACHED = {"Cache-Control": "private, no-cache, must-revalidate"}
_INTROSPECTION = frozenset({"__schema", "__type", "__typename"})
# The schema's parser cache (see quhua/request_checks.py): parsed once for both.
_parse = ParserCache(maxsize=CACHE_SIZE).cached_parse_document


class PersistedQueryRefused(Exception):
    """A request refused for its persisted query: answered with `status` and `code`."""

    def __init__(self, message: str, *, code: ErrorCode, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def response(self) -> JSONResponse:
        body = {"errors": [{"message": self.message, "extensions": {"code": self.code.value}}]}
        return JSONResponse(body, status_code=self.status, headers=_NOT_CACHED)


def persisted_queries(settings: Settings) -> PersistedQueries:
    """The persisted queries of the settings: the allow-list read and checked (ValueError
    naming what is wrong in it), or an empty cache."""
    path = settings.allowed_operations
    return PersistedQueries(
        cache_size=settings.persisted_query_cache_size,
        allowed=None if path is None else load_allow_list(path, schema._schema),
        introspection=settings.introspection_on,
    )


class PersistedQueries:
    """Per process: the queries remembered by hash (at most `cache_size`, least recently
    used dropped), or the allow-list's operations when `allowed` is given."""

    def __init__(
        self, *, cache_size: int, allowed: Mapping[str, str] | None, introspection: bool
    ) -> None:
        self.cache_size = cache_size
        self.allowed = allowed
        self.introspection = introspection
        self._cache: OrderedDict[str, str] = OrderedDict()

    def resolve(self, data: object) -> object:
        """The request's decoded data, each persisted query's `query` filled in from its
        hash, or checked against it and remembered. Data of other shapes is left as it is,
        for quhua.request_checks to refuse."""
        if isinstance(data, list):
            return [
                self._resolve(item, f"Operation {number} of the batch: ")
                for number, item in enumerate(data, 1)
            ]
        return self._resolve(data, "")

    def admit(self, operations: GraphQLRequestData | list[GraphQLRequestData]) -> None:
        """In allow-list mode, refuse a request holding an operation not registered."""
        if self.allowed is None:
            return
        batch = operations if isinstance(operations, list) else [operations]
        for number, operation in enumerate(batch, 1):
            query = operation.query or ""
            if document_hash(query) in self.allowed:
                continue
            if self.introspection and _introspection_only(query):
                continue
            where = f"Operation {number} of the batch: t" if len(batch) > 1 else "T"
            raise PersistedQueryRefused(
                f"{where}his server runs registered operations only, and this one is not "
                "registered: ask its operator to add it to the allow-list",
                code=ErrorCode.PERSISTED_QUERY_NOT_IN_LIST,
                status=403,
            )

    def _resolve(self, item: object, where: str) -> object:
        if not isinstance(item, dict):
            return item
        extensions = item.get("extensions")
        if not isinstance(extensions, dict) or "persistedQuery" not in extensions:
            return item
        wanted = _hash_of(extensions["persistedQuery"], where)
        query = item.get("query")
        if query is None or query == "":
            known = self._known(wanted)
            if known is None:
                raise PersistedQueryRefused(
                    NOT_FOUND, code=ErrorCode.PERSISTED_QUERY_NOT_FOUND, status=404
                )
            return {**item, "query": known}
        if isinstance(query, str):
            actual = document_hash(query)
            if actual != wanted:
                raise _bad(
                    where,
                    f"the persistedQuery's sha256Hash {wanted} is not the SHA-256 of the "
                    f"query sent ({actual}): hash the query's UTF-8 text exactly as sent",
                )
            self._remember(wanted, query)
        return item

    def _known(self, wanted: str) -> str | None:
        if self.allowed is not None:
            return self.allowed.get(wanted)
        query = self._cache.get(wanted)
        if query is not None:
            self._cache.move_to_end(wanted)
        return query

    def _remember(self, key: str, query: str) -> None:
        if self.allowed is not None:
            # Admitted (or refused) by `admit`: callers add nothing to an allow-list.
            return
        self._cache[key] = query
        self._cache.move_to_end(key)
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)


def _hash_of(persisted: object, where: str) -> str:
    if not isinstance(persisted, dict):
        raise _bad(where, "extensions.persistedQuery must be an object with a sha256Hash")
    version = persisted.get("version")
    if version != VERSION or isinstance(version, bool):
        raise _bad(
            where,
            f"persisted query version {echo(str(version))} is not supported: send version 1",
        )
    wanted = persisted.get("sha256Hash")
    if not isinstance(wanted, str) or not is_hash(wanted.lower()):
        shown = echo(wanted) if isinstance(wanted, str) else "none"
        raise _bad(
            where,
            f"extensions.persistedQuery.sha256Hash must be a SHA-256 in hex (64 digits), "
            f"not {shown}",
        )
    return wanted.lower()


def _bad(where: str, what: str) -> PersistedQueryRefused:
    message = f"{where}{what}" if where else what[0].upper() + what[1:]
    return PersistedQueryRefused(message, code=ErrorCode.BAD_REQUEST, status=400)


def _introspection_only(query: str) -> bool:
    """Whether every operation of the document asks for nothing but the schema's own
    description (top-level __schema, __type, __typename fields)."""
    try:
        document = _parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return bool(operations) and all(
        isinstance(selection, FieldNode) and selection.name.value in _INTROSPECTION
        for operation in operations
        for selection in operation.selection_set.selections
    )
