"""What an operation may cost: the nodes its answer can hold, counted before anything runs.

Modelled on GitHub's GraphQL node limit, from the document, the schema and the variables:
- every object the answer can hold counts one: an object field one for each parent object,
  a list of objects its length for each (aliases are fields of their own; fields of the same
  name merge, as GraphQL merges them; fragments count where they are spread);
- a list's length, from the field's arguments and type:
  - `first`, when the field takes it (at most a full page; a page when not given); on a
    connection or a grid (an object taking `first`) it is the length of the lists inside:
    the edges, a grid's rows;
  - the codes it asks for, when it takes lists of codes (`indicators(codes: [...])`; on a
    grid, `indicators` and `elements` are its columns); a page when it asks for all;
  - an enum's size, for a list of enum values; a few fields the types cannot bound say
    their own (ASSUMED below);
  - otherwise a page (resolvers/pagination.py's default page size);
- a grid's or a series' parallel lists of values (one per field, in row order) count their
  rows once for the object that holds them, whatever number of them are asked: the figures
  are computed once per cell;
- introspection counts nothing (it is bounded by the schema).

Aggregates and indicators are objects (`value`, `indicator`, each of `indicators`), so each
counts for each unit it is asked of: FIGURE_WEIGHT nodes on a unit, where it is computed for
that unit alone, one in a grid or a series, which compute a level's figures in one pass.
A request's operations (a batch) draw on one budget: each is refused, before it runs, when
it would take the request over the limit.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLList,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
)
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_directive_values,
    get_variable_values,
)
from graphql.language import DocumentNode
from strawberry.extensions import SchemaExtension

from core.errors import BadUserInput
from indicators.targets.store import MAX_TARGETS
from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from resolvers.rollups.series import MAX_PERIODS
from tenancy.levels import Level

# The nodes a request may ask for, unless the app's settings say otherwise
# (QUHUA_MAX_QUERY_COST): a tenth of GitHub's 500,000, since each node here may be a figure
# computed for a unit. The largest grid of the shipped catalogue (1,000 rows, 33 columns)
# costs 34,034; five `indicators` lists over 1,000 villages, 252,001.
MAX_QUERY_COST = 50_000
PAGE_ARGUMENT = "first"
# A figure asked of one unit (`value`, `indicator`, `indicators` on a Jurisdiction) costs
# about 2 ms; a grid's cell, about 20 µs (docs/benchmarks.md): asked unit by unit, each
# counts as 50 nodes, so that five `indicators` aliases over 1,000 villages are refused
# while a dashboard's few indicators for a unit's children are not.
FIGURE_WEIGHT = 50
ONE_BY_ONE = frozenset(
    {
        ("Jurisdiction", "value"),
        ("Jurisdiction", "indicator"),
        ("Jurisdiction", "indicators"),
        ("Jurisdiction", "assessment"),
    }
)
# Deeper than any document the depth limit lets through: only a fragment that spreads
# itself (which validation refuses first) could nest further.
MAX_NESTING = 64


@dataclass(frozen=True, slots=True)
class Page:
    """The lengths a connection or a grid hands to the lists inside it."""

    rows: int | None = None
    columns: int | None = None


@dataclass(frozen=True, slots=True)
class Assumed:
    """How long a list is, or what page an object opens, where the schema cannot tell.

    `size` gives a list's length from the field's arguments; `opens`, the page an object
    field hands to its lists.
    """

    size: Callable[[Mapping[str, Any]], int] | None = None
    opens: Page | None = None


def _per_element(arguments: Mapping[str, Any]) -> int:
    # Stored values come one per element, option combination and period asked: a page of
    # them for each element asked (a page of elements when all are).
    elements = arguments.get("elements")
    return DEFAULT_PAGE_SIZE * (len(elements) if elements is not None else DEFAULT_PAGE_SIZE)


ASSUMED: dict[tuple[str, str], Assumed] = {
    # One unit for each level above (a province has none).
    ("Jurisdiction", "ancestors"): Assumed(size=lambda _: len(Level) - 1),
    ("Jurisdiction", "values"): Assumed(size=_per_element),
    # The catalogue's own lists, read whole once per request and set by administrators, not
    # by the caller: an element has a few categories (the shipped catalogue: at most 2), a
    # category a few options (at most 6). A page each would price the catalogue at 127,551.
    ("DataElement", "categories"): Assumed(size=lambda _: 10),
    ("Category", "options"): Assumed(size=lambda _: 20),
    # A unit has at most MAX_TARGETS targets a year, and its assessment one result for each.
    ("Jurisdiction", "targets"): Assumed(size=lambda _: MAX_TARGETS),
    ("Assessment", "targets"): Assumed(size=lambda _: MAX_TARGETS),
    # One row for each period from `from` to `to`: at most MAX_PERIODS.
    ("Query", "series"): Assumed(opens=Page(rows=MAX_PERIODS)),
}


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the cost needs to know of a field, read from the schema once."""

    definition: GraphQLField
    is_list: bool
    # The type of its objects; None for scalars and enums.
    object_type: GraphQLObjectType | None
    enum_size: int | None
    pages: bool
    codes: tuple[str, ...]
    assumed: Assumed | None
    # Nodes each object of the field counts for itself.
    weight: int

    @property
    def sized_by_arguments(self) -> bool:
        return self.pages or bool(self.codes) or self.assumed is not None


