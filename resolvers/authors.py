"""The caller as every audit names them: subject, token and who issued it."""

from __future__ import annotations

from authz.scope import UNAUTHENTICATED_MESSAGE
from core.errors import Unauthenticated
from indicators.audit import Author
from resolvers.context import Context


def author_of(context: Context) -> Author:
    principal = context.principal
    if principal is None:
        raise Unauthenticated(UNAUTHENTICATED_MESSAGE)
    return Author(
        principal.subject_id,
        principal.name,
        token_id=principal.token_id,
        issuer=principal.issued_by,
    )
