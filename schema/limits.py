"""The schema's extensions: the operation's telemetry, limits on what one request may ask
(built once, so that the validation cache stays warm), caches, and transactions for
mutations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from graphql import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule

from schema.cost import QueryCostLimit
from schema.telemetry import OperationTelemetry
from schema.text_rules import NoNulCharacter
from schema.transactions import WritingTransaction

MAX_DEPTH = 12
MAX_ALIASES = 50
MAX_TOKENS = 5000
CACHE_SIZE = 512
MAX_BATCH = 10

# The same rule classes on every request: the validation cache keys on them.
VALIDATION_RULES: list[type[ASTValidationRule]] = [
    max_depth_rule(MAX_DEPTH, None),
    max_aliases_rule(MAX_ALIASES),
    NoNulCharacter,
]
# The same again with introspection refused: a second list built once keeps the cache's
# keys to two, whichever servers of the process allow introspection.
_OPEN = tuple(VALIDATION_RULES)
_CLOSED = (*VALIDATION_RULES, NoSchemaIntrospectionCustomRule)
_introspection: ContextVar[bool] = ContextVar("quhua.introspection", default=True)


@contextmanager
def introspection(allowed: bool) -> Iterator[None]:
    """Within the block, the operations run answer __schema and __type, or refuse them."""
    token = _introspection.set(allowed)
    try:
        yield
    finally:
        _introspection.reset(token)


class LimitRules(SchemaExtension):
    """The validation rules above, introspection's refusal added when it is off."""

    def on_operation(self) -> Iterator[None]:
        rules = _OPEN if _introspection.get() else _CLOSED
        self.execution_context.validation_rules = self.execution_context.validation_rules + rules
        yield


def extensions() -> list[Callable[[], SchemaExtension]]:
    """Factories of the schema's extensions: a fresh instance for each request."""
    return [
        # Outermost: its span covers the others' work.
        OperationTelemetry,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        LimitRules,
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        # Priced before a mutation takes the write lock: a refused one never waits for it.
        QueryCostLimit,
        WritingTransaction,
    ]