def _shape(type_name: str, name: str, field: GraphQLField) -> _Shape:
    nullable = get_nullable_type(field.type)
    named = get_named_type(field.type)
    code_lists = tuple(
        argument
        for argument, definition in field.args.items()
        if isinstance(get_nullable_type(definition.type), GraphQLList)
        and isinstance(get_named_type(definition.type), GraphQLScalarType)
    )
    page = field.args.get(PAGE_ARGUMENT)
    return _Shape(
        definition=field,
        is_list=isinstance(nullable, GraphQLList),
        object_type=named if isinstance(named, GraphQLObjectType) else None,
        enum_size=len(named.values) if isinstance(named, GraphQLEnumType) else None,
        pages=page is not None and get_named_type(page.type).name == "Int",
        codes=code_lists,
        assumed=ASSUMED.get((type_name, name)),
        weight=FIGURE_WEIGHT if (type_name, name) in ONE_BY_ONE else 1,
    )


class CostModel:
    """The shapes of a schema's fields, for pricing its operations."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.shapes: dict[tuple[str, str], _Shape] = {
            (type_name, name): _shape(type_name, name, field)
            for type_name, kind in schema.type_map.items()
            if isinstance(kind, GraphQLObjectType) and not type_name.startswith("__")
            for name, field in kind.fields.items()
        }
        unknown = [key for key in [*ASSUMED, *ONE_BY_ONE] if key not in self.shapes]
        if unknown:
            raise ValueError(f"the cost assumes fields the schema does not have: {unknown}")

    def operation_cost(
        self,
        document: DocumentNode,
        operation_name: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> int:
        """The nodes the operation's answer can hold (0 for an operation that cannot run:
        its errors are execution's to report)."""
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is not None:
            operations = [o for o in operations if o.name and o.name.value == operation_name]
        if len(operations) != 1:
            return 0
        operation = operations[0]
        root = self._root(operation.operation)
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), dict(variables or {})
        )
        if root is None or not isinstance(coerced, VariableValues):
            return 0
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        return _Pricing(self, fragments, coerced).per_object(
            root, (operation.selection_set,), None, 0
        )

    def _root(self, kind: OperationType) -> GraphQLObjectType | None:
        if kind is OperationType.QUERY:
            return self.schema.query_type
        if kind is OperationType.MUTATION:
            return self.schema.mutation_type
        return self.schema.subscription_type


_Key = tuple[str, tuple[int, ...], Page | None]


