"""What every resolver of one request shares: its session and its DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass

from quhua.db.session import RequestSession
from resolvers.jurisdictions.loaders import JurisdictionLoaders


@dataclass(frozen=True, slots=True)
class Context:
    session: RequestSession
    jurisdictions: JurisdictionLoaders

    @classmethod
    def for_request(cls, session: RequestSession) -> Context:
        """A fresh context: loaders cache per request, never across users."""
        return cls(session=session, jurisdictions=JurisdictionLoaders.for_session(session))
