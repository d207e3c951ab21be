"""The schema: each domain's Query (and later Mutation) combined, nothing more."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.access.mutation import AccessMutation
from schema.access.query import AccessQuery
from schema.catalogue.query import CatalogueQuery
from schema.errors import log_unexpected, settle_in_place
from schema.feed.query import FeedQuery
from schema.feed.subscription import Subscription
from schema.jurisdictions.query import JurisdictionQuery
from schema.limits import MAX_BATCH, extensions
from schema.quality.query import QualityQuery
from schema.reporting.mutation import ReportingMutation
from schema.reporting.query import ReportingQuery
from schema.rollups.query import RollupQuery
from schema.scalars import SCALARS
from schema.targets.mutation import TargetsMutation
from schema.targets.query import TargetsQuery
from schema.validation.query import ValidationQuery
from schema.values.mutation import ValuesMutation

Query = merge_types(
    "Query",
    (
        JurisdictionQuery,
        AccessQuery,
        CatalogueQuery,
        RollupQuery,
        QualityQuery,
        ReportingQuery,
        TargetsQuery,
        ValidationQuery,
        FeedQuery,
    ),
)
Mutation = merge_types(
    "Mutation", (AccessMutation, ValuesMutation, ReportingMutation, TargetsMutation)
)


class QuhuaSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors)
        settle_in_place(errors)


schema = QuhuaSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=extensions(),
    # A list of operations in one POST runs in one transaction: all commit or none.
    # Every DateTime the schema returns carries its offset, whatever the database hands back.
    config=StrawberryConfig(batching_config={"max_operations": MAX_BATCH}, scalar_map=SCALARS),
)


def schema_sdl() -> str:
    """The schema in SDL, as checked in at schema.graphql."""
    return schema.as_str() + "\n"
