"""What every resolver of one request shares: its session, its caller and its DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TypeVar, cast

from authz.principal import Principal
from authz.roles import Action
from authz.scope import scope_for
from core.db.session import RequestSession
from core.errors import Forbidden
from indicators.catalogue_index import CatalogueIndex, catalogue_index
from resolvers.feed.slots import SubscriptionSlots
from resolvers.jurisdictions.loaders import JurisdictionLoaders
from tenancy.models import Jurisdiction
from tenancy.scope import Scope

L = TypeVar("L")


@dataclass(slots=True)
class Context:
    """Built fresh for each request: loaders cache per request, never across callers."""

    session: RequestSession
    principal: Principal | None
    # A subscription's connection_init payload (graphql-transport-ws), where a browser,
    # which cannot set headers on a WebSocket, sends its token.
    connection_params: dict[str, object] | None = None
    # Over a WebSocket: only subscriptions run, and each of their pages works in a context
    # of its own (a fresh session, the caller authenticated again, so that a revoked token
    # stops there), which this opens.
    socket: bool = False
    authorization: str | None = None
    page_context: Callable[[], AbstractAsyncContextManager[Context]] | None = field(
        default=None, repr=False
    )
    # Over a WebSocket: the process's count of each caller's running subscriptions.
    subscription_slots: SubscriptionSlots | None = field(default=None, repr=False)
    _tree: JurisdictionLoaders | None = field(default=None, repr=False)
    _catalogue: CatalogueIndex | None = field(default=None, repr=False)
    _catalogue_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    _loaders: dict[tuple[object, Action], object] = field(default_factory=dict, repr=False)

    def forget(self, *, catalogue: bool = True) -> None:
        """Drop what the loaders hold: the next operation of a batch reads afresh. An
        export's pages keep the catalogue its arguments were checked against."""
        self._tree = None
        if catalogue:
            self._catalogue = None
        self._loaders.clear()

    def scope(self, action: Action) -> Scope:
        """The caller's scope for the action (UNAUTHENTICATED without a caller)."""
        return scope_for(self.principal, action)

    def require(self, action: Action, unit: Jurisdiction) -> None:
        """FORBIDDEN unless the unit lies in the caller's scope for the action."""
        if not self.scope(action).contains(unit.path):
            raise Forbidden(f"{unit.code}: its {action.obj} are outside your access")

    def loader(self, kind: Callable[[RequestSession, Scope], L], action: Action) -> L:
        """This request's loader of that kind, over the caller's scope for the action."""
        key = (kind, action)
        if key not in self._loaders:
            self._loaders[key] = kind(self.session, self.scope(action))
        return cast(L, self._loaders[key])

    async def catalogue(self) -> CatalogueIndex:
        """The catalogue's elements, options and combos, read once per request."""
        # Sibling fields start together: the first reads, the others wait for its result.
        # A lock, not a shared task: a cancelled field leaves nothing running behind it.
        async with self._catalogue_lock:
            if self._catalogue is None:
                self._catalogue = await catalogue_index(self.session)
        return self._catalogue

    @property
    def tree(self) -> JurisdictionLoaders:
        """Loaders over the part of the tree the caller may see."""
        if self._tree is None:
            self._tree = JurisdictionLoaders.for_scope(self.session, self.scope(Action.READ_TREE))
        return self._tree