class _Pricing:
    """One operation's pricing: each object's selection priced once, however often spread."""

    def __init__(
        self,
        model: CostModel,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
    ) -> None:
        self.model = model
        self.fragments = fragments
        self.variables = variables
        self.known: dict[_Key, int] = {}
        self.active: set[_Key] = set()

    def per_object(
        self,
        kind: GraphQLObjectType,
        selections: Sequence[SelectionSetNode],
        page: Page | None,
        depth: int,
    ) -> int:
        """The nodes below one object of this kind, for these (merged) selections."""
        key = (kind.name, tuple(id(s) for s in selections), page)
        if key in self.known:
            return self.known[key]
        if key in self.active or depth > MAX_NESTING:
            raise BadUserInput("the query nests without end: a fragment spreads itself")
        self.active.add(key)
        total = 0
        rows = 0
        for nodes in self._fields(selections).values():
            shape = self.model.shapes.get((kind.name, nodes[0].name.value))
            if shape is None:
                # Introspection: bounded by the schema.
                continue
            size, inner = self._size(shape, nodes[0], page)
            if shape.object_type is not None:
                below = [n.selection_set for n in nodes if n.selection_set is not None]
                each = self.per_object(shape.object_type, below, inner, depth + 1)
                total += size * (shape.weight + each)
            elif shape.is_list:
                rows = max(rows, size)
        self.active.discard(key)
        self.known[key] = total + rows
        return total + rows

    def _size(self, shape: _Shape, node: FieldNode, page: Page | None) -> tuple[int, Page | None]:
        """How many objects or values the field holds for one parent, and the page it opens
        for the lists inside."""
        arguments: dict[str, Any] = {}
        if shape.sized_by_arguments:
            try:
                arguments = get_argument_values(shape.definition, node, self.variables)
            except GraphQLError:
                # The field fails before its resolver runs: it answers nothing.
                return 0, None
        assumed = shape.assumed
        if assumed is not None and assumed.size is not None:
            return assumed.size(arguments), None
        if shape.is_list:
            return _length(shape, arguments, page)
        if assumed is not None and assumed.opens is not None:
            return 1, assumed.opens
        if shape.pages or shape.codes:
            return 1, Page(
                rows=_first(arguments) if shape.pages else None,
                columns=_codes(arguments, shape.codes) if shape.codes else None,
            )
        return 1, None

    def _fields(self, selections: Sequence[SelectionSetNode]) -> dict[str, list[FieldNode]]:
        """The fields of the selections by response key (aliases apart, repeats merged),
        fragments spread, skipped ones out.

        Fragments' type conditions are not looked at: every type of this schema is an
        object type, so a valid fragment applies wherever it is spread (for abstract types
        this would count every branch: more, never less).
        """
        fields: dict[str, list[FieldNode]] = {}
        spread: set[str] = set()
        pending = [s for selection_set in selections for s in selection_set.selections]
        while pending:
            selection = pending.pop(0)
            if not isinstance(
                selection, FieldNode | InlineFragmentNode | FragmentSpreadNode
            ) or not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                pending[:0] = selection.selection_set.selections
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                # Spread once per selection, as execution does: a cycle ends here.
                if fragment is not None and name not in spread:
                    spread.add(name)
                    pending[:0] = fragment.selection_set.selections
        return fields

    def _included(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> bool:
        if not node.directives:
            return True
        try:
            skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
            include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        except GraphQLError:
            return True
        return not (skip and skip.get("if")) and not (include and not include.get("if"))


def _length(
    shape: _Shape, arguments: Mapping[str, Any], page: Page | None
) -> tuple[int, Page | None]:
    """A list's length for one parent, and the page it hands on to its objects."""
    if shape.pages:
        return _first(arguments), None
    if shape.codes:
        return _codes(arguments, shape.codes), None
    if page is not None and page.columns is not None and shape.object_type is not None:
        # A grid's columns: each holds the grid's rows.
        return page.columns, Page(rows=page.rows)
    if page is not None and page.rows is not None:
        return page.rows, None
    if shape.enum_size is not None:
        return shape.enum_size, None
    return DEFAULT_PAGE_SIZE, None


def _first(arguments: Mapping[str, Any]) -> int:
    first = arguments.get(PAGE_ARGUMENT)
    if not isinstance(first, int):
        return DEFAULT_PAGE_SIZE
    # A page holds at most MAX_PAGE_SIZE: a larger one is refused by the field itself.
    return min(max(first, 0), MAX_PAGE_SIZE)


def _codes(arguments: Mapping[str, Any], names: Sequence[str]) -> int:
    given = [arguments[name] for name in names if arguments.get(name) is not None]
    if not given:
        return DEFAULT_PAGE_SIZE
    return sum(len(codes) for codes in given)


_MODELS: dict[int, CostModel] = {}


def cost_model(schema: GraphQLSchema) -> CostModel:
    """The schema's cost model, made once."""
    model = _MODELS.get(id(schema))
    if model is None or model.schema is not schema:
        model = _MODELS[id(schema)] = CostModel(schema)
    return model


@dataclass(slots=True)
class CostBudget:
    """The nodes one request may ask for, over all of its operations."""

    limit: int
    spent: int = 0
    operations: int = 0

    def charge(self, cost: int) -> None:
        """Count an operation about to run, or refuse it (BAD_USER_INPUT) over the limit."""
        total = self.spent + cost
        if total > self.limit:
            parts = f" (this operation {cost}, the batch's earlier ones {self.spent})"
            message = (
                f"query cost {total}{parts if self.operations else ''} exceeds the limit "
                f"{self.limit}: ask for fewer nodes (a smaller first, fewer codes or aliases), "
                "or use rollup for many units' figures"
            )
            raise GraphQLError(
                message,
                original_error=BadUserInput(message),
                extensions={"cost": total, "limit": self.limit},
            )
        self.spent = total
        self.operations += 1


_BUDGET: ContextVar[CostBudget | None] = ContextVar("quhua_query_cost_budget", default=None)


@contextmanager
def cost_budget(limit: int) -> Iterator[CostBudget]:
    """Within this block (one request), every operation draws on one budget of `limit`."""
    budget = CostBudget(limit)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def current_budget(default_limit: int) -> CostBudget:
    """The request's budget; outside a request, a budget for one operation."""
    return _BUDGET.get() or CostBudget(default_limit)


# Operations priced lately: an operation's cost depends only on its document, name and
# variables, and the same few operations come again and again.
COST_CACHE_SIZE = 512
_SCALARS = (int, float, bool, type(None))
# Longer strings are priced each time: a key of them would hold up to the body's size.
SHORT_TEXT = 256
# An entry holds its model and document, so that no other takes their ids while it is here.
_COSTS: OrderedDict[
    tuple[int, int, str | None, tuple[tuple[str, Any], ...]], tuple[object, object, int]
] = OrderedDict()


def _variables_key(variables: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...] | None:
    """A key for a few scalar variables; None for others (priced anew each time)."""
    if not variables:
        return ()
    if len(variables) > 8 or not all(
        isinstance(v, _SCALARS) or (isinstance(v, str) and len(v) <= SHORT_TEXT)
        for v in variables.values()
    ):
        return None
    return tuple(sorted((name, (type(v).__name__, v)) for name, v in variables.items()))


def priced(
    model: CostModel,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The operation's cost, from the cache when it was priced lately."""
    given = _variables_key(variables)
    if given is None:
        return model.operation_cost(document, operation_name, variables)
    key = (id(model), id(document), operation_name, given)
    entry = _COSTS.get(key)
    if entry is not None and entry[0] is model and entry[1] is document:
        _COSTS.move_to_end(key)
        return entry[2]
    cost = model.operation_cost(document, operation_name, variables)
    _COSTS[key] = (model, document, cost)
    if len(_COSTS) > COST_CACHE_SIZE:
        _COSTS.popitem(last=False)
    return cost


class QueryCostLimit(SchemaExtension):
    """Refuses an operation, before it runs, whose answer could hold more nodes than its
    request may still ask for."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.graphql_document is not None:
            model = cost_model(execution.schema._schema)
            cost = priced(
                model, execution.graphql_document, execution.operation_name, execution.variables
            )
            current_budget(MAX_QUERY_COST).charge(cost)
        yield
