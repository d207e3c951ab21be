"""The schema's extensions: the operation's telemetry, limits on what one request may ask
(built once, so that the validation cache stays warm), caches, and transactions for
mutations."""

from __future__ import annotations

from collections.abc import Callable

from graphql import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
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


def extensions() -> list[Callable[[], SchemaExtension]]:
    """Factories of the schema's extensions: a fresh instance for each request."""
    return [
        # Outermost: its span covers the others' work.
        OperationTelemetry,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(VALIDATION_RULES),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        # Priced before a mutation takes the write lock: a refused one never waits for it.
        QueryCostLimit,
        WritingTransaction,
    ]
