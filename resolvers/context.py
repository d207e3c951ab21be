"""What every resolver of one request shares: its session, its caller and its DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from authz.principal import Principal
from authz.roles import Action
from authz.scope import scope_for
from quhua.db.session import RequestSession
from resolvers.jurisdictions.loaders import JurisdictionLoaders
from tenancy.scope import Scope


@dataclass(slots=True)
class Context:
    """Built fresh for each request: loaders cache per request, never across callers."""

    session: RequestSession
    principal: Principal | None
    _tree: JurisdictionLoaders | None = field(default=None, repr=False)

    def scope(self, action: Action) -> Scope:
        """The caller's scope for the action (UNAUTHENTICATED without a caller)."""
        return scope_for(self.principal, action)

    @property
    def tree(self) -> JurisdictionLoaders:
        """Loaders over the part of the tree the caller may see."""
        if self._tree is None:
            self._tree = JurisdictionLoaders.for_scope(self.session, self.scope(Action.READ_TREE))
        return self._tree
